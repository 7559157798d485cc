"""Signatures are checked on every QGIS, with or without ``cryptography``.

- the pure-Python Ed25519 verifier against RFC 8032's test vectors (section 7.1), and against
  ``cryptography`` on random and malformed signatures (same verdict either way);
- Debian's ``minisign`` in both directions with the pure verifier;
- the whole verify and open path with ``cryptography`` made unimportable: a trusted recipe verifies and
  opens, a changed one is invalid, signing says how to install the package on each platform;
- "cannot check" is its own verdict, never "invalid".
"""

from __future__ import annotations

import builtins
import hashlib
import os
import shutil
import subprocess
import zipfile

import pytest

from tests.fixtures.recipe_hostile import forge, hostile_project

# Takes cryptography out of sys.modules: scripts/test.sh runs this file in a process of its own.
pytestmark = pytest.mark.own_process

MINISIGN = shutil.which("minisign")

# RFC 8032, section 7.1: (secret seed, public key, message, signature), hex.
_LONG = (
    "08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98fa6e264bf09efe12ee50f8f54e9f77b1"
    "e355f6c50544e23fb1433ddf73be84d879de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d"
    "658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc1a858efcb8550ee3a5e1998bd177e93a"
    "7363c344fe6b199ee5d02e82d522c4feba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e"
    "06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbefefd75499da96bd68a8a97b928a8bbc10"
    "3b6621fcde2beca1231d206be6cd9ec7aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed1"
    "85ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2d17ba70eb6248e594e1a2297acbbb39d"
    "502f1a8c6eb6f1ce22b3de1a1f40cc24554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f270"
    "88d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc2732e69485bbc9c90bfbd62481d9089b"
    "eccf80cfe2df16a2cf65bd92dd597b0707e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128ba"
    "b27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51addd3b75a2b1ae0784504df543af8969b"
    "e3ea7082ff7fc9888c144da2af58429ec96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb7"
    "51fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c42f58c30c04aafdb038dda0847dd988d"
    "cda6f3bfd15c4b4c4525004aa06eeff8ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34df"
    "f7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08d78ff4ef5d63653a65040cf9bfd4aca7"
    "984a74d37145986780fc0b16ac451649de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e4"
    "88acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a32ef5b52a1ecc820e308aa342721aac09"
    "43bf6686b64b2579376504ccc493d97e6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5f"
    "b93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b50d334ba77c225bc307ba537152f3f161"
    "0e4eafe595f6d9d90d11faa933a15ef1369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d"
    "b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c0618983f8741c5ef68d3a101e8a3b8ca"
    "c60c905c15fc910840b94c00a0b9d0"
)
RFC8032 = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
    (
        "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
        "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
        _LONG,
        "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03",
    ),
    (
        "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
        "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704",
    ),
]


@pytest.fixture
def no_cryptography(monkeypatch):
    """``cryptography`` cannot be imported, as on OSGeo4W, macOS and Debian's plain python3-qgis."""
    _block(monkeypatch)
    from dtfl_plugin.recipe import ed25519

    assert ed25519.backend() == "pure-python"
    yield


@pytest.mark.parametrize("seed,public,message,signature", RFC8032, ids=["1", "2", "3", "1024", "SHA(abc)"])
def test_rfc8032_vectors(seed, public, message, signature):
    from dtfl_plugin.recipe import ed25519

    pk, msg, sig = bytes.fromhex(public), bytes.fromhex(message), bytes.fromhex(signature)
    assert ed25519.verify_pure(pk, msg, sig)
    assert not ed25519.verify_pure(pk, msg + b"\x00", sig)
    for i in (0, 31, 32, 63):  # a flipped bit in R or in S
        bad = bytearray(sig)
        bad[i] ^= 0x04
        assert not ed25519.verify_pure(pk, msg, bytes(bad))
    other = bytes.fromhex(RFC8032[(RFC8032.index((seed, public, message, signature)) + 1) % 5][1])
    assert not ed25519.verify_pure(other, msg, sig)


