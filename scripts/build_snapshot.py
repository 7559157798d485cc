#!/usr/bin/env python3
"""Build dtfl_plugin/catalogue/data/snapshot.json.gz: the catalogue a fresh install searches offline.

Sources: the real PDOK layer list (both shapes) and the real NGR records (ISO 19139 and OGC API -
Records) in ../shared/data/catalogue (or $DTFL_SHARED_DATA/catalogue). Entries keep the names of the
default harvest sources (pdok-layers, ngr-csw) so the first real harvest diffs against them.
Deterministic: the build time is SOURCE_DATE_EPOCH when set (as scripts/package.sh sets it).

    .venv/bin/python scripts/build_snapshot.py [output]
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv: list[str]) -> int:
    from dtfl_plugin.catalogue.snapshot import SNAPSHOT, write_snapshot
    from dtfl_plugin.catalogue.sources.base import SourceResult
    from dtfl_plugin.catalogue.sources.iso19139 import find_records, merge, parse_record, to_entries
    from dtfl_plugin.catalogue.sources.ogcapi_records import add_records, features_of
    from dtfl_plugin.catalogue.sources.pdok_layers import parse_layer_list
    from dtfl_plugin.catalogue.xmlsafe import parse
    from dtfl_plugin.errors import CatalogueError

    data = Path(os.environ.get("DTFL_SHARED_DATA", ROOT.parent / "shared" / "data")) / "catalogue"
    out = Path(argv[0]) if argv else SNAPSHOT
    if not data.is_dir():
        print(f"[snapshot] {data} is absent: no snapshot built (the index starts empty and says so)", file=sys.stderr)
        return 1
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", datetime.now(timezone.utc).timestamp()))
    built = datetime.fromtimestamp(epoch, timezone.utc).replace(microsecond=0).isoformat()

    pdok = []
    for path in sorted((data / "pdok-layers").glob("*.json")):
        pdok.extend(parse_layer_list(json.loads(path.read_text("utf-8")), "pdok-layers").entries)

    ngr = SourceResult()
    for path in sorted((data / "iso19139").glob("*.xml")):
        try:
            for md in find_records(parse(path.read_bytes(), path.name)):
                ngr.entries.extend(to_entries(parse_record(md), "ngr-csw"))
        except (CatalogueError, ValueError) as err:
            print(f"[snapshot] skipped {path.name}: {err}", file=sys.stderr)
    for path in sorted((data / "ogcapi-records").glob("*.json")):
        add_records(features_of(json.loads(path.read_text("utf-8"))), ngr, "ngr-csw")
    groups = {
        "pdok-layers": {"kind": "pdok-layers", "url": "", "entries": pdok},
        "ngr-csw": {"kind": "csw", "url": "", "entries": merge(ngr.entries)},
    }
    for group in groups.values():
        for entry in group["entries"]:
            entry.harvested_at = built
    write_snapshot(groups, out, built=built)
    total = sum(len(g["entries"]) for g in groups.values())
    print(f"[snapshot] {out}: {total} entries ({len(pdok)} PDOK layers, {len(groups['ngr-csw']['entries'])} NGR)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
