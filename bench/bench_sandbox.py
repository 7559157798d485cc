"""Sandbox start-up (cold vs warm) and request latency of its servers, in a private state folder.

Cold = empty cache (every artefact built: GeoJSON, COG, QGIS project, pycsw database, OpenAPI document);
warm = the same start again with the cache filled (the baseline of the warm row is the cold start).
Latencies: median of repeated real requests against the warm sandbox; baseline = the same request read
from disk or computed locally where one exists (None otherwise).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _start(env: dict) -> float:
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "sandbox", "start"], cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr)
    return time.monotonic() - t0


def _stop(env: dict) -> None:
    subprocess.run([sys.executable, "-m", "sandbox", "stop"], cwd=ROOT, env=env, capture_output=True, check=True)


def _median_ms(url: str, n: int) -> float:
    headers = {"Range": "bytes=0-16383"} if url.endswith(".tif") else {}
    times = []
    for _ in range(n):
        t0 = time.monotonic()
        with _OPENER.open(urllib.request.Request(url, headers=headers), timeout=120) as resp:
            resp.read()
        times.append((time.monotonic() - t0) * 1000)
    return statistics.median(times)


def run(quick: bool = False) -> list[dict]:
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="dtfl-bench-sandbox-") as tmp:
        env = dict(os.environ, DTFL_SANDBOX_DIR=str(Path(tmp) / "state"))
        try:
            cold = _start(env)
            _stop(env)
            warm = _start(env)
            eps = json.loads((Path(tmp) / "state" / "endpoints.json").read_text())
            n = 3 if quick else 10
            requests = {
                "WMS GetMap 800x694 (5 layers)": f"{eps['wms']}?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=ahn_dtm,bgt_begroeidterreindeel,bgt_waterdeel,bgt_wegdeel,bgt_pand&CRS=EPSG:28992&BBOX=84808,447412,85073,447642&WIDTH=800&HEIGHT=694&FORMAT=image/png&STYLES=",
                "OAPIF items (160 buildings)": f"{eps['ogcapi']}/collections/gebouwen_3d/items?f=json&limit=1000",
                "CSW GetRecords ISO full (24)": f"{eps['csw']}?service=CSW&version=2.0.2&request=GetRecords&typeNames=csw:Record&resultType=results&elementSetName=full&outputSchema=http://www.isotc211.org/2005/gmd&maxRecords=100",
                "WFS 2.0 GetFeature GeoJSON (160, MapServer)": f"{eps['wfs2']}?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES=ms:bgt_pand&OUTPUTFORMAT=geojson",
                "OGC API Tiles MVT z16 tile": f"{eps['ogcapi']}/collections/bgt/tiles/WebMercatorQuad/16/21643/33562?f=mvt",
                "COG range read 16 KiB": f"{eps['files']}/ahn/ahn3_delft_dtm_1m.cog.tif",
            }
            latencies = {name: _median_ms(url, n) for name, url in requests.items()}
        finally:
            _stop(env)
    rows.append({"benchmark": "sandbox start", "metric": "warm start (cache filled)", "ours": round(warm, 2),
                 "baseline": round(cold, 2), "ratio": round(warm / cold, 3), "unit": "s",
                 "note": "baseline = cold start (empty cache) in the same run"})  # fmt: skip
    for name, ms in latencies.items():
        rows.append({"benchmark": "sandbox request", "metric": name, "ours": round(ms, 1), "baseline": None,
                     "ratio": None, "unit": "ms", "note": "median over repeated requests, loopback"})  # fmt: skip
    return rows


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(row)
