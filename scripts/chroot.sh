#!/usr/bin/env bash
# The other Debian release's QGIS, on this machine: a debootstrap chroot cached outside the repository.
#   Debian 12 host (QGIS 3.22) -> trixie chroot (QGIS 3.40);  Debian 13 host (QGIS 3.40) -> bookworm (QGIS 3.22).
#
# Usage: scripts/chroot.sh build              build or refresh the chroot (idempotent, stamped)
#        scripts/chroot.sh test [pytest args]  build if needed, then run the test suite inside
#        scripts/chroot.sh run CMD [ARGS...]   run a command inside, project mounted (e.g. qgis_process.bin list)
#        scripts/chroot.sh shell | info | clean
# Environment: DTFL_OTHER_SUITE (override the suite), DTFL_CHROOT_CACHE (cache folder),
#              DTFL_MIRROR (Debian mirror; default: the one apt on this host uses).
#
# Layout: ${XDG_CACHE_HOME:-~/.cache}/dtfl/<suite>-root. Stamps: <root>/var/lib/dtfl/packages.stamp (hash of
# suite + apt sources + package list, written only after a complete install) and /opt/dtfl-venv/.requirements.sha256
# (the chroot's own venv, never the project's .venv, which belongs to the host's Python).
# Mounts (project and ../shared at the same absolute paths, proc, sys, dev, dev/pts) live in a private mount
# namespace (unshare), so they vanish when this script ends however it ends; a trap unmounts them as well.
set -euo pipefail
cd "$(dirname "$0")/.."
PROJECT=$(pwd -P)
SHARED=$(cd .. && pwd -P)/shared
VENV=/opt/dtfl-venv
EXTRA_PACKAGES=(python3-venv ca-certificates)
SKIP_PACKAGES=" debootstrap "   # host tools only

log() { printf '[chroot] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

host_codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
case "${DTFL_OTHER_SUITE:-$host_codename}" in
  bookworm) SUITE=${DTFL_OTHER_SUITE:-trixie} ;;
  trixie) SUITE=${DTFL_OTHER_SUITE:-bookworm} ;;
  *) SUITE=${DTFL_OTHER_SUITE:-} ;;
esac
[[ -n "$SUITE" ]] || die "host is '$host_codename', not Debian 12/13: set DTFL_OTHER_SUITE=bookworm|trixie"
[[ "$SUITE" != "$host_codename" ]] || log "note: the chroot has the same release as the host ($SUITE)"

CACHE=${DTFL_CHROOT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dtfl}
ROOTFS=$CACHE/$SUITE-root
STAMP=$ROOTFS/var/lib/dtfl/packages.stamp

# chroot, mount and debootstrap need root; the tests inside still run as the calling user.
if [[ $(id -u) -ne 0 ]]; then
  exec sudo --preserve-env=DTFL_OTHER_SUITE,DTFL_MIRROR,PYTEST_ADDOPTS \
    DTFL_CHROOT_CACHE="$CACHE" DTFL_RUN_AS="$(id -u):$(id -g)" "$0" "$@"
fi
RUN_AS=${DTFL_RUN_AS:-}

