#!/usr/bin/env bash
# Install Debian's PostgreSQL server binaries (the leaderboard's PostgreSQL test starts a throwaway cluster
# of its own on 127.0.0.1; no system service is used). A psql client on PATH is not enough: what is checked
# is the server's initdb and postgres under /usr/lib/postgresql/*/bin. Idempotent; needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
works() { compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null && compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null; }
works && exit 0
install() {
  echo "ensure-postgres: installing the Debian package postgresql (server)" >&2
  local SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >&2
  $SUDO apt-get install -y -qq --no-install-recommends postgresql >&2
}
step "postgresql server install (apt)" install
works || { echo "ensure-postgres: initdb/postgres still missing after the install" >&2; exit 1; }
