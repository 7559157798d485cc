"""The hostile/broken recipe corpus: every case is refused or neutralised with a message naming it, nothing is
written outside the target folder, and no code from a recipe runs (canary files prove it)."""

from __future__ import annotations

import os
import struct
import zipfile
from pathlib import Path

import pytest

from tests.fixtures.recipe_hostile import as_symlink, forge


def _listing(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.fixture
def sandbox_dir(tmp_path):
    """A parent folder whose contents are compared before/after: only target/ may change."""
    (tmp_path / "sentinel.txt").write_text("x")
    return tmp_path


def _refused(recipe: Path, parent: Path, pattern: str, **kwargs):
    from dtfl_plugin.errors import RecipeError
    from dtfl_plugin.recipe.open import unpack

    before = _listing(parent) - {str(recipe.relative_to(parent))}
    target = parent / "target"
    with pytest.raises(RecipeError, match=pattern):
        unpack(recipe, target, **kwargs)
    after = _listing(parent) - {str(recipe.relative_to(parent))}
    assert after == before, f"files written: {after - before}"


@pytest.mark.filterwarnings("ignore:Duplicate name:UserWarning")  # the duplicate is the point of that case
@pytest.mark.parametrize(
    ("case", "pattern"),
    [
        ("traversal", r"\.\./escape\.txt.*outside"),
        ("absolute", r"absolute path"),
        ("symlink", r"symbolic link"),
        ("duplicate", r"appears twice"),
        ("backslash", r"backslash"),
    ],
)
def test_unsafe_archive_entries_refused(case, pattern, sandbox_dir, recipe_key, points_gpkg, qgis_app):
    from dtfl_plugin.recipe.verify import verify_recipe

    extra = {
        "traversal": [("../escape.txt", b"x")],
        "absolute": [(str(sandbox_dir / "abs.txt"), b"x")],
        "symlink": [("data/link", b"/etc/passwd", as_symlink)],
        "duplicate": [("data/points.gpkg", b"second copy")],
        "backslash": [("..\\win.txt", b"x")],
    }[case]
    recipe = forge(sandbox_dir / f"{case}.dtfl.zip", {"data/points.gpkg": points_gpkg}, recipe_key, extra=extra)
    report = verify_recipe(recipe, [("k", recipe_key.public)])
    assert not report.valid and report.problems
    assert any(__import__("re").search(pattern, p.message) for p in report.problems), report.problems
    _refused(recipe, sandbox_dir, pattern, trusted=[("k", recipe_key.public)])
    assert not (sandbox_dir.parent / "escape.txt").exists() and not (sandbox_dir / "abs.txt").exists()


def test_too_many_entries_and_size_caps(sandbox_dir, recipe_key):
    from dtfl_plugin.recipe.zipsafe import Limits

    trusted = [("k", recipe_key.public)]
    many = forge(sandbox_dir / "many.dtfl.zip", {f"data/f{i}.txt": b"x" for i in range(60)}, recipe_key)
    _refused(many, sandbox_dir, r"61 entries|62 entries|63 entries", trusted=trusted, limits=Limits(max_entries=50))
    # two stored 6 MiB members against a 10 MiB cap on bytes actually read
    big = {f"data/b{i}.bin": os.urandom(6 * 1024 * 1024) for i in range(2)}
    recipe = forge(sandbox_dir / "big.dtfl.zip", big, recipe_key)
    _refused(
        recipe,
        sandbox_dir,
        r"expands to more than 10(\.0+)? MB: refused",  # the 10 MiB limit, readable (not "0.0 GiB")
        trusted=trusted,
        limits=Limits(max_total_bytes=10 * 1024 * 1024),
    )


def test_zip_bomb_ratio_counted_on_bytes_read(sandbox_dir, recipe_key):
    trusted = [("k", recipe_key.public)]
    bomb = forge(sandbox_dir / "bomb.dtfl.zip", {"data/zeros.bin": bytes(64 * 1024 * 1024)}, recipe_key)
    assert bomb.stat().st_size < 1024 * 1024
    _refused(bomb, sandbox_dir, r"zip bomb", trusted=trusted)
    # the central directory lies: it declares a tiny uncompressed size for the 64 MiB member
    data = bytearray(bomb.read_bytes())
    cd = data.rfind(b"PK\x01\x02data/zeros.bin"[:4])
    while cd != -1:
        name_len = struct.unpack_from("<H", data, cd + 28)[0]
        if data[cd + 46 : cd + 46 + name_len] == b"data/zeros.bin":
            struct.pack_into("<I", data, cd + 24, 1000)  # uncompressed size
            break
        cd = data.rfind(b"PK\x01\x02", 0, cd)
    liar = sandbox_dir / "liar.dtfl.zip"
    liar.write_bytes(bytes(data))
    _refused(liar, sandbox_dir, r"zeros\.bin", trusted=trusted)


def test_truncated_zip(sandbox_dir, recipe_key, points_gpkg):
    from dtfl_plugin.recipe.verify import verify_recipe

    whole = forge(sandbox_dir / "whole.dtfl.zip", {"data/points.gpkg": points_gpkg}, recipe_key)
    cut = sandbox_dir / "cut.dtfl.zip"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    report = verify_recipe(cut, [("k", recipe_key.public)])
    assert not report.valid and "damaged or truncated" in report.problems[0].message
    _refused(cut, sandbox_dir, r"damaged or truncated", trusted=[("k", recipe_key.public)])


def test_tampering_and_signatures(sandbox_dir, recipe_key, points_gpkg):
    from dtfl_plugin.recipe import sign
    from dtfl_plugin.recipe.verify import verify_recipe

    trusted = [("k", recipe_key.public)]
    files = {"data/points.gpkg": points_gpkg}
    good = forge(sandbox_dir / "good.dtfl.zip", files, recipe_key)
    assert verify_recipe(good, trusted).valid

    def rewrite(name: str, new: bytes, out: str) -> Path:
        target = sandbox_dir / out
        with zipfile.ZipFile(good) as src, zipfile.ZipFile(target, "w") as dst:
            for info in src.infolist():
                dst.writestr(info, new if info.filename == name else src.read(info))
        return target

    data = rewrite("data/points.gpkg", points_gpkg[:-10] + b"0123456789", "tampered-data.dtfl.zip")
    report = verify_recipe(data, trusted)
    assert report.signature == "valid" and [p.entry for p in report.problems] == ["data/points.gpkg"]
    _refused(data, sandbox_dir, r"data/points\.gpkg.*was changed", trusted=trusted)

    meta = rewrite("ro-crate-metadata.json", b'{"@context": "x", "@graph": []}', "tampered-meta.dtfl.zip")
    report = verify_recipe(meta, trusted)
    assert "ro-crate-metadata.json" in {p.entry for p in report.problems} and not report.valid

    manifest = rewrite("manifest-sha256.txt", b"0" * 64 + b"  data/points.gpkg\n", "tampered-manifest.dtfl.zip")
    report = verify_recipe(manifest, trusted)
    assert report.signature == "invalid" and not report.valid
    _refused(manifest, sandbox_dir, r"signature is invalid", trusted=trusted)

    other = forge(sandbox_dir / "other.dtfl.zip", files, sign.generate_keypair())
    report = verify_recipe(other, trusted)
    assert (
        report.signature == "unknown-key"
        and not report.valid
        and "not among your trusted keys" in report.problems[0].message
    )
    _refused(other, sandbox_dir, r"do not trust", trusted=trusted)

    unsigned = forge(sandbox_dir / "unsigned.dtfl.zip", files, None)
    report = verify_recipe(unsigned, trusted)
    assert report.signature == "missing" and not report.valid
    _refused(unsigned, sandbox_dir, r"not signed", trusted=trusted)

    unlisted = forge(sandbox_dir / "unlisted.dtfl.zip", files, recipe_key, extra=[("data/extra.gpkg", b"smuggled")])
    report = verify_recipe(unlisted, trusted)
    assert [p.entry for p in report.problems] == [
        "data/extra.gpkg"
    ] and "not in the signed manifest" in report.problems[0].message
