"""Where keys live: trusted public keys in the user's settings, a secret key optionally in the
QGIS authentication database (encrypted there by the user's master password)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .. import settings
from ..errors import RecipeError
from ..i18n import tr
from . import sign

TRUSTED_KEY = settings.RECIPE_TRUSTED_KEYS
AUTH_METHOD = "Basic"
SIGNING_KEY = "recipe/signing_key"  # {"authcfg": id} or {"file": path}: the key "Package recipe…" signs with
ORGANISATION = "recipe/organisation"
PASSPHRASE_ENV = "DTFL_RECIPE_PASSPHRASE"  # for scripts and qgis_process: never a parameter, never logged
_ORG = re.compile(r"organisation: (?P<org>.*?); minisign public key")
_UNLOCKED: dict[str, sign.SecretKey] = {}  # key file -> key unlocked this session (memory only)


def public_key_text(key: sign.PublicKey, organisation: str) -> str:
    """minisign's public key file, the organisation in its (free) comment line, as ``minisign -c`` allows."""
    text = key.to_text()
    org = " ".join(organisation.split()).replace(";", ",")
    if not org:
        return text
    return text.replace("untrusted comment: ", f"untrusted comment: organisation: {org}; ", 1)


def organisation_in(text: str) -> str:
    match = _ORG.search(text.splitlines()[0] if text else "")
    return match.group("org").strip() if match else ""


def trusted_keys() -> list[tuple[str, sign.PublicKey]]:
    keys = []
    for item in settings.get_json(TRUSTED_KEY, []):
        try:
            keys.append((str(item.get("name", "")), sign.public_key_from_text(str(item.get("key", "")))))
        except (RecipeError, AttributeError):
            continue  # a damaged entry must not hide the others; it is simply not trusted
    return keys


def add_trusted_key(name: str, public_text: str) -> sign.PublicKey:
    key = sign.public_key_from_text(public_text)
    items = [i for i in settings.get_json(TRUSTED_KEY, []) if i.get("key") != key.base64()]
    items.append({"name": name or organisation_in(public_text) or key.key_id_hex, "key": key.base64()})
    settings.set_json(TRUSTED_KEY, items)
    return key


