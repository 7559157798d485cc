#!/usr/bin/env bash
# make run: QGIS desktop with DTFL from this source tree, in an isolated profile (.run-profile/), never the
# person's own QGIS profile. The plugin folder links to the sources, so edits show after a plugin reload.
# With the local sandbox (sandbox/), its endpoints are applied to the profile so the plugin talks to it.
# Extra arguments go to qgis (e.g. `scripts/run.sh --code check.py`); DTFL_RUN_DRY=1 prints the command instead.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd -P)
PY=.venv/bin/python
PROFILES=$ROOT/.run-profile
PROFILE=$PROFILES/profiles/default
QGIS=${QGIS:-$(command -v qgis || true)}

log() { printf '[run] %s\n' "$*"; }

if [[ -z "${DISPLAY:-}" && -z "${WAYLAND_DISPLAY:-}" ]]; then
  log "no display: 'make run' starts the QGIS desktop and needs a graphical session (DISPLAY or WAYLAND_DISPLAY)."
  log "headless alternatives: 'make test', 'make demo', or qgis_process.bin with the zip from 'make package'."
  exit 1
fi
[[ -n "$QGIS" ]] || { log "qgis is not installed (make setup installs it)"; exit 1; }

# Compiled translations, so a Dutch QGIS shows a Dutch plugin.
$PY scripts/i18n.py >/dev/null
# The catalogue snapshot, as `make package` builds it: a first start searches offline instead of an empty index.
$PY scripts/build_snapshot.py || log "no catalogue snapshot: the catalogue starts empty and the dock offers Update"

# QGIS only lists a plugin folder holding metadata.txt, so the packaged layout is rebuilt from symlinks:
# the code stays live (edit, then reload the plugin), and __about__ still resolves assets in the source tree.
mkdir -p "$PROFILE/python/plugins" "$PROFILE/QGIS"
plugin_dir=$PROFILE/python/plugins/dtfl_plugin
rm -rf "$plugin_dir"  # symlinks only: rm does not follow them
mkdir "$plugin_dir"
for item in "$ROOT"/dtfl_plugin/* "$ROOT/metadata.txt" "$ROOT/LICENSE" "$ROOT/resources" "$ROOT/i18n"; do
  [[ -e "$item" && "$(basename "$item")" != __pycache__ ]] && ln -s "$item" "$plugin_dir/"
done

started_sandbox=0
cleanup() {
  if ((started_sandbox)); then
    log "stopping the sandbox"
    $PY -m sandbox stop || log "WARNING: the sandbox did not stop cleanly"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Who started the running sandbox: `start` reuses a healthy one, so ownership is read before and after.
sandbox_owner() { $PY -c 'import json; from sandbox.runner import owner; print(json.dumps(owner(), sort_keys=True))' 2>/dev/null || true; }

endpoints=""
if [[ -f sandbox/__main__.py ]]; then
  before=$(sandbox_owner)
  if $PY -m sandbox start; then
    after=$(sandbox_owner)
    [[ "$after" != "$before" && "$after" != "{}" ]] && started_sandbox=1
    [[ -f .sandbox/endpoints.json ]] && endpoints=$ROOT/.sandbox/endpoints.json
  else
    log "WARNING: the sandbox did not start; using the national endpoints"
  fi
fi

# Settings go through the plugin's own settings module, in the isolated profile's QGIS3.ini.
QT_QPA_PLATFORM=offscreen $PY - "$PROFILE" "$endpoints" <<'PYEOF'
import json
import sys

from qgis.core import QgsApplication, QgsSettings
from qgis.PyQt.QtCore import QCoreApplication, QSettings

# What QGIS's main() does for a profile folder: QgsSettings then write <profile>/QGIS/QGIS3.ini.
QCoreApplication.setOrganizationName("QGIS")
QCoreApplication.setApplicationName("QGIS3")
QSettings.setDefaultFormat(QSettings.Format.IniFormat)
QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, sys.argv[1])
app = QgsApplication([], False)
from dtfl_plugin import settings  # noqa: E402

qs = QgsSettings()
qs.setValue("PythonPlugins/dtfl_plugin", True)
qs.setValue("qgis/checkVersion", False)
if sys.argv[2]:
    with open(sys.argv[2], encoding="utf-8") as fh:
        settings.apply_endpoints(json.load(fh))
    print(f"[run] sandbox endpoints applied: {', '.join(sorted(settings.endpoints()))}")
else:
    settings.reset_endpoints()
    print("[run] using the national endpoints (no sandbox running)")
qs.sync()
print(f"[run] profile settings: {qs.fileName()}")
PYEOF

log "starting QGIS with profile $PROFILES (close QGIS to end)"
# The Makefile exports QT_QPA_PLATFORM=offscreen for the headless targets; the desktop needs a real window.
[[ "${QT_QPA_PLATFORM:-}" == offscreen ]] && unset QT_QPA_PLATFORM
rc=0
${DTFL_RUN_DRY:+echo} "$QGIS" --profiles-path "$PROFILES" --noversioncheck "$@" || rc=$?
exit $rc
