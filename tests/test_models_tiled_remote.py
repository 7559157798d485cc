"""The tiled bathtub on the sandbox's pygeoapi (process bathtub_tiled, tiles on a Dask LocalCluster) through the
plugin's remote client: the same depths as the local in-memory and tiled paths."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.fixtures.models_remote import local_bathtub

pytestmark = pytest.mark.sandbox


def test_remote_tiled_on_dask_equals_local(remote_server, processing_ready, shared_data, tmp_path):
    import processing
    from osgeo import gdal

    dem = shared_data / "3d" / "derived" / "ahn3_delft_dtm_1m.tif"  # with nodata: canals and removed buildings
    processing.run("dtfl:remote_refresh", {"SERVER": "sandbox"})
    out = {"depth": str(tmp_path / "depth.tif"), "depressions": str(tmp_path / "dep.gpkg"), "summary": str(tmp_path / "s.json")}  # fmt: skip
    result = processing.run(
        "dtfl:remote_sandbox_bathtub_tiled", {"dem": str(dem), "event": "T100", "loss_mm": 10, "tile": 64, **out}
    )
    assert result["JOB_URL"].startswith(remote_server.url + "/jobs/")
    remote = gdal.Open(out["depth"]).ReadAsArray()
    local, expected = local_bathtub(dem, 70.0, 10.0)
    assert np.abs(remote - expected).max() <= 0.001 and remote.max() > 0.05
    summary = json.loads(Path(out["summary"]).read_text())
    assert summary["tiles"] == 20  # 230 x 265 cells in tiles of 64: the run really was tiled
    assert summary["stored_m3"] == pytest.approx(local.stored_m3)
