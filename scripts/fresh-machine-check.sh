#!/usr/bin/env bash
# Prove the README's two commands on a fresh clone: `git clone` this repository into a temporary folder,
# run `make run`, then `make test` there, and report how long each step took (the "== step" lines the
# set-up and job scripts print), into docs/results/fresh-machine.md of THIS checkout.
#
# Usage: scripts/fresh-machine-check.sh [--purge] [--cold-images] [--skip-run] [--skip-test] [--keep]
#   --purge        make this machine new for what the set-up installs (root): stop dockerd, then
#                  `apt-get purge` docker.io, containerd, runc, chromium, chromium-driver, libfuse2, debootstrap and the PostgreSQL
#                  server packages. A Docker client binary on PATH (as a new machine has) is left alone.
#                  Debian's docker.io removes /var/lib/docker when purged: every image (the base image
#                  included) is then built from nothing, as on a new machine.
#   --cold-images  accepted for older callers: with --purge, images are always cold.
#   --skip-run / --skip-test   run only one of the two commands.
#   --keep         keep the temporary clone (default: removed at the end).
# The clone gets an empty HOME (no pip, Hugging Face, ONNX or embedding caches), as a new user has.
# Stopping dockerd stops every container on this machine: do not run --purge while others use Docker.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
purge=0 cold=0 do_run=1 do_test=1 keep=0
for arg in "$@"; do
  case "$arg" in
    --purge) purge=1 ;;
    --cold-images) cold=1 ;;
    --skip-run) do_run=0 ;;
    --skip-test) do_test=0 ;;
    --keep) keep=1 ;;
    *) echo "fresh-machine-check: unknown option '$arg' (see the header of $0)" >&2; exit 2 ;;
  esac
done
if [[ $cold == 1 && $purge == 0 ]]; then
  echo "fresh-machine-check: --cold-images needs --purge" >&2
  exit 2
fi
if [[ $purge == 1 && $(id -u) -ne 0 ]]; then
  echo "fresh-machine-check: --purge needs root" >&2
  exit 2
fi

WORK=$(mktemp -d /tmp/campaignlab-fresh.XXXXXX)
LOG="$WORK/check.log"
declare -a ROWS=()
record() { ROWS+=("| $1 | $2 |"); printf '%-55s %6s s\n' "$1" "$2"; }
cleanup() {
  [[ $keep == 1 ]] || rm -rf "$WORK/campaignlab" "$WORK/home"
}
trap cleanup EXIT

if [[ $purge == 1 ]]; then
  echo "fresh-machine-check: making this machine new for docker.io, chromium and the PostgreSQL server" >&2
  pkill -x dockerd 2>/dev/null || true
  pkill -x containerd 2>/dev/null || true
  for _ in $(seq 1 30); do pgrep -x dockerd >/dev/null || break; sleep 1; done
  pgs=$(dpkg-query -W -f '${Package}\n' 'postgresql*' 2>/dev/null | grep -v -- '-client' | grep -v -- '-common$' || true)
  DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq docker.io containerd runc chromium chromium-driver libfuse2 debootstrap \
    $pgs >>"$LOG" 2>&1 || true
  # docker.io's purge deletes /var/lib/docker (a mount point here, so it cannot be moved aside): no image
  # survives, the base image included.
  if [[ -d /var/lib/docker ]] && [[ -n "$(ls -A /var/lib/docker 2>/dev/null)" ]]; then
    echo "fresh-machine-check: /var/lib/docker still holds files after the purge" >&2
    exit 1
  fi
  for b in dockerd chromium chromedriver; do
    command -v "$b" >/dev/null && { echo "fresh-machine-check: $b is still on PATH after the purge" >&2; exit 1; }
  done
  if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    echo "fresh-machine-check: the PostgreSQL server is still installed after the purge" >&2
    exit 1
  fi
  echo "fresh-machine-check: docker client on PATH: $(command -v docker || echo none); no dockerd, chromium, postgres server" >&2
fi

mkdir -p "$WORK/home"
# The machine's own pip settings (where the local torch wheel lies) are part of a new machine; caches are not.
[[ -d "$HOME/.config/pip" ]] && mkdir -p "$WORK/home/.config" && cp -r "$HOME/.config/pip" "$WORK/home/.config/"
t0=$SECONDS
git clone -q "$REPO" "$WORK/campaignlab"
record "git clone" $((SECONDS - t0))
cd "$WORK/campaignlab"
export HOME="$WORK/home"

run_make() {  # run_make TARGET: time it, keep its output, collect its "== step" lines
  local target=$1 t0=$SECONDS status=0
  echo "fresh-machine-check: make $target (log: $WORK/make-$target.log)" >&2
  make "$target" >"$WORK/make-$target.log" 2>&1 || status=$?
  local secs=$((SECONDS - t0))
  while IFS= read -r line; do
    local name=${line#== step }
    record "make $target: ${name%: *}" "${name##*: }"
  done < <(grep -a '^== step ' "$WORK/make-$target.log" | sed 's/ s$//')
  record "**make $target (total, exit $status)**" "$secs"
  return $status
}

status=0
if [[ $do_run == 1 ]]; then
  run_make run || status=$?
  tail -n 30 "$WORK/make-run.log"
fi
if [[ $do_test == 1 && $status == 0 ]]; then
  run_make test || status=$?
  grep -aE '^[0-9]+ (passed|failed)|passed|failed' "$WORK/make-test.log" | tail -n 3
fi

page="$REPO/docs/results/fresh-machine.md"
mkdir -p "$(dirname "$page")"
{
  echo "# Fresh machine: the README's two commands from a new clone"
  echo
  echo "Written by \`scripts/fresh-machine-check.sh $*\` on $(date -u '+%Y-%m-%d %H:%M UTC')."
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM,"
  echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load before start: $(cut -d' ' -f1-3 /proc/loadavg)."
  if [[ $purge == 1 ]]; then
    echo "Made fresh with \`apt-get purge\` of docker.io, containerd, runc, chromium, chromium-driver, libfuse2, debootstrap and the"
    echo "PostgreSQL server packages; the purge emptied /var/lib/docker (no image at all, the base image included)."
  else
    echo "Not purged: packages and images already on the machine were reused."
  fi
  echo "The clone ran with an empty HOME (no pip or model caches). Exit status: $status."
  echo
  echo "| step | seconds |"
  echo "|---|---|"
  printf '%s\n' "${ROWS[@]}"
  if [[ -f "$WORK/make-test.log" ]]; then
    echo
    echo "pytest's summary (and every failed test) in that run:"
    echo
    grep -aE '^(FAILED|ERROR) |^=* ?[0-9]+ (passed|failed)|^[0-9]+ (passed|failed)' "$WORK/make-test.log" \
      | cut -c1-200 | sed 's/^/    /' || true
  fi
} >"$page"
echo "wrote $page" >&2
exit "$status"
