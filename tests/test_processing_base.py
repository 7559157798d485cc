"""The DTFL algorithm base: one instance path, one group table, one run lifecycle and one error path."""

from __future__ import annotations

import pytest


def _local_algorithms(registry) -> list:
    """The algorithms of the rooms' algorithms/ folders (the per-process remote ones are built from descriptions)."""
    return [a for a in registry.providerById("dtfl").algorithms() if ".algorithms." in type(a).__module__]


def test_every_algorithm_is_a_dtfl_algorithm_named_after_its_file(processing_ready):
    from dtfl_plugin.processing.base import DtflAlgorithm, group_names

    algorithms = _local_algorithms(processing_ready)
    assert len({a.name() for a in algorithms}) >= 14
    for alg in algorithms:
        assert isinstance(alg, DtflAlgorithm), alg.id()
        assert type(alg).__module__.endswith(f".algorithms.{alg.name()}"), (alg.id(), type(alg).__module__)
        fresh = alg.createInstance()
        assert type(fresh) is type(alg) and fresh.name() == alg.name() and alg.id() == f"dtfl:{alg.name()}"
        assert alg.groupId() in group_names() and alg.group() == group_names()[alg.groupId()]


def test_a_parameter_error_is_a_recorded_failed_run(processing_ready, tmp_path):
    """catalogue_import rejected an empty SOURCE before its run capture could fail: the run went unrecorded."""
    import processing
    from qgis.core import QgsProcessingException, QgsProject

    from dtfl_plugin.provenance.store import load_runs, read_log

    before = len(load_runs(QgsProject.instance()))
    with pytest.raises(QgsProcessingException, match="Give a source") as err:
        processing.run("dtfl:catalogue_import", {"SOURCE": "  ", "KIND": 0, "INDEX": str(tmp_path / "i.sqlite")})
    last = read_log()[-1]
    assert last.algorithm_id == "dtfl:catalogue_import" and last.status == "failed"
    assert last.error == str(err.value) and last.ended
    assert len(load_runs(QgsProject.instance())) == before  # a failed run is not a step of the project


def test_a_room_error_reaches_processing_with_its_message_and_is_recorded(processing_ready, tmp_path):
    import processing
    from qgis.core import QgsProcessingException

    from dtfl_plugin.provenance.store import read_log

    with pytest.raises(QgsProcessingException, match="A server needs a name") as err:
        processing.run("dtfl:remote_server", {"NAME": " ", "URL": "http://127.0.0.1:9/"})
    assert "Traceback" not in str(err.value)
    last = read_log()[-1]
    assert (last.algorithm_id, last.status, last.error) == ("dtfl:remote_server", "failed", str(err.value))


def test_passphrases_never_enter_a_record_and_recipe_runs_stay_out_of_the_project(processing_ready, tmp_path):
    import processing
    from qgis.core import QgsProject

    from dtfl_plugin.provenance.store import load_runs, read_log

    before = len(load_runs(QgsProject.instance()))
    processing.run(
        "dtfl:recipe_keygen",
        {
            "OUTPUT_PRIVATE": str(tmp_path / "k.key"),
            "OUTPUT_PUBLIC": str(tmp_path / "k.pub"),
            "PASSPHRASE": "geheim-wachtwoord",
            "STORE_IN_AUTH_DB": False,
            "TRUST": False,
        },
    )
    last = read_log()[-1]
    assert last.algorithm_id == "dtfl:recipe_keygen" and last.status == "completed" and last.ended
    assert last.parameters["PASSPHRASE"] == ""
    assert "geheim-wachtwoord" not in str(last.to_dict())
    assert len(load_runs(QgsProject.instance())) == before


def test_a_completed_run_is_stored_in_the_project(processing_ready, tmp_path):
    import processing
    from qgis.core import QgsProject

    from dtfl_plugin.provenance.store import load_runs

    before = len(load_runs(QgsProject.instance()))
    processing.run("dtfl:remote_server", {"NAME": "base-test", "URL": "http://127.0.0.1:9/ogcapi"})
    processing.run("dtfl:remote_server", {"NAME": "base-test", "REMOVE": True})
    runs = load_runs(QgsProject.instance())
    assert len(runs) == before + 2
    assert [r.status for r in runs[-2:]] == ["completed", "completed"]
    assert runs[-1].parameters["REMOVE"] is True
