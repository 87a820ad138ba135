# Shared by the set-up and job scripts: `step NAME CMD...` runs CMD and prints how long it took, in a
# form scripts/fresh-machine-check.sh collects ("== step NAME: N s").
step() {
  local name=$1
  shift
  local t0=$SECONDS
  "$@"
  echo "== step $name: $((SECONDS - t0)) s" >&2
}