cmd=${1:-test}
[[ $# -gt 0 ]] && shift

# --- a private mount namespace: every mount below disappears with this process ---
if [[ -z "${DTFL_CHROOT_NS:-}" && "$cmd" != info && "$cmd" != clean ]]; then
  if unshare --mount --propagation private true 2>/dev/null; then
    DTFL_CHROOT_NS=1 exec unshare --mount --propagation private "$0" "$cmd" "$@"
  fi
  log "unshare unavailable: mounting in the global namespace (unmounted on exit by a trap)"
fi

# --- which Debian mirror apt on this host uses (deb822 .sources first, then sources.list) ---
host_mirror() {
  local f uri="" sec=""
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" ]] || continue
    # blank-line separated stanzas: take URIs of a stanza whose Suites include the host codename
    while IFS=$'\t' read -r uris suites; do
      for s in $suites; do
        [[ "$s" == "$host_codename" && -z "$uri" ]] && uri=${uris%% *}
        [[ "$s" == "$host_codename-security" && -z "$sec" ]] && sec=${uris%% *}
      done
    done < <(awk 'BEGIN{RS="";FS="\n"} /(^|\n)Types:[^\n]*deb([ \t\n]|$)/ {u="";s="";
               for(i=1;i<=NF;i++){ if($i ~ /^URIs:/){sub(/^URIs:[ \t]*/,"",$i);u=$i} if($i ~ /^Suites:/){sub(/^Suites:[ \t]*/,"",$i);s=$i} }
               if(u!="")print u "\t" s}' "$f")
  done
  if [[ -z "$uri" ]]; then
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [[ -f "$f" ]] || continue
      uri=$(sed -E 's/\[[^]]*\]//' "$f" | awk -v c="$host_codename" '$1 == "deb" && $3 == c {print $2; exit}')
      [[ -n "$uri" ]] && break
    done
  fi
  printf '%s\t%s\n' "${uri:-http://deb.debian.org/debian}" "${sec}"
}
IFS=$'\t' read -r MIRROR SECURITY_MIRROR < <(host_mirror)
MIRROR=${DTFL_MIRROR:-$MIRROR}
# Snapshot-style mirrors pin a date; the security archive's path differs: derive it only from what the host uses.
# Debian unstable (QGIS 3.44) has no -updates or -security suites.
sources_list() {
  printf 'deb %s %s main\n' "$MIRROR" "$SUITE"
  [[ "$SUITE" == sid || "$SUITE" == unstable ]] && return 0
  printf 'deb %s %s-updates main\n' "$MIRROR" "$SUITE"
  [[ -n "$SECURITY_MIRROR" ]] && printf 'deb %s %s-security main\n' "$SECURITY_MIRROR" "$SUITE"
  return 0
}

# --- mounts ---
MOUNTED=()
cleanup() {
  local i
  for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do
    umount "${MOUNTED[i]}" 2>/dev/null || umount -l "${MOUNTED[i]}" 2>/dev/null || log "could not unmount ${MOUNTED[i]}"
  done
  MOUNTED=()
}
# A signal must not wait for the command inside to finish: commands run in the background and are waited for
# (bash runs traps only between commands), and the signal is passed on before unmounting.
CHILD=""
on_signal() {
  local sig=$1 code=$2
  if [[ -n "$CHILD" ]]; then
    kill -"$sig" "$CHILD" 2>/dev/null || true
    wait "$CHILD" 2>/dev/null || true
  fi
  exit "$code"
}
trap cleanup EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM

do_mount() {  # do_mount <mount args...> <target>
  local target=${*: -1}
  mkdir -p "$target"
  mount "$@"
  MOUNTED+=("$target")
}

mount_all() {
  [[ ${#MOUNTED[@]} -eq 0 ]] || return 0
  do_mount -t proc proc "$ROOTFS/proc"
  do_mount -t sysfs sysfs "$ROOTFS/sys"
  do_mount --bind /dev "$ROOTFS/dev"
  do_mount --bind /dev/pts "$ROOTFS/dev/pts"
  # POSIX shared memory and semaphores (multiprocessing, Qt) live on /dev/shm, its own mount on the host.
  mountpoint -q /dev/shm && do_mount --bind /dev/shm "$ROOTFS/dev/shm"
  do_mount --bind "$PROJECT" "$ROOTFS$PROJECT"
  if [[ -d "$SHARED" ]]; then
    do_mount --bind "$SHARED" "$ROOTFS$SHARED"
    mount -o remount,bind,ro "$ROOTFS$SHARED" 2>/dev/null || true  # read-only where the kernel allows it
  fi
}

mounts_under_rootfs() { awk -v r="$ROOTFS" 'index($2, r) == 1 {print $2}' /proc/mounts; }

# --- build ---
# debootstrap removes <root>/debootstrap only when it finished successfully.
base_complete() { [[ -x "$ROOTFS/usr/bin/apt-get" && ! -e "$ROOTFS/debootstrap" ]]; }

wait_for_foreign_debootstrap() {
  # Someone else (e.g. a first set-up started by hand) may be bootstrapping this very folder: wait for it.
  while pgrep -f "debootstrap.* $ROOTFS( |$)" >/dev/null 2>&1; do
    log "another debootstrap is building $ROOTFS; waiting for it to finish"
    sleep 15
  done
}

build_base() {
  wait_for_foreign_debootstrap
  base_complete && return 0
  command -v debootstrap >/dev/null || die "debootstrap is missing (make setup installs it)"
  [[ -z "$(mounts_under_rootfs)" ]] || die "something is mounted under $ROOTFS; refusing to touch it"
  local partial=$ROOTFS.partial
  rm -rf --one-file-system "$partial"
  if [[ -e "$ROOTFS" ]]; then
    log "removing the incomplete chroot $ROOTFS"
    rm -rf --one-file-system "$ROOTFS"
  fi
  log "debootstrap $SUITE from $MIRROR into $ROOTFS (about a minute)"
  mkdir -p "$CACHE"
  debootstrap --variant=minbase "$SUITE" "$partial" "$MIRROR" >"$CACHE/$SUITE-debootstrap.log" 2>&1 ||
    die "debootstrap failed; see $CACHE/$SUITE-debootstrap.log"
  mv "$partial" "$ROOTFS"
}

configure() {
  cp -L /etc/resolv.conf "$ROOTFS/etc/resolv.conf"
  # Packages must not start services inside the chroot.
  printf '#!/bin/sh\nexit 101\n' >"$ROOTFS/usr/sbin/policy-rc.d"
  chmod 0755 "$ROOTFS/usr/sbin/policy-rc.d"
  # A mirror that pins a date serves unstable's Release file past its Valid-Until (a week): accept it there only.
  if [[ "$SUITE" == sid || "$SUITE" == unstable ]]; then
    echo 'Acquire::Check-Valid-Until "false";' >"$ROOTFS/etc/apt/apt.conf.d/99dtfl-snapshot"
  fi
  local want; want=$(sources_list)
  if [[ "$(cat "$ROOTFS/etc/apt/sources.list" 2>/dev/null)" != "$want" ]]; then
    printf '%s\n' "$want" >"$ROOTFS/etc/apt/sources.list"
  fi
}

wanted_packages() {
  local pkg
  while read -r pkg; do
    pkg=${pkg%%#*}; pkg=${pkg//[[:space:]]/}
    [[ -z "$pkg" || "$SKIP_PACKAGES" == *" $pkg "* ]] && continue
    echo "$pkg"
  done <requirements/apt.txt
  printf '%s\n' "${EXTRA_PACKAGES[@]}"
}

in_root() { chroot "$ROOTFS" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }

build_packages() {
  local want; want=$( { echo "$SUITE"; sources_list; wanted_packages | sort -u; } | sha256sum | cut -c1-64)
  [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]] && return 0
  log "installing Debian packages into the $SUITE chroot"
  in_root apt-get -q -o DPkg::Lock::Timeout=600 update >"$CACHE/$SUITE-apt.log" 2>&1 ||
    die "apt-get update failed in the chroot (mirror $MIRROR); see $CACHE/$SUITE-apt.log"
  local available=() missing=() pkg
  while read -r pkg; do
    if in_root apt-cache show --no-all-versions "$pkg" >/dev/null 2>&1; then available+=("$pkg"); else missing+=("$pkg"); fi
  done < <(wanted_packages | sort -u)
  ((${#missing[@]})) && log "not in $SUITE, skipped: ${missing[*]}"
  in_root apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 "${available[@]}" >>"$CACHE/$SUITE-apt.log" 2>&1 ||
    die "apt-get install failed in the chroot; see $CACHE/$SUITE-apt.log"
  in_root apt-get clean
  mkdir -p "$(dirname "$STAMP")"
  echo "$want" >"$STAMP.tmp" && mv "$STAMP.tmp" "$STAMP"
}

# The certificate authorities this machine trusts locally (e.g. a network's TLS proxy) are trusted inside too:
# the chroot is this machine, seen through another Debian release.
sync_local_cas() {
  local src=/usr/local/share/ca-certificates dst=$ROOTFS/usr/local/share/ca-certificates
  [[ -d "$src" ]] || return 0
  diff -rq "$src" "$dst" >/dev/null 2>&1 && return 0
  [[ -x "$ROOTFS/usr/sbin/update-ca-certificates" ]] || return 0
  log "trusting this host's local certificate authorities inside the chroot"
  rm -rf "$dst" && cp -a "$src" "$dst"
  in_root update-ca-certificates --fresh >/dev/null 2>&1 || die "update-ca-certificates failed in the chroot"
}

build_venv() {
  local pyver want stamp=$ROOTFS$VENV/.requirements.sha256
  pyver=$(in_root /usr/bin/python3 -c 'import sys; print(sys.version)')
  want=$( { echo "$pyver"; cat requirements/test.txt; } | sha256sum | cut -c1-64)
  [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$ROOTFS$VENV/bin/python" ]] && return 0
  log "preparing $VENV inside the chroot from requirements/test.txt"
  [[ -x "$ROOTFS$VENV/bin/python" ]] || in_root /usr/bin/python3 -m venv --system-site-packages "$VENV"
  # pip's own certificate bundle knows nothing of local authorities: point it at the system's.
  in_root PIP_CERT=/etc/ssl/certs/ca-certificates.crt "$VENV/bin/pip" install -q --disable-pip-version-check \
    -r "$PROJECT/requirements/test.txt" ||
    die "pip install failed inside the chroot"
  echo "$want" >"$stamp.tmp" && mv "$stamp.tmp" "$stamp"
}

# The RO-Crate conformance checker (tests only) for this release's Python, beside the test venv.
build_validator_venv() {
  local dir=/opt/dtfl-validator want stamp
  stamp=$ROOTFS$dir/.requirements.sha256
  want=$( { in_root /usr/bin/python3 -c 'import sys; print(sys.version)'; cat requirements/validator.txt; } | sha256sum | cut -c1-64)
  [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$ROOTFS$dir/bin/python" ]] && return 0
  log "preparing $dir inside the chroot from requirements/validator.txt"
  [[ -x "$ROOTFS$dir/bin/python" ]] || in_root /usr/bin/python3 -m venv "$dir"
  in_root PIP_CERT=/etc/ssl/certs/ca-certificates.crt "$dir/bin/pip" install -q --disable-pip-version-check \
    -r "$PROJECT/requirements/validator.txt" || { log "the RO-Crate validator did not install; its tests will skip"; return 0; }
  echo "$want" >"$stamp.tmp" && mv "$stamp.tmp" "$stamp"
}

build() {
  mkdir -p "$CACHE"
  exec 9>"$CACHE/$SUITE-root.lock"
  flock -x 9  # one builder at a time; runs hold a shared lock so nobody rebuilds under them
  build_base
  configure
  mount_all
  build_packages
  sync_local_cas
  build_venv
  build_validator_venv
  flock -s 9
}

qgis_banner() {
  local qv deb
  qv=$(in_root /usr/bin/python3 -c 'from qgis.core import Qgis; print(Qgis.version())' 2>/dev/null || echo "?")
  deb=$(cat "$ROOTFS/etc/debian_version")
  echo "QGIS $qv (Debian $deb chroot, Python $(in_root /usr/bin/python3 -c 'import platform; print(platform.python_version())'))"
}

# Run as the calling user inside, with the same environment the host suite gets.
run_inside() {
  local uid=0 home=/root userspec=()
  if [[ -n "$RUN_AS" && "${RUN_AS%%:*}" != 0 ]]; then
    uid=${RUN_AS%%:*}
    home=/var/tmp/dtfl-home-$uid
    userspec=(--userspec="$RUN_AS")
  fi
  mkdir -p "$ROOTFS$home" "$ROOTFS/var/tmp/dtfl-tmp-$uid" "$ROOTFS/tmp/runtime-$uid"
  [[ $uid != 0 ]] && chown "$RUN_AS" "$ROOTFS$home" "$ROOTFS/var/tmp/dtfl-tmp-$uid" "$ROOTFS/tmp/runtime-$uid"
  chmod 0700 "$ROOTFS/tmp/runtime-$uid"
  local pass=() var
  for var in $(compgen -e); do
    [[ "$var" == DTFL_* && "$var" != DTFL_CHROOT_* && "$var" != DTFL_RUN_AS || "$var" == PYTEST_ADDOPTS ]] && pass+=("$var=${!var}")
  done
  local inside=(chroot "${userspec[@]}" "$ROOTFS" /usr/bin/env -i
    HOME="$home" PATH="$VENV/bin:/usr/sbin:/usr/bin:/sbin:/bin" LANG=C.UTF-8 LC_ALL=C.UTF-8
    QT_QPA_PLATFORM=offscreen XDG_RUNTIME_DIR="/tmp/runtime-$uid" TMPDIR="/var/tmp/dtfl-tmp-$uid"
    PYTHONPYCACHEPREFIX="/var/tmp/dtfl-pycache-$uid" DTFL_QGIS_CHROOT="$SUITE" DTFL_VALIDATOR_VENV=/opt/dtfl-validator "${pass[@]}"
    /bin/sh -c 'cd "$0" && exec "$@"' "$PROJECT" "$@")
  if [[ -n "${DTFL_INTERACTIVE:-}" ]]; then
    "${inside[@]}" 9>&-  # a shell needs the terminal in the foreground
    return
  fi
  local r=0
  # fd 9 is the chroot lock: only this script holds it, not what runs inside (it could outlive us).
  "${inside[@]}" <&0 9>&- &
  CHILD=$!
  wait "$CHILD" || r=$?
  CHILD=""
  return $r
}

case "$cmd" in
  build)
    build
    log "ready: $(qgis_banner) at $ROOTFS"
    ;;
  test)
    build
    banner=$(qgis_banner)
    echo "=== $banner ==="
    rc=0
    # Own pytest temp folder inside the chroot: nothing shared with the host run. Removed afterwards (a run leaves
    # ~3.4 GB there: the 1 GB download tests), and so are those of earlier runs whose script no longer runs.
    for old in "$ROOTFS"/var/tmp/dtfl-pytest-*; do
      [[ -d $old ]] && ! kill -0 "${old##*-}" 2>/dev/null && rm -rf "$old"
    done
    # DTFL_GROUP_TIMEOUT (seconds, set by scripts/test.sh): a run that stalls is aborted with SIGABRT, so Python's
    # fault handler prints every thread's stack (a deadlock on the GIL is beyond pytest-timeout's reach).
    stall=()
    [[ -n ${DTFL_GROUP_TIMEOUT:-} ]] && stall=(/usr/bin/timeout -s ABRT "$DTFL_GROUP_TIMEOUT")
    run_inside "${stall[@]}" "$VENV/bin/python" -m pytest --basetemp="/var/tmp/dtfl-pytest-$$" "$@" || rc=$?
    [[ -n ${DTFL_KEEP_TMP:-} ]] || rm -rf "$ROOTFS/var/tmp/dtfl-pytest-$$"
    echo "=== end of $banner: $([[ $rc -eq 0 ]] && echo passed || echo "FAILED (exit $rc)") ==="
    exit $rc
    ;;
  run)
    [[ $# -gt 0 ]] || die "usage: scripts/chroot.sh run CMD [ARGS...]"
    build
    run_inside "$@"
    ;;
  shell)
    build
    echo "=== $(qgis_banner) — exit the shell to unmount ==="
    DTFL_INTERACTIVE=1 run_inside /bin/bash -i
    ;;
  info)
    echo "host: $host_codename, other: $SUITE, root: $ROOTFS, mirror: $MIRROR ${SECURITY_MIRROR:+(security: $SECURITY_MIRROR)}"
    if base_complete && [[ -f "$STAMP" ]]; then echo "built: $(qgis_banner)"; else echo "not built yet"; fi
    ;;
  clean)
    [[ -z "$(mounts_under_rootfs)" ]] || die "something is mounted under $ROOTFS (a run in progress?)"
    rm -rf --one-file-system "$ROOTFS" "$ROOTFS.partial" && log "removed $ROOTFS"
    ;;
  *)
    sed -n '2,12p' "$0" >&2
    exit 2
    ;;
esac
