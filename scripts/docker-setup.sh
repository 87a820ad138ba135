#!/usr/bin/env bash
# Make a Docker engine available for the image builds and the container tests (what CI runs): install
# Debian's docker.io when this machine has no engine, start dockerd in the background if no daemon answers,
# wait until it does, then make the local base image (containers/base-image.sh) used when no image registry
# is reachable. Idempotent; needs root (or sudo) for the install and the daemon.
#
# A new machine may ship only the Docker *client* (e.g. /usr/local/bin/docker) and no engine: what is
# checked is a reachable daemon and the engine binary `dockerd`, never the `docker` command.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO="sudo"

install_engine() {
  echo "docker-setup: no Docker engine (dockerd) on this machine: installing Debian's docker.io" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq docker.io >/dev/null
  command -v dockerd >/dev/null || { echo "docker-setup: docker.io installed but dockerd is not on PATH" >&2; exit 1; }
}

start_daemon() {
  if ! pgrep -x dockerd >/dev/null; then
    echo "docker-setup: starting dockerd (log: /tmp/dockerd.log)" >&2
    # setsid: the daemon gets its own session, so it outlives the shell (and process group) that started it
    $SUDO setsid sh -c 'nohup dockerd >/tmp/dockerd.log 2>&1 &' </dev/null
  fi
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return 0
    sleep 1
  done
  tail -20 /tmp/dockerd.log >&2
  echo "docker-setup: dockerd did not start (log: /tmp/dockerd.log)" >&2
  exit 1
}

if ! docker info >/dev/null 2>&1; then
  command -v dockerd >/dev/null || step "docker engine install (apt docker.io)" install_engine
  step "docker daemon start" start_daemon
fi
echo "docker-setup: engine $(docker version -f '{{.Server.Version}}') is running" >&2
# A registry may be reachable: then the public BASE_IMAGE is pulled by containers/build.sh instead.
if ! docker image inspect python:3.11-slim-bookworm >/dev/null 2>&1 \
  && ! docker pull -q python:3.11-slim-bookworm >/dev/null 2>&1; then
  if ! docker image inspect campaignlab-base:bookworm >/dev/null 2>&1; then
    step "base image (debootstrap)" bash containers/base-image.sh
  fi
fi