def trust_key_file(path: str, expected_key_id: str = "") -> str:
    """Trust the public key in ``path`` (a ``.pub`` file received from the sender). With ``expected_key_id`` (the
    id a recipe was signed with) a different key is refused. Returns the name it is trusted under."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise RecipeError(tr("The public key file cannot be read: {error}").format(error=err)) from err
    key = sign.public_key_from_text(text)
    if expected_key_id and key.key_id_hex != expected_key_id:
        raise RecipeError(
            tr("This is key {got}, but the recipe was signed with key {want}: it was not added.").format(
                got=key.key_id_hex, want=expected_key_id
            )
        )
    name = organisation_in(text) or Path(path).stem
    add_trusted_key(name, text)
    return name


def remove_trusted_key(key_id_hex: str) -> None:
    items = []
    for item in settings.get_json(TRUSTED_KEY, []):
        try:
            if sign.public_key_from_text(item.get("key", "")).key_id_hex == key_id_hex:
                continue
        except RecipeError:
            pass  # damaged entries are dropped together with the removed key
        else:
            items.append(item)
    settings.set_json(TRUSTED_KEY, items)


def parse_key_list(text: str) -> list[tuple[str, sign.PublicKey]]:
    """Public keys given inline (one base64 key or key file path per line), e.g. the TRUSTED_KEYS parameter."""

    keys = []
    for line in (text or "").replace(";", "\n").splitlines():
        line = line.strip()
        if not line:
            continue
        if Path(line).is_file():
            text = Path(line).read_text(encoding="utf-8")
            keys.append((organisation_in(text) or Path(line).name, sign.public_key_from_text(text)))
        else:
            keys.append((line[:12], sign.public_key_from_text(line)))
    return keys


def store_secret_key_in_auth(key: sign.SecretKey, name: str) -> str:
    """Keep a secret key in the QGIS auth database; returns the authcfg id. Needs the master password."""
    from qgis.core import QgsApplication, QgsAuthMethodConfig

    manager = QgsApplication.authManager()
    if manager.isDisabled() or not manager.setMasterPassword(True):
        raise RecipeError(tr("The QGIS authentication database is not available: set a master password first."))
    config = QgsAuthMethodConfig(AUTH_METHOD)
    config.setName(name or f"DTFL recipe key {key.public.key_id_hex}")
    config.setConfig("username", key.public.key_id_hex)
    config.setConfig("password", sign.secret_key_to_text(key, None))
    config.setUri("dtfl-recipe-key")
    ok = manager.storeAuthenticationConfig(config)
    if isinstance(ok, tuple):  # QGIS 3.40 returns (ok, config)
        ok, config = ok[0], ok[1] if len(ok) > 1 else config
    if not ok or not config.id():
        raise RecipeError(tr("The key could not be stored in the QGIS authentication database."))
    return config.id()


def secret_key_from_auth(authcfg: str) -> sign.SecretKey:
    from qgis.core import QgsApplication, QgsAuthMethodConfig

    manager = QgsApplication.authManager()
    config = QgsAuthMethodConfig()
    result = manager.loadAuthenticationConfig(authcfg, config, True)
    if isinstance(result, tuple):
        ok, config = result[0], result[1]
    else:
        ok = result
    text = config.config("password", "") if ok else ""
    if not text:
        raise RecipeError(tr("No recipe key is stored under authentication configuration '{id}'.").format(id=authcfg))
    return sign.secret_key_from_text(text, None)


def unlock(path: str, passphrase: str) -> sign.SecretKey:
    """Decrypt a key file once; the key stays unlocked in memory for this QGIS session (never on disk)."""
    key = sign.secret_key_from_text(Path(path).read_text(encoding="utf-8"), passphrase)
    _UNLOCKED[str(Path(path).resolve())] = key
    return key


def is_unlocked(path: str) -> bool:
    return bool(path) and str(Path(path).resolve()) in _UNLOCKED


def load_secret_key(spec: str, passphrase: str | None = None) -> sign.SecretKey:
    """A secret key from ``authcfg:<id>`` (the QGIS auth database), or a key file: unlocked this session,
    or with the passphrase given (scripts: the environment variable DTFL_RECIPE_PASSPHRASE)."""
    if spec.startswith("authcfg:"):
        return secret_key_from_auth(spec.split(":", 1)[1])
    path = Path(spec)
    if not path.is_file():
        raise RecipeError(tr("The signing key file '{path}' does not exist.").format(path=spec))
    unlocked = _UNLOCKED.get(str(path.resolve()))
    if unlocked is not None and not passphrase:
        return unlocked
    passphrase = passphrase or os.environ.get(PASSPHRASE_ENV) or None
    if passphrase is None and "encrypted" in path.read_text(encoding="utf-8").splitlines()[0]:
        raise RecipeError(
            tr(
                "The signing key '{path}' is protected by a passphrase: package from the DTFL menu (it asks for it), or keep the key in the QGIS authentication database."
            ).format(path=spec)  # fmt: skip
        )
    return sign.secret_key_from_text(path.read_text(encoding="utf-8"), passphrase)


@dataclass
class CreatedKey:
    key_id: str
    public_path: str
    authcfg: str = ""
    secret_path: str = ""


def create_key(
    organisation: str,
    public_path: str,
    *,
    in_auth: bool = True,
    secret_path: str = "",
    passphrase: str = "",
    trust: bool = True,
) -> CreatedKey:
    """A new signing key: secret part in the QGIS auth database (default) or a passphrase-encrypted file, public
    part (with the organisation) written for recipients, trusted here, and remembered as the key to sign with."""
    if not organisation.strip():
        raise RecipeError(tr("Give the name of your organisation: recipients see it as the signer."))
    if not in_auth and not (secret_path and passphrase):
        raise RecipeError(tr("Give a passphrase and a file for the secret key, or keep it in the QGIS authentication database."))  # fmt: skip
    for existing in [public_path] + ([] if in_auth else [secret_path]):
        if Path(existing).exists():  # a key that exists is never overwritten: signed recipes depend on it
            raise RecipeError(tr("'{path}' exists already; choose another file name for the new key.").format(path=existing))  # fmt: skip
    key = sign.generate_keypair()
    created = CreatedKey(key.public.key_id_hex, public_path)
    if in_auth:
        created.authcfg = store_secret_key_in_auth(key, tr("DTFL signing key of {org}").format(org=organisation))
        settings.set_json(SIGNING_KEY, {"authcfg": created.authcfg})
    else:
        sign.write_text_private(secret_path, sign.secret_key_to_text(key, passphrase))
        created.secret_path = secret_path
        _UNLOCKED[str(Path(secret_path).resolve())] = key
        settings.set_json(SIGNING_KEY, {"file": secret_path})
    text = public_key_text(key.public, organisation)
    Path(public_path).parent.mkdir(parents=True, exist_ok=True)
    sign.write_text_atomic(public_path, text)
    settings.set_json(ORGANISATION, organisation.strip())
    if trust:
        add_trusted_key(organisation.strip(), text)
    return created


def signing_key() -> dict:
    """The key "Package recipe…" signs with: {"authcfg": id} or {"file": path}, or {} when none was made."""
    value = settings.get_json(SIGNING_KEY, {})
    return value if isinstance(value, dict) else {}
