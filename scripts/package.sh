#!/usr/bin/env bash
# Build dist/dtfl_plugin.zip: the plugin as the QGIS plugin repository and "Install from ZIP" expect it.
#   dtfl_plugin/            package code (no tests, no caches)
#   dtfl_plugin/metadata.txt, LICENSE, resources/, i18n/*.qm (compiled here, never the .ts/.json sources)
# Deterministic (sorted entries, fixed timestamps = last commit time or SOURCE_DATE_EPOCH, fixed modes) and
# atomic (built in a temp file, then moved into place), so the same tree always gives the same bytes.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=.venv/bin/python
[[ -x $PY ]] || PY=/usr/bin/python3
OUT=${1:-dist/dtfl_plugin.zip}

log() { printf '[package] %s\n' "$*"; }

# Compiled translations are part of the package; build them from the current sources.
"$PY" scripts/i18n.py >/dev/null || { log "scripts/i18n.py failed"; exit 1; }
compgen -G "i18n/*.qm" >/dev/null || { log "no compiled translations in i18n/"; exit 1; }

: "${SOURCE_DATE_EPOCH:=$(git log -1 --format=%ct 2>/dev/null || echo 315532800)}"
export SOURCE_DATE_EPOCH
"$PY" scripts/build_snapshot.py || log "no catalogue snapshot: the index starts empty"  # catalogue (engineer C)
mkdir -p "$(dirname "$OUT")"
tmp=$(mktemp "$(dirname "$OUT")/.dtfl_plugin.zip.XXXXXX")
trap 'rm -f "$tmp"' EXIT

"$PY" - "$ROOT" "$tmp" <<'PYEOF'
import os
import sys
import time
import zipfile
from pathlib import Path

root, out = Path(sys.argv[1]), sys.argv[2]
top = "dtfl_plugin"
# ZIP has no time zone and starts in 1980.
stamp = time.gmtime(max(int(os.environ["SOURCE_DATE_EPOCH"]), 315532800))[:6]
skip_dirs = {"__pycache__", "tests", "test", ".pytest_cache", ".ruff_cache"}
skip_suffixes = (".pyc", ".pyo", ".orig", ".rej", ".swp", "~")


def package_files():
    for path in sorted((root / top).rglob("*")):
        rel = path.relative_to(root / top)
        if path.is_dir() or skip_dirs.intersection(rel.parts) or path.name.endswith(skip_suffixes):
            continue
        if path.name.startswith("test_") and path.suffix == ".py":
            continue
        yield f"{top}/{rel.as_posix()}", path
    yield f"{top}/metadata.txt", root / "metadata.txt"
    yield f"{top}/LICENSE", root / "LICENSE"
    for path in sorted((root / "resources").rglob("*")):
        if path.is_file() and not path.name.endswith(skip_suffixes):
            yield f"{top}/resources/{path.relative_to(root / 'resources').as_posix()}", path
    for path in sorted((root / "i18n").glob("*.qm")):
        yield f"{top}/i18n/{path.name}", path


entries = sorted(package_files())
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
    dirs = sorted({name.rsplit("/", i)[0] + "/" for name, _ in entries for i in range(1, name.count("/") + 1)})
    for name in dirs:
        info = zipfile.ZipInfo(name, stamp)
        info.external_attr = (0o40755 << 16) | 0x10
        info.create_system = 3
        zf.writestr(info, b"")
    for name, path in entries:
        info = zipfile.ZipInfo(name, stamp)
        info.external_attr = 0o100644 << 16
        info.create_system = 3
        info.compress_type = zipfile.ZIP_DEFLATED
        zf.writestr(info, path.read_bytes(), compresslevel=9)
print(f"{len(entries)} files")
PYEOF
chmod 0644 "$tmp"
mv -f "$tmp" "$OUT"
trap - EXIT
log "wrote $OUT: $(unzip -Z1 "$OUT" | grep -vc '/$') files, $(stat -c %s "$OUT") bytes, sha256 $(sha256sum "$OUT" | cut -c1-16)…"
