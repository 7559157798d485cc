"""Run records: what ran, on what, with which parameters, by whom, when. Plain data.

One record per algorithm run. The recipe room turns them into RO-Crate CreateActions and
steps/NNN-*.json; prov.py turns them into PROV-JSON.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

HASH_CHUNK = 1024 * 1024


def now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(HASH_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class InputRef:
    role: str  # parameter name, e.g. "DEM"
    kind: str  # "file" or "service"
    location: str  # path or URL
    sha256: str = ""
    size: int = 0
    read_at: str = ""  # for services: when they were read
    version: str = ""  # for services: version/ETag where the service gives one


@dataclass
class OutputRef:
    name: str  # output name, e.g. "OUTPUT_DEPTH"
    location: str
    sha256: str = ""
    size: int = 0


@dataclass
class RunRecord:
    algorithm_id: str  # e.g. "dtfl:bathtub_flooding"
    algorithm_version: str
    parameters: dict = field(default_factory=dict)  # qgis_process JSON-input form values
    inputs: list[InputRef] = field(default_factory=list)
    outputs: list[OutputRef] = field(default_factory=list)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    algorithm_name: str = ""
    started: str = field(default_factory=now_iso)
    ended: str = ""
    user: str = field(default_factory=lambda: _user())
    qgis_version: str = ""
    status: str = "completed"  # completed | failed | cancelled
    error: str = ""
    job_url: str = ""  # remote runs: the server's job URL
    server_url: str = ""
    area: dict | None = None  # {"bbox": [xmin, ymin, xmax, ymax], "crs": "EPSG:28992"} when the run had one
    cooked_from: str = ""  # recipe id this run was re-cooked from

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> RunRecord:
        data = dict(data)
        data["inputs"] = [InputRef(**i) for i in data.get("inputs", [])]
        data["outputs"] = [OutputRef(**o) for o in data.get("outputs", [])]
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


def file_input(role: str, path: str | Path) -> InputRef:
    p = Path(path)
    return InputRef(role=role, kind="file", location=str(p), sha256=sha256_file(p), size=p.stat().st_size)


def service_input(role: str, url: str, version: str = "") -> InputRef:
    return InputRef(role=role, kind="service", location=url, read_at=now_iso(), version=version)


def file_output(name: str, path: str | Path) -> OutputRef:
    p = Path(path)
    if p.is_file():
        return OutputRef(name=name, location=str(p), sha256=sha256_file(p), size=p.stat().st_size)
    return OutputRef(name=name, location=str(path))


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "")
