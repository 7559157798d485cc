"""Everything the servers read, prepared for a set of endpoints; cached so a warm start rebuilds nothing."""

from __future__ import annotations

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .endpoints import make_endpoints
from .generate import catalogue, geodata, mapfile, ogcapi, project, records
from .paths import CACHE, HOST, LOGS, ROOT, RUN, SERVERS_PYTHON, SHARED_DATA, STATE, cached, write_atomic

PROCESSES = ROOT / "sandbox" / "processes"


def server_env(extra: dict | None = None) -> dict:
    """Environment of the servers' venv processes: repo on PYTHONPATH (sandbox.processes, dtfl_plugin cores)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYGEOAPI_", "PYCSW_", "VIRTUAL_ENV"))}
    env.update(
        PYTHONPATH=str(ROOT),
        PROJ_DATA="/usr/share/proj",
        DTFL_SHARED_DATA=str(SHARED_DATA),
        DTFL_SANDBOX_CACHE=str(CACHE),
        DTFL_SANDBOX_DIR=str(STATE),  # marks every server process as this sandbox's
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    env.update(extra or {})
    return env


def _openapi(cfg_text: str) -> Path:
    """OpenAPI document of a template configuration; its job database/outputs are relative to the build folder."""

    def _build(out: Path) -> None:
        cfg = out / "pygeoapi-config.yml"
        cfg.write_text(cfg_text)
        (out / "outputs").mkdir()
        cmd = [str(SERVERS_PYTHON.parent / "pygeoapi"), "openapi", "generate", str(cfg), "--output-file",
               str(out / "openapi.yml")]  # fmt: skip
        env = server_env({"PYGEOAPI_CONFIG": str(cfg)})
        proc = subprocess.run(cmd, cwd=out, capture_output=True, text=True, env=env, timeout=300)
        if proc.returncode != 0:
            raise RuntimeError(f"pygeoapi openapi generate failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")

    return cached("pygeoapi-openapi", [cfg_text, PROCESSES], _build) / "openapi.yml"


def _records_template(template: dict, extents: dict) -> Path:
    text = json.dumps(records.tinydb(template, extents), ensure_ascii=False, sort_keys=True)
    return (
        cached("records-template", [text], lambda out: (out / "records.tinydb.json").write_text(text))
        / "records.tinydb.json"
    )


# Artefacts whose building is slow (QGIS project, pycsw database, OpenAPI document) contain URLs. They are
# built once for these placeholder ports and copied per start with the real URLs substituted, so a start on
# other ports (ports taken by something else, a second sandbox in a test) still hits the cache.
TEMPLATE_PORTS = {"files": 65001, "qgis": 65002, "ogcapi": 65003, "csw": 65004, "mapserver": 65005}


def substitutions(ports: dict) -> dict[str, str]:
    return {f"{HOST}:{TEMPLATE_PORTS[name]}": f"{HOST}:{ports[name]}" for name in TEMPLATE_PORTS}


def _materialise_text(src: Path, dst: Path, subst: dict[str, str]) -> Path:
    text = src.read_text(encoding="utf-8")
    for old, new in subst.items():
        text = text.replace(old, new)
    write_atomic(dst, text)
    return dst


def prepare(endpoints: dict, ports: dict) -> dict:
    """Build (or find in the cache) every artefact; returns the paths the servers are started with."""
    template = make_endpoints(TEMPLATE_PORTS)
    subst = substitutions(ports)
    jobs = RUN / "pygeoapi-jobs.json"
    outputs = RUN / "pygeoapi-outputs"
    outputs.mkdir(parents=True, exist_ok=True)
    records_db = RUN / "records.tinydb.json"
    with ThreadPoolExecutor(max_workers=5) as pool:
        # what only needs the shared data first, in parallel; then what needs the derived features
        cog = pool.submit(cached, "cog", [geodata.DTM, Path(geodata.__file__)], geodata.build_cog)
        tiles_job = pool.submit(cached, "tiles", [geodata.GPKG, Path(geodata.__file__)], geodata.build_tiles)
        features = cached("features", geodata.inputs(), geodata.build_features)
        extents = json.loads((features / "extents.json").read_text())
        qgs = pool.submit(project.build_project, template, features)
        csw = pool.submit(catalogue.build, template, extents)
        # no path of this state folder in the template: every sandbox (any state folder) shares the document
        tpl_records = _records_template(template, extents)
        tiles = tiles_job.result()
        tpl_cfg = ogcapi.config(
            template, features, tpl_records, Path("jobs.json"), Path("outputs"), TEMPLATE_PORTS["ogcapi"], tiles
        )
        openapi = pool.submit(_openapi, json.dumps(tpl_cfg, indent=1, ensure_ascii=False))
        records.write_all(RUN, endpoints, extents)
        cfg_data = ogcapi.config(endpoints, features, records_db, jobs, outputs, ports["ogcapi"], tiles)
        map_path = RUN / "mapserver" / "sandbox.map"
        write_atomic(map_path, mapfile.mapfile(endpoints, features, extents))
        cfg_path = RUN / "pygeoapi-config.yml"
        write_atomic(cfg_path, json.dumps(cfg_data, indent=1, ensure_ascii=False))
        return {
            "features": features,
            "cog": cog.result(),
            "qgs": _materialise_text(qgs.result(), RUN / "qgis" / "sandbox.qgs", subst),
            "csw": catalogue.materialise(csw.result(), RUN / "pycsw", subst, endpoints["csw"]),
            "pygeoapi_config": cfg_path,
            "openapi": _materialise_text(openapi.result(), RUN / "openapi.yml", subst),
            "jobs_db": jobs,
            "outputs": outputs,
            "pdok": RUN / "pdok",
            "styles": RUN / "styles",
            "mapfile": map_path,
            "logs": LOGS,
        }
