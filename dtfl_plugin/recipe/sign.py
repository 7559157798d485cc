"""Ed25519 signatures in minisign's format: signing with ``cryptography``, verifying everywhere.

Verification runs without ``cryptography`` (ed25519.py, pure Python, RFC 8032); signing needs it and says
how to install it on each platform.

Debian's ``minisign`` tool verifies what we sign and we verify what it signs (tests prove both
directions). Formats (minisign.c, 0.9+):

- public key: ``"Ed" + key_id(8) + pk(32)``, base64, under an untrusted comment line;
- secret key: ``"Ed" + kdf "Sc"|"\\0\\0" + "B2" + salt(32) + opslimit(le64) + memlimit(le64)
  + (key_id(8) + sk(64) + blake2b-256("Ed"+key_id+sk)(32)) xor scrypt(passphrase)``;
- signature: ``"ED" + key_id + ed25519(blake2b-512(file))`` (pre-hashed; "Ed" = legacy, whole
  file signed), then a trusted comment and a global signature over ``sig + trusted_comment``.

The scrypt parameters are derived from opslimit/memlimit exactly as libsodium's
``crypto_pwhash_scryptsalsa208sha256`` does (``pickparams``), so both tools derive the same key.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import struct
from dataclasses import dataclass
from pathlib import Path

from ..errors import RecipeError
from ..i18n import tr
from . import ed25519


class CannotCheckError(RecipeError):
    """The signature could not be checked here. Not a verdict on the recipe: never reported as invalid."""


def _crypto():
    """The ``cryptography`` package, imported when a secret key is used. No QGIS installer ships it
    (docs/platforms.md); without it everything but signing keeps working, and signing says how to get it."""
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
    except ImportError as err:
        raise RecipeError(
            tr(
                "Signing recipes needs the Python package 'cryptography', which this QGIS does not include. "
                "Windows: in the OSGeo4W Shell run: python -m pip install cryptography. "
                "macOS: in a terminal run: /Applications/QGIS.app/Contents/MacOS/bin/python3 -m pip install --user cryptography. "
                "Debian/Ubuntu: sudo apt install python3-cryptography. Then restart QGIS. "
                "Checking signatures and opening recipes work without it."
            )
        ) from err
    return InvalidSignature, serialization, Ed25519PrivateKey, Ed25519PublicKey


SIG_ALG = b"Ed"
SIG_ALG_PREHASHED = b"ED"
KDF_SCRYPT = b"Sc"
KDF_NONE = b"\x00\x00"
CHK_ALG = b"B2"
# minisign's own defaults are libsodium's "sensitive" limits (1 GiB of memory per derivation).
# We default to a quarter of that: N=2^18, r=8 (256 MiB, about 1 s); minisign reads the limits
# from the key file, so keys with any limits interoperate.
DEFAULT_OPSLIMIT = 8_388_608
DEFAULT_MEMLIMIT = 268_435_456
_KEYNUM_SK_LEN = 8 + 64 + 32


@dataclass
class PublicKey:
    key_id: bytes  # 8 bytes, as stored (little-endian)
    key: bytes  # 32 bytes

    @property
    def key_id_hex(self) -> str:
        """The id as minisign prints it (uppercase hex of the little-endian 64-bit number)."""
        return self.key_id[::-1].hex().upper()

    def to_text(self) -> str:
        blob = base64.b64encode(SIG_ALG + self.key_id + self.key).decode()
        return f"untrusted comment: minisign public key {self.key_id_hex}\n{blob}\n"

    def base64(self) -> str:
        return base64.b64encode(SIG_ALG + self.key_id + self.key).decode()


@dataclass
class SecretKey:
    key_id: bytes
    seed_and_pk: bytes  # libsodium's 64-byte secret key: seed(32) + public key(32)

    @property
    def public(self) -> PublicKey:
        return PublicKey(self.key_id, self.seed_and_pk[32:])

    def _private(self):
        return _crypto()[2].from_private_bytes(self.seed_and_pk[:32])


def _pickparams(opslimit: int, memlimit: int) -> tuple[int, int, int]:
    """libsodium's scryptsalsa208sha256 pickparams: (N, r, p) from ops/mem limits."""
    opslimit = max(opslimit, 32768)
    r = 8
    if opslimit < memlimit // 32:
        p = 1
        max_n = opslimit // (r * 4)
        n_log2 = 1
        while n_log2 < 63 and (1 << n_log2) <= max_n // 2:
            n_log2 += 1
    else:
        max_n = memlimit // (r * 128)
        n_log2 = 1
        while n_log2 < 63 and (1 << n_log2) <= max_n // 2:
            n_log2 += 1
        max_rp = min((opslimit // 4) // (1 << n_log2), 0x3FFFFFFF)
        p = max_rp // r
    return 1 << n_log2, r, max(p, 1)


def _kdf_stream(passphrase: str, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    n, r, p = _pickparams(opslimit, memlimit)
    return hashlib.scrypt(
        passphrase.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=129 * r * n * p + (1 << 20), dklen=_KEYNUM_SK_LEN
    )


def _derived_public(seed: bytes) -> bytes:
    _, serialization, private_key, _ = _crypto()
    public = private_key.from_private_bytes(seed).public_key()
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _checksum(key_id: bytes, sk: bytes) -> bytes:
    return hashlib.blake2b(SIG_ALG + key_id + sk, digest_size=32).digest()


def _b64(line: str, what: str) -> bytes:
    try:
        return base64.b64decode(line.strip(), validate=True)
    except ValueError as err:
        raise RecipeError(tr("The {what} is not valid minisign data.").format(what=what), detail=str(err)) from err


def _payload_line(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) < 2 or not lines[0].startswith("untrusted comment:"):
        raise RecipeError(tr("This is not a minisign key file."))
    return lines[1]


def generate_keypair() -> SecretKey:
    _, serialization, private_key, _ = _crypto()
    private = private_key.generate()
    seed = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    pk = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return SecretKey(secrets.token_bytes(8), seed + pk)


def secret_key_to_text(
    key: SecretKey,
    passphrase: str | None,
    *,
    opslimit: int = DEFAULT_OPSLIMIT,
    memlimit: int = DEFAULT_MEMLIMIT,
) -> str:
    """The secret key file; encrypted exactly as minisign does when a passphrase is given."""
    plain = key.key_id + key.seed_and_pk + _checksum(key.key_id, key.seed_and_pk)
    salt = secrets.token_bytes(32)
    if passphrase:
        stream = _kdf_stream(passphrase, salt, opslimit, memlimit)
        body = bytes(a ^ b for a, b in zip(plain, stream))
        kdf, comment = KDF_SCRYPT, "minisign encrypted secret key"
    else:
        body, kdf, comment = plain, KDF_NONE, "minisign secret key (unencrypted)"
        opslimit = memlimit = 0
    blob = SIG_ALG + kdf + CHK_ALG + salt + struct.pack("<QQ", opslimit, memlimit) + body
    return f"untrusted comment: {comment}\n{base64.b64encode(blob).decode()}\n"


def secret_key_from_text(text: str, passphrase: str | None) -> SecretKey:
    raw = _b64(_payload_line(text), tr("secret key"))
    if len(raw) != 2 + 2 + 2 + 32 + 16 + _KEYNUM_SK_LEN or raw[:2] != SIG_ALG or raw[4:6] != CHK_ALG:
        raise RecipeError(tr("The secret key file is not an Ed25519 minisign key."))
    kdf, salt = raw[2:4], raw[6:38]
    opslimit, memlimit = struct.unpack("<QQ", raw[38:54])
    body = raw[54:]
    if kdf == KDF_SCRYPT:
        if not passphrase:
            raise RecipeError(tr("This secret key is protected: enter its passphrase."))
        stream = _kdf_stream(passphrase, salt, opslimit, memlimit)
        body = bytes(a ^ b for a, b in zip(body, stream))
    elif kdf != KDF_NONE:
        raise RecipeError(tr("The secret key uses an unknown key derivation."))
    key_id, sk, chk = body[:8], body[8:72], body[72:]
    if kdf == KDF_NONE and chk == bytes(32):
        # minisign -W writes unencrypted keys without a checksum: check the key pair itself instead
        if _derived_public(sk[:32]) != sk[32:]:
            raise RecipeError(tr("The secret key file is damaged."))
        return SecretKey(key_id, sk)
    if _checksum(key_id, sk) != chk:
        raise RecipeError(tr("Wrong passphrase for this secret key (or the key file is damaged)."))
    return SecretKey(key_id, sk)


def public_key_from_text(text: str) -> PublicKey:
    """A public key file's text, or just its base64 line (as minisign -P takes it)."""
    line = _payload_line(text) if "untrusted comment:" in text else text.strip()
    raw = _b64(line, tr("public key"))
    if len(raw) != 42 or raw[:2] != SIG_ALG:
        raise RecipeError(tr("The public key is not an Ed25519 minisign key."))
    return PublicKey(raw[2:10], raw[10:])


def sign_file(path: str | Path, key: SecretKey, trusted_comment: str, untrusted_comment: str = "") -> str:
    """The .minisig text for a file (pre-hashed BLAKE2b-512, as minisign 0.9+ writes by default)."""
    if "\n" in trusted_comment or "\r" in trusted_comment:
        raise RecipeError(tr("A trusted comment must be a single line."))
    digest = _blake2b_file(path)
    private = key._private()
    signature = private.sign(digest)
    global_sig = private.sign(signature + trusted_comment.encode("utf-8"))
    untrusted = untrusted_comment or f"signature from minisign secret key {key.public.key_id_hex}"
    return (
        f"untrusted comment: {untrusted}\n"
        f"{base64.b64encode(SIG_ALG_PREHASHED + key.key_id + signature).decode()}\n"
        f"trusted comment: {trusted_comment}\n"
        f"{base64.b64encode(global_sig).decode()}\n"
    )


@dataclass
class SignatureInfo:
    key_id_hex: str
    trusted_comment: str
    prehashed: bool


def read_signature(text: str) -> tuple[bytes, bytes, bytes, str, bytes]:
    """(algorithm, key_id, signature, trusted_comment, global_signature) of a .minisig."""
    lines = text.splitlines()
    if len(lines) < 4 or not lines[0].startswith("untrusted comment:") or not lines[2].startswith("trusted comment: "):
        raise RecipeError(tr("The signature file is not in minisign format."))
    raw = _b64(lines[1], tr("signature"))
    global_sig = _b64(lines[3], tr("signature"))
    if len(raw) >= 10 and raw[:2] not in (SIG_ALG, SIG_ALG_PREHASHED) and raw[:2].isalnum():
        raise CannotCheckError(
            tr("The recipe is signed with a signature scheme ({alg}) this version of DTFL does not know.").format(
                alg=raw[:2].decode("ascii")
            )
        )
    if len(raw) != 74 or raw[:2] not in (SIG_ALG, SIG_ALG_PREHASHED) or len(global_sig) != 64:
        raise RecipeError(tr("The signature file is not in minisign format."))
    return raw[:2], raw[2:10], raw[10:], lines[2][len("trusted comment: ") :], global_sig


def verify_bytes_signature(message_digest_or_data: bytes, signature_text: str, public: PublicKey) -> SignatureInfo:
    """Check a signature over data (given whole for legacy 'Ed', or as BLAKE2b-512 for 'ED').

    Raises RecipeError naming the problem: other key, bad signature, bad trusted comment.
    """
    alg, key_id, signature, trusted, global_sig = read_signature(signature_text)
    if key_id != public.key_id:
        raise RecipeError(tr("The signature was made with another key."))
    if not ed25519.verify(public.key, message_digest_or_data, signature):
        raise RecipeError(tr("The signature does not match the signed file."))
    if not ed25519.verify(public.key, signature + trusted.encode("utf-8"), global_sig):
        raise RecipeError(tr("The trusted comment of the signature was changed."))
    return SignatureInfo(public.key_id_hex, trusted, alg == SIG_ALG_PREHASHED)


def signature_key_id(signature_text: str) -> bytes:
    return read_signature(signature_text)[1]


def verify_file(path: str | Path, signature_text: str, public: PublicKey) -> SignatureInfo:
    alg = read_signature(signature_text)[0]
    if alg == SIG_ALG_PREHASHED:
        data = _blake2b_file(path)
    else:
        data = Path(path).read_bytes()  # legacy signatures cover the whole file; manifests are small
    return verify_bytes_signature(data, signature_text, public)


def verify_data(data: bytes, signature_text: str, public: PublicKey) -> SignatureInfo:
    alg = read_signature(signature_text)[0]
    payload = hashlib.blake2b(data, digest_size=64).digest() if alg == SIG_ALG_PREHASHED else data
    return verify_bytes_signature(payload, signature_text, public)


def _blake2b_file(path: str | Path) -> bytes:
    digest = hashlib.blake2b(digest_size=64)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.digest()


def write_text_private(path: str | Path, text: str) -> None:
    """Write a secret key readable by its owner only, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def write_text_atomic(path: str | Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
