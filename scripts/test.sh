#!/usr/bin/env bash
# Run the suite on this machine's QGIS; then (unless --host-only) on the other Debian release's
# QGIS inside a cached chroot (scripts/chroot.sh). Exit non-zero if either fails.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-all}
rc=0
if [[ "$mode" != "--other-only" ]]; then
  echo "=== QGIS $(/usr/bin/python3 -c 'from qgis.core import Qgis; print(Qgis.version())' 2>/dev/null) (this machine) ==="
  QT_QPA_PLATFORM=offscreen .venv/bin/python -m pytest || rc=$?
fi
if [[ "$mode" != "--host-only" && -x scripts/chroot.sh ]]; then
  scripts/chroot.sh test || rc=$?
fi
exit $rc
