#!/usr/bin/env python3
"""Write tests/qgis4_removed_names.txt: the QGIS 3 spellings that QGIS 4 removed, read off a real QGIS 3.x.

QGIS 3.x keeps each old enum spelling as an alias it monkey-patches onto the class
(``QgsWkbTypes.PolygonGeometry.is_monkey_patched = True`` and ``QgsWkbTypes.Type = Qgis.WkbType``, in its generated
qgis/<module>/__init__.py); QGIS 4 drops them. The newer the QGIS this runs in, the longer the list: run it in the
QGIS 3.44 chroot (``DTFL_OTHER_SUITE=sid scripts/chroot.sh run /usr/bin/python3 scripts/qgis4_removed_names.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qgis.core import Qgis  # noqa: E402

from tests.qt6_scan import REMOVED_NAMES_FILE, running_qgis_monkey_patched  # noqa: E402


def main() -> int:
    names = running_qgis_monkey_patched()
    if not names:
        print("this QGIS has no monkey-patched QGIS 3 aliases (too old?): nothing written", file=sys.stderr)
        return 1
    header = [
        "# QGIS 3 spellings removed in QGIS 4: aliases monkey-patched by QGIS 3.x onto its classes.",
        f"# Read off QGIS {Qgis.version()} by scripts/qgis4_removed_names.py; do not edit by hand.",
    ]
    REMOVED_NAMES_FILE.write_text("\n".join(header + sorted(f"{o}.{a}" for o, a in names)) + "\n", encoding="utf-8")
    print(f"{len(names)} names from QGIS {Qgis.version()} -> {REMOVED_NAMES_FILE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
