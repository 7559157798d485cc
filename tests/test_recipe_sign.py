"""minisign compatibility in both directions with Debian's minisign tool, key storage, the keygen algorithm."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.fixtures.recipe import keygen

MINISIGN = shutil.which("minisign")
needs_minisign = pytest.mark.skipif(
    MINISIGN is None, reason="Debian's minisign tool is not installed (requirements/apt.txt)"
)
CHEAP = {"opslimit": 1 << 20, "memlimit": 1 << 24}  # fast scrypt for tests; minisign reads the limits from the file


@needs_minisign
def test_minisign_verifies_ours_and_signs_with_our_encrypted_key(tmp_path):
    from dtfl_plugin.recipe import sign

    key = sign.generate_keypair()
    (tmp_path / "our.key").write_text(sign.secret_key_to_text(key, "correct horse", **CHEAP))
    (tmp_path / "our.pub").write_text(key.public.to_text())
    message = tmp_path / "manifest-sha256.txt"
    message.write_bytes(b"0" * 64 + b"  data/x.gpkg\n")
    (tmp_path / "manifest-sha256.txt.minisig").write_text(sign.sign_file(message, key, "recipe=urn:uuid:1 time=t"))
    ok = subprocess.run(
        [MINISIGN, "-V", "-p", str(tmp_path / "our.pub"), "-m", str(message)], capture_output=True, text=True
    )
    assert ok.returncode == 0 and "Trusted comment: recipe=urn:uuid:1 time=t" in ok.stdout, ok.stdout + ok.stderr
    # a flipped byte in the message: minisign refuses too
    message.write_bytes(b"1" * 64 + b"  data/x.gpkg\n")
    assert (
        subprocess.run(
            [MINISIGN, "-V", "-p", str(tmp_path / "our.pub"), "-m", str(message)], capture_output=True
        ).returncode
        != 0
    )
    # minisign decrypts OUR passphrase-protected key file (same scrypt derivation + checksum) and signs
    signed = subprocess.run(
        [MINISIGN, "-S", "-s", str(tmp_path / "our.key"), "-m", str(message), "-t", "by minisign"],
        input="correct horse\n",
        capture_output=True,
        text=True,
    )
    assert signed.returncode == 0, signed.stderr
    info = sign.verify_file(message, (tmp_path / "manifest-sha256.txt.minisig").read_text(), key.public)
    assert info.trusted_comment == "by minisign" and info.prehashed


@needs_minisign
def test_we_verify_minisign_and_read_its_keys(tmp_path):
    from dtfl_plugin.errors import RecipeError
    from dtfl_plugin.recipe import sign

    # an unencrypted minisign key (-W) for signing: no key derivation, fast
    gen = subprocess.run(
        [MINISIGN, "-G", "-W", "-p", str(tmp_path / "m.pub"), "-s", str(tmp_path / "m.key")],
        capture_output=True,
        text=True,
    )
    assert gen.returncode == 0, gen.stderr
    public = sign.public_key_from_text((tmp_path / "m.pub").read_text())
    assert sign.secret_key_from_text((tmp_path / "m.key").read_text(), None).public.key == public.key
    message = tmp_path / "file.txt"
    message.write_bytes(b"recipe manifest\n")
    for legacy in (False, True):  # pre-hashed "ED" (default) and legacy "Ed" signatures
        args = [MINISIGN, "-S", "-s", str(tmp_path / "m.key"), "-m", str(message), "-t", f"legacy={legacy}"] + (
            ["-l"] if legacy else []
        )
        assert subprocess.run(args, capture_output=True, text=True).returncode == 0
        info = sign.verify_file(message, (tmp_path / "file.txt.minisig").read_text(), public)
        assert info.trusted_comment == f"legacy={legacy}" and info.prehashed is not legacy
    # a forged trusted comment is caught by the global signature; another key is named as such
    text = (tmp_path / "file.txt.minisig").read_text().replace("legacy=True", "legacy=Fake")
    with pytest.raises(RecipeError, match="trusted comment"):
        sign.verify_file(message, text, public)
    with pytest.raises(RecipeError, match="another key"):
        sign.verify_file(message, (tmp_path / "file.txt.minisig").read_text(), sign.generate_keypair().public)


@needs_minisign
@pytest.mark.slow
def test_we_decrypt_minisign_encrypted_keys(tmp_path):
    """minisign's own passphrase-protected key (its default scrypt limits: 1 GiB, a few seconds) opens with our code."""
    from dtfl_plugin.errors import RecipeError
    from dtfl_plugin.recipe import sign

    gen = subprocess.run(
        [MINISIGN, "-G", "-p", str(tmp_path / "m.pub"), "-s", str(tmp_path / "m.key")],
        input="pw\npw\n",
        capture_output=True,
        text=True,
    )
    assert gen.returncode == 0, gen.stderr
    public = sign.public_key_from_text((tmp_path / "m.pub").read_text())
    secret = sign.secret_key_from_text((tmp_path / "m.key").read_text(), "pw")
    assert secret.public.key == public.key and secret.key_id == public.key_id
    with pytest.raises(RecipeError, match="Wrong passphrase"):
        sign.secret_key_from_text(sign.secret_key_to_text(secret, "pw", **CHEAP), "not pw")


def test_keygen_algorithm_and_trusted_keys(tmp_path, processing_ready, qgis_app):
    from dtfl_plugin.recipe import keys, sign

    result = keygen(tmp_path, "s3cret", trust=True)
    public = sign.public_key_from_text((tmp_path / "k.pub").read_text())
    assert result["KEY_ID"] == public.key_id_hex
    assert (tmp_path / "k.key").stat().st_mode & 0o077 == 0, "secret key readable by others"
    secret = keys.load_secret_key(str(tmp_path / "k.key"), "s3cret")
    assert secret.public.key == public.key
    assert public.key_id_hex in [k.key_id_hex for _, k in keys.trusted_keys()]
    keys.remove_trusted_key(public.key_id_hex)
    assert public.key_id_hex not in [k.key_id_hex for _, k in keys.trusted_keys()]
    # the passphrase never enters the run log
    from dtfl_plugin.provenance.store import read_log

    assert "s3cret" not in repr([r.to_dict() for r in read_log()])


def test_secret_key_in_qgis_auth_database(qgis_app):
    from qgis.core import QgsApplication

    from dtfl_plugin.recipe import keys, sign

    manager = QgsApplication.authManager()
    if manager.isDisabled():
        pytest.skip(f"the QGIS authentication database is disabled here: {manager.disabledMessage()}")
    if not manager.masterPasswordIsSet():
        assert manager.setMasterPassword("dtfl-test-master", True)
    key = sign.generate_keypair()
    authcfg = keys.store_secret_key_in_auth(key, "test recipe key")
    loaded = keys.load_secret_key(f"authcfg:{authcfg}", None)
    assert loaded.seed_and_pk == key.seed_and_pk
    manager.removeAuthenticationConfig(authcfg)
