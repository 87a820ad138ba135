#!/usr/bin/env bash
# Install Debian's headless-capable Chromium and its WebDriver (used by the leaderboard page tests).
# Idempotent: does nothing when both binaries are present. Needs root (as on our machines and CI).
set -euo pipefail
if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
  exit 0
fi
echo "ensure-chromium: installing Debian packages chromium and chromium-driver" >&2
SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2
$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-dejavu-core >&2
