#!/usr/bin/env bash
# Make a local Debian bookworm base image with Python when no image registry is reachable.
# Usage: containers/base-image.sh [NAME]   (default campaignlab-base:bookworm)
# The mirror is taken from this machine's apt sources. With a registry, skip this and build from
# the public default BASE_IMAGE (python:3.11-slim-bookworm) instead.
set -euo pipefail
NAME=${1:-campaignlab-base:bookworm}
if docker image inspect "$NAME" >/dev/null 2>&1; then
  echo "base image $NAME exists"
  exit 0
fi
command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
if [[ -z "${MIRROR:-}" ]]; then
  MIRROR=$( (cat /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null || true) \
    | grep -oE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' | awk '{print $2}' | head -n1 || true)
fi
MIRROR=${MIRROR:-http://deb.debian.org/debian}
DIR=$(mktemp -d /tmp/campaignlab-rootfs.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
echo "debootstrap bookworm from $MIRROR into $DIR" >&2
debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
  bookworm "$DIR" "$MIRROR" >/tmp/campaignlab-debootstrap.log 2>&1 \
  || { tail -20 /tmp/campaignlab-debootstrap.log >&2; exit 1; }
# The image must trust the same CAs as this machine (PyPI is reached through a proxy here).
cp /etc/ssl/certs/ca-certificates.crt "$DIR/etc/ssl/certs/ca-certificates.crt"
rm -rf "$DIR"/var/cache/apt/archives/*.deb "$DIR"/var/lib/apt/lists/*
tar -C "$DIR" -c . | docker import -c 'ENV LANG=C.UTF-8' -c 'CMD ["/bin/bash"]' - "$NAME" >/dev/null
echo "built base image $NAME"
