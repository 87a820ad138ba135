#!/usr/bin/env bash
# Install Debian's headless-capable Chromium and its WebDriver (used by the web page tests). Idempotent:
# does nothing when both binaries are present and start. Needs root (as on our machines and CI).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
works() { [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]] && /usr/bin/chromedriver --version >/dev/null 2>&1; }
works && exit 0
install() {
  echo "ensure-chromium: installing Debian packages chromium and chromium-driver" >&2
  local SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >&2
  $SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-dejavu-core >&2
}
step "chromium install (apt)" install
works || { echo "ensure-chromium: chromium/chromedriver still missing after the install" >&2; exit 1; }
