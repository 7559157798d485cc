"""Where keys live: trusted public keys in the user's settings, a secret key optionally in the
QGIS authentication database (encrypted there by the user's master password)."""

from __future__ import annotations

from .. import settings
from ..errors import RecipeError
from ..i18n import tr
from . import sign

TRUSTED_KEY = settings.RECIPE_TRUSTED_KEYS
AUTH_METHOD = "Basic"


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
    items.append({"name": name or key.key_id_hex, "key": key.base64()})
    settings.set_json(TRUSTED_KEY, items)
    return key


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
    from pathlib import Path

    keys = []
    for line in (text or "").replace(";", "\n").splitlines():
        line = line.strip()
        if not line:
            continue
        if Path(line).is_file():
            keys.append((Path(line).name, sign.public_key_from_text(Path(line).read_text(encoding="utf-8"))))
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


def load_secret_key(spec: str, passphrase: str | None) -> sign.SecretKey:
    """A secret key from a key file path, or ``authcfg:<id>`` for a key kept in the QGIS auth database."""
    from pathlib import Path

    if spec.startswith("authcfg:"):
        return secret_key_from_auth(spec.split(":", 1)[1])
    path = Path(spec)
    if not path.is_file():
        raise RecipeError(tr("The signing key file '{path}' does not exist.").format(path=spec))
    return sign.secret_key_from_text(path.read_text(encoding="utf-8"), passphrase)
