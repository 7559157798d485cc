"""Ed25519 signature verification (RFC 8032, section 5.1.7), in pure Python, for every QGIS install.

No QGIS installer ships ``cryptography`` (OSGeo4W ``qgis`` / ``qgis-full-free``, the macOS build,
Debian's ``python3-qgis``), yet a receiver must be able to check a recipe's signature. Verification only
handles public data (key, message, signature), so a plain big-integer implementation is safe here;
signing handles the secret key and stays with ``cryptography`` (sign.py).

"Constant behaviour": the verdict is the same whichever backend runs. Both paths first apply the same
strict checks (the encodings of A and R decode canonically, S < L, neither A nor R of small order, as
libsodium's ``crypto_sign_verify_detached`` does, which minisign uses), then check the cofactorless
equation [S]B = R + [k]A by comparing encodings. ``cryptography`` (OpenSSL) is used when importable,
for speed only.
"""

from __future__ import annotations

import hashlib

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = (-121665 * pow(121666, P - 2, P)) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)

Point = tuple[int, int, int, int]  # extended coordinates (X, Y, Z, T), x = X/Z, y = Y/Z, xy = T/Z
IDENTITY: Point = (0, 1, 1, 0)


def _recover_x(y: int, sign: int) -> int | None:
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    if x2 == 0:
        return None if sign else 0  # x = 0 with the sign bit set is not a canonical encoding
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P:
        return None
    if (x & 1) != sign:
        x = P - x
    return x


def _base() -> Point:
    y = 4 * pow(5, P - 2, P) % P
    x = _recover_x(y, 0)
    assert x is not None
    return (x, y, 1, x * y % P)


def _add(a: Point, b: Point) -> Point:
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    aa = (y1 - x1) * (y2 - x2) % P
    bb = (y1 + x1) * (y2 + x2) % P
    cc = 2 * t1 * t2 * D % P
    dd = 2 * z1 * z2 % P
    e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _mul(scalar: int, point: Point) -> Point:
    result = IDENTITY
    while scalar > 0:
        if scalar & 1:
            result = _add(result, point)
        point = _add(point, point)
        scalar >>= 1
    return result


def _encode(point: Point) -> bytes:
    x, y, z, _ = point
    zi = pow(z, P - 2, P)
    x, y = x * zi % P, y * zi % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def _decode(data: bytes) -> Point | None:
    if len(data) != 32:
        return None
    y = int.from_bytes(data, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    x = _recover_x(y, sign)
    if x is None:
        return None
    return (x, y, 1, x * y % P)


def _small_order(point: Point) -> bool:
    return _encode(_mul(8, point)) == _encode(IDENTITY)


BASE = _base()


def well_formed(public_key: bytes, signature: bytes) -> bool:
    """The strict checks both backends share: canonical A and R, S < L, no small-order A or R."""
    if len(public_key) != 32 or len(signature) != 64:
        return False
    if int.from_bytes(signature[32:], "little") >= L:
        return False
    for encoded in (public_key, signature[:32]):
        point = _decode(encoded)
        if point is None or _encode(point) != encoded or _small_order(point):
            return False
    return True


def verify_pure(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """RFC 8032 verification, cofactorless, after the shared strict checks."""
    if not well_formed(public_key, signature):
        return False
    a = _decode(public_key)
    assert a is not None
    s = int.from_bytes(signature[32:], "little")
    k = int.from_bytes(hashlib.sha512(signature[:32] + public_key + message).digest(), "little") % L
    x, y, z, t = a
    minus_a = ((-x) % P, y, z, (-t) % P)
    check = _add(_mul(s, BASE), _mul(k, minus_a))  # [S]B - [k]A must encode exactly as R
    return _encode(check) == signature[:32]


def _verify_cryptography(public_key: bytes, message: bytes, signature: bytes) -> bool | None:
    """True/False from ``cryptography``, or None when it is not importable (or refuses the key)."""
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:
        return None
    try:
        key = Ed25519PublicKey.from_public_bytes(public_key)
    except ValueError:
        return None
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def backend() -> str:
    """Which implementation verifies here: "cryptography" or "pure-python"."""
    try:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey  # noqa: F401
    except ImportError:
        return "pure-python"
    return "cryptography"


def verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """True when ``signature`` is a valid Ed25519 signature of ``message`` by ``public_key``."""
    if not well_formed(public_key, signature):
        return False
    fast = _verify_cryptography(public_key, message, signature)
    return verify_pure(public_key, message, signature) if fast is None else fast
