#!/usr/bin/env bash
# The test suite on this machine's QGIS, then on the other supported QGIS versions, each in a cached Debian chroot
# (scripts/chroot.sh): Debian 12 host (QGIS 3.22) -> trixie (3.40) and sid (3.44); Debian 13 host (3.40) ->
# bookworm (3.22) and sid (3.44). Exit non-zero if any run fails.
#
# Usage: scripts/test.sh [--host-only|--other-only] [pytest args...]
# DTFL_OTHER_SUITES="trixie sid" overrides which chroots run.
# The local server sandbox (sandbox/, when present) runs on the host once for all runs: the chroots share
# the loopback network and the project folder (.sandbox/endpoints.json), and the sandbox fixture reuses it.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

mode=all
case "${1:-}" in
  --host-only | --other-only) mode=$1; shift ;;
esac

summary=()
crashes=()
# A test group normally takes 4-6 minutes; one that takes this long has stalled (a deadlock between the GIL and a
# Qt lock cannot be interrupted from Python): it is aborted with SIGABRT, which prints every thread's stack.
export DTFL_GROUP_TIMEOUT=${DTFL_GROUP_TIMEOUT:-900}
rc=0
started_sandbox=0

stop_sandbox() {
  if ((started_sandbox)); then
    echo "[test] stopping the sandbox started for this run"
    $PY -m sandbox stop || echo "[test] WARNING: the sandbox did not stop cleanly"
    started_sandbox=0
  fi
}
trap stop_sandbox EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Who started the running sandbox: `start` reuses a healthy one, so ownership is read before and after;
# a sandbox someone else started is left running.
sandbox_owner() { $PY -c 'import json; from sandbox.runner import owner; print(json.dumps(owner(), sort_keys=True))' 2>/dev/null || true; }

# Before each run: the sandbox may have been stopped in between (e.g. by the test session that started it).
ensure_sandbox() {
  [[ -f sandbox/__main__.py ]] || return 0
  local before after
  before=$(sandbox_owner)
  if $PY -m sandbox start >/dev/null; then
    after=$(sandbox_owner)
    if [[ "$after" != "$before" && "$after" != "{}" ]]; then
      started_sandbox=1
      echo "[test] started the sandbox for this run"
    fi
  else
    echo "[test] WARNING: the sandbox did not start; tests that need it will say so"
  fi
}

# The drawing and recipe-snapshot tests once ran in a process of their own: late in a long session an OGC API
# Features layer drew nothing. Cause found: the layer had been built on a load task's pooled thread, which QGIS
# ends after 30 s idle (now dtfl_plugin/layers/builder.py; tests/test_layers_builder.py). They run with the rest.
# Tests marked `own_process` change process-wide state on purpose (they take numpy, scipy, GDAL, lxml or
# cryptography out of sys.modules to prove the missing-library messages); C extensions such as numpy do not support
# being imported a second time in one process, so these run last, in a process of their own. (The failures once
# blamed on them were the pooled-thread layers above and a nested event loop in net_transfer.py, both fixed.)
# With arguments of your own, pytest runs once, as given.
run_pytest() {  # run_pytest <command prefix...> -- [pytest args]
  local prefix=() r=0
  while [[ $1 != -- ]]; do prefix+=("$1"); shift; done
  shift
  if [[ $# -gt 0 ]]; then
    "${prefix[@]}" "$@" || r=$?
    return $r
  fi
  local group r2
  for group in "not own_process" "own_process"; do
    r2=0
    "${prefix[@]}" -m "$group" || r2=$?
    if ((r2 >= 128 || r2 == 124)); then
      # The process died of a signal (a segfault in a native thread of QGIS) or stalled past DTFL_GROUP_TIMEOUT
      # (exit 124: a deadlock, aborted so that every thread's stack is printed), not a failed assertion: said
      # loudly, kept in the summary, and the group is run once more; a crash or stall that comes back fails the run.
      crashes+=("$(printf '%s: the group "%s" died or stalled (exit %s); run again' "${crash_label:-?}" "$group" "$r2")")
      echo "[test] CRASH: the group \"$group\" died or stalled (exit $r2); running it once more" >&2
      r2=0
      "${prefix[@]}" -m "$group" || r2=$?
    fi
    [[ $r2 -eq 5 ]] && r2=0  # no test in this group
    [[ $r -eq 0 ]] && r=$r2
  done
  return $r
}

record() {  # record <label> <exit code> <seconds>
  summary+=("$(printf '%-64s %s in %ss' "$1" "$([[ $2 -eq 0 ]] && echo passed || echo "FAILED (exit $2)")" "$3")")
  [[ $2 -eq 0 ]] || rc=1
}

if [[ "$mode" != --other-only ]]; then
  host_qgis=$(/usr/bin/python3 -c 'from qgis.core import Qgis; print(Qgis.version())' 2>/dev/null || echo "?")
  label="QGIS $host_qgis (this machine, Debian $(cat /etc/debian_version))"
  ensure_sandbox
  echo "=== $label ==="
  crash_label=$label
  start=$SECONDS r=0
  run_pytest env QT_QPA_PLATFORM=offscreen timeout -s ABRT "$DTFL_GROUP_TIMEOUT" $PY -m pytest -- "$@" || r=$?
  record "$label" $r $((SECONDS - start))
fi

if [[ "$mode" != --host-only ]]; then
  if [[ -n "${DTFL_OTHER_SUITES:-}" ]]; then
    suites=$DTFL_OTHER_SUITES
  else
    case "$(. /etc/os-release && echo "${VERSION_CODENAME:-}")" in
      bookworm) suites="trixie sid" ;;
      trixie) suites="bookworm sid" ;;
      *) suites="bookworm trixie" ;;
    esac
  fi
  for suite in $suites; do
    # chroot.sh builds the chroot when needed and prints its own banner with the chroot's QGIS version.
    ensure_sandbox
    crash_label="QGIS of Debian $suite"
    start=$SECONDS r=0
    run_pytest env DTFL_OTHER_SUITE=$suite scripts/chroot.sh test -- "$@" || r=$?
    label=$(DTFL_OTHER_SUITE=$suite scripts/chroot.sh info 2>/dev/null | sed -n 's/^built: //p')
    record "${label:-QGIS of Debian $suite (chroot not built)}" $r $((SECONDS - start))
  done
fi

stop_sandbox
echo "=== summary ==="
printf '  %s\n' "${summary[@]}"
if ((${#crashes[@]})); then
  echo "=== crashes (each group that died was run once more; see above for where) ==="
  printf '  %s\n' "${crashes[@]}"
fi
exit $rc
