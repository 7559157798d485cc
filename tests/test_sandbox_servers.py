"""The sandbox's servers answer real protocol requests with the real sample data (HTTP level, no QGIS)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sandbox.datasets import DATASETS
from sandbox.endpoints import SERVERS
from sandbox.paths import PIDS
from tests.fixtures.sandbox import NS, iso_records_url, online_resources

pytestmark = pytest.mark.sandbox

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def fetch(url: str, headers: dict | None = None, data: bytes | None = None, method: str | None = None):
    req = urllib.request.Request(url, headers=headers or {}, data=data, method=method)
    return _OPENER.open(req, timeout=60)


def get_json(url: str) -> dict:
    with fetch(url) as resp:
        return json.loads(resp.read())


def ngr_ids(shared: Path) -> set[str]:
    ids = set()
    for path in (shared / "catalogue" / "iso19139").glob("*.xml"):
        node = ET.parse(path).getroot().find("gmd:fileIdentifier/gco:CharacterString", NS)
        ids.add(node.text.strip())
    return ids


def test_endpoints_json_has_every_key(sandbox):
    saved = json.loads((PIDS.parent / "endpoints.json").read_text())
    assert saved == sandbox
    for key in ("csw", "ogcapi", "wms", "wmts", "wfs", "files", "ogcapi_records", "pdok_layers", "oapif",
                "processes", "wfs3", "wfs2", "wcs"):  # fmt: skip
        assert sandbox[key].startswith("http://127.0.0.1:"), key
    assert sandbox["oapif"] == sandbox["processes"] == sandbox["ogcapi"]


def _listening_inodes() -> dict[str, str]:
    """socket inode -> local address of every listening TCP socket (IPv4 and IPv6)."""
    out = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            f = line.split()
            if f[3] == "0A":  # LISTEN
                out[f[9]] = f[1]
    return out


def _group_pids(pgid: int) -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            pids.append(int(stat.parent.name))
    return pids


def test_nothing_listens_beyond_loopback(sandbox):
    listening = _listening_inodes()
    seen = 0
    for rec_path in PIDS.glob("*.json"):
        rec = json.loads(rec_path.read_text())
        for pid in _group_pids(rec["pgid"]):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                try:
                    target = str(fd.readlink())
                except OSError:
                    continue
                inode = target[len("socket:[") : -1] if target.startswith("socket:[") else None
                if inode in listening:
                    seen += 1
                    addr = listening[inode].split(":")[0]
                    # 0100007F is 127.0.0.1 in /proc's little-endian hex; IPv6 loopback is ::1
                    assert addr in ("0100007F", "00000000000000000000000001000000"), (rec_path.stem, addr)
    assert seen >= len(SERVERS), "every server must have a listening socket"


def test_csw_getrecords_iso_holds_ngr_and_generated_records(sandbox, shared_data):
    with fetch(iso_records_url(sandbox["csw"])) as resp:
        root = ET.fromstring(resp.read())
    assert root.tag == f"{{{NS['csw']}}}GetRecordsResponse"
    ids = {n.text.strip() for n in root.iterfind(".//gmd:MD_Metadata/gmd:fileIdentifier/gco:CharacterString", NS)}
    assert ngr_ids(shared_data) <= ids
    assert {d.uuid for d in DATASETS} <= ids
    # a generated record publishes the layer under each protocol with the right URL and name
    pand = next(m for m in root.iterfind(".//gmd:MD_Metadata", NS)
                if m.findtext("gmd:fileIdentifier/gco:CharacterString", namespaces=NS) == DATASETS[0].uuid)  # fmt: skip
    online = set(online_resources(pand))
    assert ("OGC:WMS", sandbox["wms"], "bgt_pand") in online
    assert ("OGC:WFS", sandbox["wfs"], "bgt_pand") in online
    assert ("OGC:API features", sandbox["ogcapi"], "bgt_pand") in online


def test_csw_getrecordbyid_and_download_links(sandbox):
    dtm = next(d for d in DATASETS if d.key == "ahn_dtm")
    url = (f"{sandbox['csw']}?service=CSW&version=2.0.2&request=GetRecordById&id={dtm.uuid}"
           f"&outputSchema={NS['gmd']}&elementSetName=full")  # fmt: skip
    with fetch(url) as resp:
        root = ET.fromstring(resp.read())
    links = {o.findtext("gmd:protocol/gco:CharacterString", namespaces=NS): o.findtext("gmd:linkage/gmd:URL", namespaces=NS)
             for o in root.iterfind(".//gmd:CI_OnlineResource", NS)}  # fmt: skip
    cog = links["COG"]
    assert cog.startswith(sandbox["files"])
    with fetch(cog, headers={"Range": "bytes=0-3"}) as resp:
        assert resp.status == 206
        assert resp.read() in (b"II*\x00", b"MM\x00*")  # a TIFF header


def test_ogcapi_records_items(sandbox, shared_data):
    data = get_json(f"{sandbox['ogcapi_records']}/items?f=json&limit=100")
    ids = {f["id"] for f in data["features"]}
    sample = json.loads(
        (shared_data / "catalogue/ogcapi-records/ngr-sample-records.ogcapi-records.tinydb.json").read_text()
    )
    assert {r["id"] for r in sample["_default"].values()} <= ids
    assert {d.uuid for d in DATASETS} <= ids
    hits = get_json(f"{sandbox['ogcapi_records']}/items?f=json&q=Wegdeel")["features"]
    assert next(d.uuid for d in DATASETS if d.key == "bgt_wegdeel") in [f["id"] for f in hits]
    assert all("wegde" in (f["properties"]["title"] + f["properties"]["description"]).lower() for f in hits)
    assert get_json(f"{sandbox['ogcapi_records']}/items?f=json&q=qwxzyv")["features"] == []


def test_file_server_range_and_safety(sandbox):
    base = f"{sandbox['files']}/ahn/ahn3_delft_dtm_1m.cog.tif"
    with fetch(base, method="HEAD") as resp:
        size = int(resp.headers["Content-Length"])
        assert resp.headers["Content-Type"] == "image/tiff" and resp.headers["Accept-Ranges"] == "bytes"
    with fetch(base, headers={"Range": "bytes=-10"}) as resp:
        assert resp.status == 206 and len(resp.read()) == 10
        assert resp.headers["Content-Range"] == f"bytes {size - 10}-{size - 1}/{size}"
    with pytest.raises(urllib.error.HTTPError) as err:
        fetch(base, headers={"Range": f"bytes={size}-"})
    assert err.value.code == 416
    for bad in ("/ahn/../../../../etc/passwd", "/ahn/%2e%2e/%2e%2e/etc/passwd", "/nothing-here", "/ept/ahn3_delft/../"):
        with pytest.raises(urllib.error.HTTPError) as err:
            fetch(sandbox["files"] + bad)
        assert err.value.code == 404, bad
    ept = get_json(f"{sandbox['files']}/ept/ahn3_delft/ept.json")
    assert ept["points"] > 0 and ept["dataType"] == "laszip"
    with fetch(f"{sandbox['files']}/3dtiles/3dbag/tileset.json") as resp:
        assert "asset" in json.loads(resp.read())


def test_wmts_capabilities_and_tile(sandbox):
    with fetch(f"{sandbox['wmts']}?SERVICE=WMTS&REQUEST=GetCapabilities") as resp:
        caps = resp.read().decode()
    assert "<ows:Identifier>EPSG:28992</ows:Identifier>" in caps
    assert "<ows:Identifier>bgt_pand</ows:Identifier>" in caps
    url = (f"{sandbox['wmts']}?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=ahn_dtm&STYLE=default"
           "&TILEMATRIXSET=EPSG:28992&TILEMATRIX=0&TILEROW=0&TILECOL=0&FORMAT=image/png")  # fmt: skip
    with fetch(url) as resp:
        assert resp.headers["Content-Type"].startswith("image/png")
        assert resp.read(8) == b"\x89PNG\r\n\x1a\n"


def test_gebouwen_3d_has_heights(sandbox):
    data = get_json(f"{sandbox['ogcapi']}/collections/gebouwen_3d/items?f=json&limit=1000")
    assert data["numberMatched"] == 160
    for f in data["features"]:
        p = f["properties"]
        assert p["identificatie"].startswith("NL.IMBAG.Pand.")
        # the CityJSON's vertical extent is -0.452 .. 16.846 m
        assert -0.5 <= p["b3_h_maaiveld"] < p["b3_h_dak_50p"] <= p["b3_h_dak_max"] <= 16.9
        assert p["b3_hoogte"] == pytest.approx(p["b3_h_dak_max"] - p["b3_h_maaiveld"], abs=0.002)


def _expected_dtm_stats(shared: Path, bbox: list[float]) -> dict:
    from osgeo import gdal

    ds = gdal.Open(str(shared / "3d/derived/ahn3_delft_dtm_1m_filled.tif"))
    x0, dx, _, y0, _, dy = ds.GetGeoTransform()
    arr = ds.GetRasterBand(1).ReadAsArray().astype("float64")
    nodata = ds.GetRasterBand(1).GetNoDataValue()
    vals = []
    for r in range(arr.shape[0]):
        cy = y0 + (r + 0.5) * dy
        for c in range(arr.shape[1]):
            cx = x0 + (c + 0.5) * dx
            if bbox[0] <= cx <= bbox[2] and bbox[1] <= cy <= bbox[3] and arr[r, c] != nodata:
                vals.append(arr[r, c])
    return {"count": len(vals), "min": min(vals), "max": max(vals), "mean": sum(vals) / len(vals)}


def test_dtm_statistics_process_sync_and_async(sandbox, shared_data):
    bbox = [84900.0, 447450.0, 85000.0, 447550.0]
    body = json.dumps({"inputs": {"bbox": bbox, "percentiles": [50]}}).encode()
    url = f"{sandbox['processes']}/processes/dtm-statistics/execution"
    with fetch(url, data=body, headers={"Content-Type": "application/json"}) as resp:
        result = json.loads(resp.read())
    assert result["id"] == "statistics"
    stats = result["value"]
    expected = _expected_dtm_stats(shared_data, bbox)
    assert stats["count"] == expected["count"] == 100 * 100
    for key in ("min", "max", "mean"):
        assert stats[key] == pytest.approx(expected[key], abs=1e-6)
    with fetch(url, data=body, headers={"Content-Type": "application/json", "Prefer": "respond-async"}) as resp:
        assert resp.status == 201
        job = resp.headers["Location"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        st = get_json(f"{job}?f=json")
        if st["status"] in ("successful", "failed"):
            break
        time.sleep(0.2)
    assert st["status"] == "successful", st
    res = get_json(f"{job}/results?f=json")
    assert res["value"]["count"] == expected["count"]
    assert res["value"]["mean"] == pytest.approx(expected["mean"], abs=1e-6)


def test_process_rejects_bad_input(sandbox):
    url = f"{sandbox['processes']}/processes/dtm-statistics/execution"
    body = json.dumps({"inputs": {"bbox": [0, 0, 10, 10]}}).encode()
    with pytest.raises(urllib.error.HTTPError) as err:
        fetch(url, data=body, headers={"Content-Type": "application/json"})
    assert err.value.code >= 400
    assert "does not overlap" in err.value.read().decode()


def test_ogcapi_tiles_serve_mvt(sandbox, tmp_path):
    import math

    from osgeo import gdal

    tilesets = get_json(f"{sandbox['ogcapi']}/collections/bgt/tiles?f=json")
    assert any(t.get("tileMatrixSetURI", "").endswith("WebMercatorQuad") for t in tilesets["tilesets"])
    lon, lat, z = 4.3665, 52.0122, 16  # inside the BGT area
    x = int((lon + 180) / 360 * 2**z)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2**z)
    url = f"{sandbox['ogcapi']}/collections/bgt/tiles/WebMercatorQuad/{z}/{y}/{x}?f=mvt"
    with fetch(url) as resp:
        assert resp.headers["Content-Type"] == "application/vnd.mapbox-vector-tile"
        (tmp_path / "tile.pbf").write_bytes(resp.read())
    ds = gdal.OpenEx(str(tmp_path / "tile.pbf"), gdal.OF_VECTOR, open_options=[f"X={x}", f"Y={y}", f"Z={z}"])
    layers = {ds.GetLayer(i).GetName(): ds.GetLayer(i).GetFeatureCount() for i in range(ds.GetLayerCount())}
    assert layers.get("bgt_pand", 0) > 0 and "bgt_wegdeel" in layers