def test_pure_and_cryptography_give_the_same_verdicts():
    pytest.importorskip("cryptography")
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from dtfl_plugin.recipe import ed25519

    for seed, public, message, signature in RFC8032:  # the vectors are what the RFC says they are
        key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed))
        assert key.sign(bytes.fromhex(message)).hex() == signature
        assert key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex() == public
    rng = __import__("random").Random(8032)
    for n in range(40):
        key = Ed25519PrivateKey.from_private_bytes(rng.randbytes(32))
        pk = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        msg = rng.randbytes(n * 7)
        sig = bytearray(key.sign(msg))
        if n % 2:
            sig[rng.randrange(64)] ^= 1 << rng.randrange(8)
        fast = ed25519._verify_cryptography(pk, msg, bytes(sig))
        assert ed25519.verify_pure(pk, msg, bytes(sig)) is ed25519.verify(pk, msg, bytes(sig))
        if ed25519.well_formed(pk, bytes(sig)):
            assert ed25519.verify_pure(pk, msg, bytes(sig)) is fast


def test_malleable_and_degenerate_signatures_refused():
    from dtfl_plugin.recipe import ed25519

    _, public, message, signature = RFC8032[0]
    pk, msg, sig = bytes.fromhex(public), bytes.fromhex(message), bytes.fromhex(signature)
    s = int.from_bytes(sig[32:], "little")
    malleated = sig[:32] + (s + ed25519.L).to_bytes(32, "little")  # same point, S >= L: libsodium refuses
    assert not ed25519.verify(pk, msg, malleated) and not ed25519.verify_pure(pk, msg, malleated)
    identity = (1).to_bytes(32, "little")  # the neutral point: small order, signs "everything"
    assert not ed25519.verify(identity, msg, identity + bytes(32))
    assert not ed25519.verify_pure(identity, b"anything", identity + bytes(32))
    noncanonical = (ed25519.P + 1).to_bytes(32, "little")  # y = 1 encoded as p + 1
    assert not ed25519.well_formed(noncanonical, sig)
    assert not ed25519.verify(pk[:31], msg, sig) and not ed25519.verify(pk, msg, sig[:63])


@pytest.mark.skipif(MINISIGN is None, reason="Debian's minisign tool is not installed (requirements/apt.txt)")
def test_minisign_both_ways_with_the_pure_verifier(tmp_path, qgis_app):
    from dtfl_plugin.errors import RecipeError
    from dtfl_plugin.recipe import sign

    ours = sign.generate_keypair()  # made while cryptography is importable: signing needs it
    message = tmp_path / "manifest-sha256.txt"
    message.write_bytes(os.urandom(3000))
    (tmp_path / "ours.pub").write_text(ours.public.to_text())
    (tmp_path / "ours.minisig").write_text(sign.sign_file(message, ours, "by dtfl"))
    subprocess.run(
        [MINISIGN, "-G", "-W", "-p", str(tmp_path / "theirs.pub"), "-s", str(tmp_path / "theirs.key")],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [MINISIGN, "-S", "-s", str(tmp_path / "theirs.key"), "-m", str(message), "-t", "by minisign"],
        check=True,
        capture_output=True,
    )
    theirs = sign.public_key_from_text((tmp_path / "theirs.pub").read_text())
    their_sig = (tmp_path / "manifest-sha256.txt.minisig").read_text()

    blocked = pytest.MonkeyPatch()
    try:
        _block(blocked)
        # minisign checks what we signed, we check what minisign signed: with the pure verifier
        subprocess.run(
            [
                MINISIGN,
                "-V",
                "-p",
                str(tmp_path / "ours.pub"),
                "-m",
                str(message),
                "-x",
                str(tmp_path / "ours.minisig"),
            ],
            check=True,
            capture_output=True,
        )
        info = sign.verify_file(message, their_sig, theirs)
        assert info.trusted_comment == "by minisign" and info.prehashed
        assert (
            sign.verify_file(message, (tmp_path / "ours.minisig").read_text(), ours.public).trusted_comment == "by dtfl"
        )
        forged = their_sig.replace("by minisign", "by somebody else")
        with pytest.raises(RecipeError, match="trusted comment"):
            sign.verify_file(message, forged, theirs)
        message.write_bytes(message.read_bytes() + b"!")
        with pytest.raises(RecipeError, match="does not match"):
            sign.verify_file(message, their_sig, theirs)
    finally:
        blocked.undo()


