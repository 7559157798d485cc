"""make package: dist/dtfl_plugin.zip is installable, complete, free of tests/caches, and reproducible."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.fixtures.foundation import build_package

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def built_zip(packaged_zip) -> Path:
    return packaged_zip


def test_zip_layout(built_zip):
    names = zipfile.ZipFile(built_zip).namelist()
    assert {n.split("/")[0] for n in names} == {"dtfl_plugin"}
    for required in (
        "dtfl_plugin/__init__.py",
        "dtfl_plugin/plugin.py",
        "dtfl_plugin/processing/provider.py",
        "dtfl_plugin/metadata.txt",
        "dtfl_plugin/LICENSE",
        "dtfl_plugin/resources/icon.svg",
        "dtfl_plugin/i18n/dtfl_nl.qm",
    ):
        assert required in names, required
    offenders = [
        n
        for n in names
        if "__pycache__" in n
        or n.endswith((".pyc", ".ts"))
        or "/tests/" in n
        or n.rsplit("/", 1)[-1].startswith("test_")
        or (n.startswith("dtfl_plugin/i18n/") and not n.endswith((".qm", "/")))
    ]
    assert not offenders, offenders
    # The icon metadata.txt names is in the zip at that path, as the plugin manager expects.
    meta = zipfile.ZipFile(built_zip).read("dtfl_plugin/metadata.txt").decode("utf-8")
    icon = next(line.split("=", 1)[1].strip() for line in meta.splitlines() if line.startswith("icon="))
    assert f"dtfl_plugin/{icon}" in names


@pytest.mark.slow
def test_zip_is_reproducible(tmp_path):
    """Two builds of one tree give the same bytes. Built from a frozen copy of the tree: the shared working
    tree changes under a test while others edit (translations, code), which is not what is tested here."""
    import shutil

    frozen = tmp_path / "tree"
    shutil.copytree(
        ROOT,
        frozen,
        symlinks=True,
        ignore=shutil.ignore_patterns(
            ".git",
            ".venv*",
            ".sandbox",
            "dist",
            "build",
            "__pycache__",
            ".run-profile",
            ".qgis-settings",
            "*.qm",
            "*.ts",
        ),
    )
    (frozen / ".venv").symlink_to(ROOT / ".venv")
    first = build_package(tmp_path / "first.zip", frozen)
    again = build_package(tmp_path / "again.zip", frozen)
    if again.read_bytes() != first.read_bytes():
        one = {i.filename: (i.CRC, i.date_time) for i in zipfile.ZipFile(first).infolist()}
        two = {i.filename: (i.CRC, i.date_time) for i in zipfile.ZipFile(again).infolist()}
        differing = sorted(n for n in set(one) | set(two) if one.get(n) != two.get(n))
        pytest.fail(f"two builds of the same tree differ in: {differing or 'zip metadata only'}")
    assert not list(tmp_path.glob(".dtfl_plugin.zip.*")) and not list(tmp_path.glob(".*.zip.*")), "temp file left"


def test_packaged_layout_resolves_assets(built_zip, tmp_path):
    """__about__ finds metadata, resources and translations inside the unzipped package (not the source tree)."""
    zipfile.ZipFile(built_zip).extractall(tmp_path)
    code = (
        "import dtfl_plugin.__about__ as a;"
        "print(a.asset_root());print(a.name(), a.version());"
        "print(a.resource_path('icon.svg').is_file(), a.i18n_path('dtfl_nl.qm').is_file())"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr
    root, name_version, found = proc.stdout.splitlines()
    assert Path(root) == tmp_path / "dtfl_plugin"
    assert name_version.split()[0] == "DTFL"
    assert found == "True True"
