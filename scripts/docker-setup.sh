#!/usr/bin/env bash
# Make a Docker engine available for the image builds and the container tests (what CI runs):
# install docker.io with apt-get if docker is missing, start dockerd in the background if no engine
# answers, wait until it does, then make the local base image (containers/base-image.sh) used when
# no image registry is reachable. Idempotent; needs root (or sudo) for the install and the daemon.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO="sudo"
# A reachable daemon is what the builds and tests need. A new machine may ship only the Docker *client*
# (e.g. /usr/local/bin/docker), so the test is for the engine binary, never for `docker`.
if ! docker info >/dev/null 2>&1 && ! command -v dockerd >/dev/null; then
  echo "docker-setup: no Docker engine (dockerd) on this machine: installing docker.io" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq docker.io >/dev/null
  command -v dockerd >/dev/null || { echo "docker-setup: docker.io installed but dockerd is not on PATH" >&2; exit 1; }
fi
if ! docker info >/dev/null 2>&1; then
  if ! pgrep -x dockerd >/dev/null; then
    echo "docker-setup: starting dockerd (log: /tmp/dockerd.log)" >&2
    $SUDO sh -c 'nohup dockerd >/tmp/dockerd.log 2>&1 &'
  fi
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  docker info >/dev/null 2>&1 || { tail -20 /tmp/dockerd.log >&2; echo "docker-setup: dockerd did not start" >&2; exit 1; }
fi
echo "docker-setup: engine $(docker version -f '{{.Server.Version}}') is running" >&2
# A registry may be reachable: then the public BASE_IMAGE is pulled by containers/build.sh instead.
if ! docker image inspect python:3.11-slim-bookworm >/dev/null 2>&1 \
  && ! docker pull -q python:3.11-slim-bookworm >/dev/null 2>&1; then
  bash containers/base-image.sh
fi