def _block(mp: pytest.MonkeyPatch) -> None:
    import sys

    for name in list(sys.modules):
        if name == "cryptography" or name.startswith("cryptography."):
            mp.delitem(sys.modules, name)
    real_import = builtins.__import__

    def blocked(name, *args, **kwargs):
        if name == "cryptography" or name.startswith("cryptography."):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)", name=name)
        return real_import(name, *args, **kwargs)

    mp.setattr(builtins, "__import__", blocked)


@pytest.fixture
def signed_recipe(tmp_path, points_gpkg, qgis_app):
    """A recipe signed (while cryptography is there) by a key the receiver trusts."""
    from dtfl_plugin.recipe import sign

    key = sign.generate_keypair()
    files = {"project/recipe.qgs": hostile_project(tmp_path / "canaries"), "data/points.gpkg": points_gpkg}
    return forge(tmp_path / "r.dtfl.zip", files, key), key


def test_verify_and_open_without_cryptography(signed_recipe, tmp_path, no_cryptography):
    from dtfl_plugin.errors import RecipeError
    from dtfl_plugin.recipe import sign
    from dtfl_plugin.recipe.open import unpack
    from dtfl_plugin.recipe.verdict import build_verdict
    from dtfl_plugin.recipe.verify import verify_recipe

    recipe, key = signed_recipe
    trusted = [("partner", key.public)]
    report = verify_recipe(recipe, trusted)
    assert report.valid and report.signature == "valid" and report.signer == "partner", report.problems
    assert build_verdict(report, str(recipe)).state == "trusted"
    result = unpack(recipe, tmp_path / "opened", trusted=trusted)
    assert result.project.is_file() and result.report.valid

    # A changed manifest is still caught as a change, not as a missing package.
    changed = tmp_path / "changed.dtfl.zip"
    with zipfile.ZipFile(recipe) as src, zipfile.ZipFile(changed, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "manifest-sha256.txt":
                data = hashlib.sha256(b"other").hexdigest().encode() + data[64:]
            dst.writestr(info, data)
    report = verify_recipe(changed, trusted)
    assert report.signature == "invalid" and not report.valid
    with pytest.raises(RecipeError, match="changed after signing"):
        unpack(changed, tmp_path / "refused", trusted=trusted, allow_untrusted=True)
    assert not (tmp_path / "refused").exists() or not any((tmp_path / "refused").iterdir())

    # Signing says what to install, per platform; nothing else is affected.
    with pytest.raises(RecipeError) as err:
        sign.generate_keypair()
    text = str(err.value)
    assert "OSGeo4W Shell" in text and "macOS" in text and "python3-cryptography" in text
    assert "work without it" in text


def test_cannot_check_is_its_own_verdict(signed_recipe, tmp_path, qgis_app):
    """A signature this version cannot check (a scheme it does not know) is neither valid nor invalid:
    the recipe opens only as an untrusted one, and the GUI says it is not a sign of tampering."""
    import base64

    from dtfl_plugin.errors import RecipeError
    from dtfl_plugin.recipe.open import unpack
    from dtfl_plugin.recipe.verdict import build_verdict
    from dtfl_plugin.recipe.verify import verify_recipe

    recipe, key = signed_recipe
    future = tmp_path / "future.dtfl.zip"
    with zipfile.ZipFile(recipe) as src, zipfile.ZipFile(future, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith(".minisig"):
                lines = data.decode().splitlines()
                raw = base64.b64decode(lines[1])
                lines[1] = base64.b64encode(b"Ex" + raw[2:]).decode()  # a later signature scheme
                data = ("\n".join(lines) + "\n").encode()
            dst.writestr(info, data)
    trusted = [("partner", key.public)]
    report = verify_recipe(future, trusted)
    assert report.signature == "cannot-check" and not report.valid
    assert any("does not mean the recipe was changed" in p.message for p in report.problems)
    shown = build_verdict(report, str(future))  # what the verdict dialog shows
    assert "not a sign of tampering" in shown.headline and shown.may_open and shown.override
    with pytest.raises(RecipeError) as err:
        unpack(future, tmp_path / "a", trusted=trusted)
    assert "could not be checked" in str(err.value) and "changed after signing" not in str(err.value)
    result = unpack(future, tmp_path / "b", trusted=trusted, allow_untrusted=True)
    assert result.findings[0].kind == "trust" and "could not be checked" in result.findings[0].message
