"""Everything the servers read, prepared for a set of endpoints; cached so a warm start rebuilds nothing."""

from __future__ import annotations

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .generate import catalogue, geodata, ogcapi, project, records
from .paths import CACHE, LOGS, ROOT, RUN, SERVERS_PYTHON, SHARED_DATA, STATE, cached, write_atomic

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
    def _build(out: Path) -> None:
        cfg = out / "pygeoapi-config.yml"
        cfg.write_text(cfg_text)
        proc = subprocess.run(
            [
                str(SERVERS_PYTHON.parent / "pygeoapi"),
                "openapi",
                "generate",
                str(cfg),
                "--output-file",
                str(out / "openapi.yml"),
            ],  # fmt: skip
            capture_output=True,
            text=True,
            env=server_env({"PYGEOAPI_CONFIG": str(cfg)}),
            timeout=300,  # fmt: skip
        )
        if proc.returncode != 0:
            raise RuntimeError(f"pygeoapi openapi generate failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")

    return cached("pygeoapi-openapi", [cfg_text, PROCESSES], _build) / "openapi.yml"


def prepare(endpoints: dict, ports: dict) -> dict:
    """Build (or find in the cache) every artefact; returns the paths the servers are started with."""
    features = cached("features", geodata.inputs(), geodata.build_features)
    extents = json.loads((features / "extents.json").read_text())
    with ThreadPoolExecutor(max_workers=3) as pool:
        cog = pool.submit(cached, "cog", [geodata.DTM, Path(geodata.__file__)], geodata.build_cog)
        qgs = pool.submit(project.build_project, endpoints, features)
        csw = pool.submit(catalogue.build, endpoints, extents)
        records.write_all(RUN, endpoints, extents)
        jobs = RUN / "pygeoapi-jobs.json"
        outputs = RUN / "pygeoapi-outputs"
        outputs.mkdir(parents=True, exist_ok=True)
        cfg_data = ogcapi.config(endpoints, features, RUN / "records.tinydb.json", jobs, outputs, ports["ogcapi"])
        cfg_text = json.dumps(cfg_data, indent=1, ensure_ascii=False)
        openapi = pool.submit(_openapi, cfg_text)
        cfg_path = RUN / "pygeoapi-config.yml"
        write_atomic(cfg_path, cfg_text)
        result = {
            "features": features,
            "cog": cog.result(),
            "qgs": qgs.result(),
            "csw": csw.result(),
            "pygeoapi_config": cfg_path,
            "openapi": openapi.result(),
            "jobs_db": jobs,
            "outputs": outputs,
            "pdok": RUN / "pdok",
            "logs": LOGS,
        }
    return result
