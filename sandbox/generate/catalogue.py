"""pycsw (CSW 2.0.2) configuration and its SQLite repository: NGR's real ISO 19139 records + generated ones."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from ..paths import LOGS, SERVERS_VENV, SHARED_DATA, cached
from .iso import all_records

NGR_RECORDS = SHARED_DATA / "catalogue" / "iso19139"

_CFG = """[server]
home={home}
url={url}
mimetype=application/xml; charset=UTF-8
encoding=UTF-8
language=nl-NL
maxrecords=100
loglevel=WARNING
logfile={logfile}
pretty_print=true
federatedcatalogues=
profiles=apiso

[manager]
transactions=false
allowed_ips=127.0.0.1

[metadata:main]
identification_title=DTFL sandbox catalogus (CSW 2.0.2)
identification_abstract=Lokale stand-in voor het Nationaal Georegister: echte NGR-records en records van de sandbox-diensten.
identification_keywords=catalogus,metadata,NGR,sandbox
identification_keywords_type=theme
identification_fees=None
identification_accessconstraints=None
provider_name=Kadaster (sandbox)
provider_url=https://www.nationaalgeoregister.nl
contact_name=Beheer PDOK (sandbox)
contact_position=beheer
contact_address=Hofstraat 110
contact_city=Apeldoorn
contact_stateorprovince=Gelderland
contact_postalcode=7311 KZ
contact_country=Nederland
contact_phone=+31 88 183 2000
contact_fax=
contact_email=beheerpdok@kadaster.nl
contact_url=https://www.pdok.nl
contact_hours=
contact_instructions=
contact_role=pointOfContact

[repository]
database=sqlite:///{db}
table=records

[metadata:inspire]
enabled=false
languages_supported=dut,eng
default_language=dut
date=2026-01-15
gemet_keywords=Utility and governmental services
conformity_service=notEvaluated
contact_name=Kadaster
contact_email=beheerpdok@kadaster.nl
temp_extent=2016-01-01/2026-01-15
"""


def _admin(cfg: Path, *args: str) -> None:
    env = dict(os.environ, PROJ_DATA="/usr/share/proj")
    proc = subprocess.run([str(SERVERS_VENV / "bin" / "python"), str(SERVERS_VENV / "bin" / "pycsw-admin.py"),
                           "-f", str(cfg), *args], capture_output=True, text=True, env=env, timeout=300)  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"pycsw-admin.py {' '.join(args)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")


def build(template: dict, extents: dict) -> Path:
    """Cached folder with records.db built for the TEMPLATE endpoints (see sandbox.artefacts)."""
    records = all_records(template, extents)
    ngr = sorted(NGR_RECORDS.glob("*.xml"))
    joined = "".join(records[k] for k in sorted(records))

    def _build(out: Path) -> None:
        folder = out / "records"
        folder.mkdir()
        for path in ngr:  # link, never copy, the shared NGR records
            (folder / path.name).symlink_to(path)
        for uid, xml in records.items():
            (folder / f"sandbox-{uid}.xml").write_text(xml, encoding="utf-8")
        cfg = out / "build.cfg"
        cfg.write_text(
            _CFG.format(home=out, url=template["csw"], logfile=LOGS / "pycsw-admin.log", db=out / "records.db")
        )
        _admin(cfg, "-c", "setup_db")
        _admin(cfg, "-c", "load_records", "-p", str(folder))

    return cached("pycsw", [joined, NGR_RECORDS, Path(__file__), Path(__file__).with_name("iso.py")], _build)


def materialise(template_folder: Path, run: Path, subst: dict[str, str], csw_url: str) -> Path:
    """pycsw.cfg + a copy of the cached records.db whose URLs point at the real endpoints (SQL replace)."""
    run.mkdir(parents=True, exist_ok=True)
    db = run / "records.db"
    tmp = run / ".records.db.tmp"
    shutil.copyfile(template_folder / "records.db", tmp)
    con = sqlite3.connect(tmp)
    try:
        cols = [
            r[1]
            for r in con.execute("PRAGMA table_info(records)")
            if any(t in (r[2] or "").upper() for t in ("TEXT", "CHAR"))
        ]
        for old, new in subst.items():
            sets = ", ".join(f'"{c}" = replace("{c}", ?, ?)' for c in cols)
            con.execute(f"UPDATE records SET {sets}", [v for _ in cols for v in (old, new)])
        con.commit()
    finally:
        con.close()
    os.replace(tmp, db)
    cfg = run / "pycsw.cfg"
    cfg.write_text(_CFG.format(home=run, url=csw_url, logfile=LOGS / "csw-app.log", db=db))
    return run
