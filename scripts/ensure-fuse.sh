#!/usr/bin/env bash
# Install what the Cloud Storage FUSE test needs: libfuse2, the C library that fusepy (a dev dependency)
# binds to. Only the library is installed (Debian's libfuse2), not the `fuse`/`fuse3` tools, which
# conflict with each other: the test runs as root, where libfuse mounts with mount(2) itself and the
# test unmounts with umount(8). /dev/fuse must exist (it does on this project's machines and CI).
# Idempotent; needs root.
set -euo pipefail
if ldconfig -p | grep -q 'libfuse\.so\.2'; then
  exit 0
fi
echo "ensure-fuse: installing the Debian package libfuse2" >&2
SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2
$SUDO apt-get install -y -qq --no-install-recommends libfuse2 >&2
