#!/usr/bin/env bash
# Install what this project needs on a Debian 12/13 machine. Safe to run again: each step
# checks first and does nothing when the machine already has it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

log() { printf '[setup] %s\n' "$*"; }

# --- Debian packages ---
missing=()
while read -r pkg; do
  [[ -z "$pkg" || "$pkg" == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done < requirements/apt.txt
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  mkdir -p build
  # Quiet when it works; the full apt output when it does not.
  if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
    --no-install-recommends "${missing[@]}"; } >build/setup-apt.log 2>&1; then
    tail -n 30 build/setup-apt.log >&2
    log "apt-get failed (full log: build/setup-apt.log)"
    exit 1
  fi
fi

# --- virtual environments: <file in requirements/> -> <venv>; a stamp holds the file's hash ---
make_venv() {
  local venv=$1 req=$2 flags=$3
  local stamp="$venv/.requirements.sha256"
  local want; want=$(sha256sum "$req" | cut -c1-64)
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$venv/bin/python" ]]; then
    return 0
  fi
  log "preparing $venv from $req"
  [[ -x "$venv/bin/python" ]] || /usr/bin/python3 -m venv $flags "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$req"
  echo "$want" > "$stamp"
}

make_venv .venv requirements/test.txt --system-site-packages
[[ -f requirements/servers.txt ]] && make_venv .venv-servers requirements/servers.txt --system-site-packages
[[ -f requirements/validator.txt ]] && make_venv .venv-validator requirements/validator.txt ""
log "ready ($ROOT)"
