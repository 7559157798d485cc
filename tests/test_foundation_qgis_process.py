"""Headless QGIS: the packaged plugin, installed into an isolated profile, gives qgis_process the dtfl provider."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.qgis_process import profile_runner

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def qgis_process(tmp_path_factory, packaged_zip):
    return profile_runner(tmp_path_factory.mktemp("qgis-process"), packaged_zip)


@pytest.fixture(scope="module")
def json_listing(qgis_process) -> dict:
    listing = qgis_process("--json", "list")
    assert listing.returncode == 0, listing.stderr
    return json.loads(listing.stdout)


def test_plugin_enabled_in_isolated_profile(qgis_process):
    listing = qgis_process("plugins")
    assert listing.returncode == 0, listing.stderr
    assert "* dtfl_plugin" in listing.stdout.splitlines(), listing.stdout


def test_list_shows_dtfl_provider(qgis_process, json_listing):
    plain = qgis_process("list")
    assert plain.returncode == 0, plain.stderr
    assert "DTFL" in [line.strip() for line in plain.stdout.splitlines()], plain.stdout[:2000]

    data = json_listing
    assert "dtfl" in data["providers"], sorted(data["providers"])
    provider = data["providers"]["dtfl"]
    assert provider["name"] == "DTFL"
    assert all(alg_id.startswith("dtfl:") for alg_id in provider.get("algorithms", {}))


def test_help_of_a_dtfl_algorithm(qgis_process, json_listing):
    algorithms = sorted(json_listing["providers"]["dtfl"].get("algorithms", {}))
    if not algorithms:
        pytest.skip("the dtfl provider has no algorithms yet")
    alg_id = algorithms[0]
    helped = qgis_process("--json", "help", alg_id)
    assert helped.returncode == 0, helped.stdout + helped.stderr
    info = json.loads(helped.stdout)
    assert info["algorithm_details"]["id"] == alg_id
    # provider_details has no id in qgis_process's JSON (3.22 and 3.40): compare the names it does give
    assert info["provider_details"]["name"] == "DTFL"
    assert info["provider_details"]["version"] == json_listing["providers"]["dtfl"]["version"]
