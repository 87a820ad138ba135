#!/usr/bin/env bash
# Install Debian's PostgreSQL server binaries (the leaderboard's PostgreSQL test starts a throwaway
# cluster of its own on 127.0.0.1; no system service is used). Idempotent; needs root.
set -euo pipefail
if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  exit 0
fi
echo "ensure-postgres: installing the Debian package postgresql" >&2
SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2
$SUDO apt-get install -y -qq --no-install-recommends postgresql >&2
