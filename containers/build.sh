#!/usr/bin/env bash
# Build the campaignlab images (one per dependency set) from containers/Dockerfile.
#
# Usage: containers/build.sh [IMAGE...]            default: core serve gbm torch fl embed
# Environment:
#   BASE_IMAGE   base image (default python:3.11-slim-bookworm; when it is neither present nor
#                pullable, e.g. without a registry, containers/base-image.sh makes
#                campaignlab-base:bookworm and that is used)
#   REGISTRY     also tag REGISTRY/campaignlab-IMAGE:TAG (e.g. us-docker.pkg.dev/PROJECT/REPO)
#   PUSH=1       push the REGISTRY tags
#   EXTRA_CA     a CA bundle to trust inside the images (default: $PIP_CERT if set, i.e. the CA of
#                a TLS-intercepting proxy this machine reaches PyPI through); EXTRA_CA=none: no CA
#   WHEELS_DIR   local wheels (torch-*.whl, CPU build) to install instead of downloading (/opt/wheels)
#
# Every image is tagged campaignlab-IMAGE:VERSION and campaignlab-IMAGE:VERSION-HASH, HASH being a
# digest of the build context (Dockerfile, pyproject.toml, sources, CA, wheels, base image id). The
# resolved names are written to build/images.json, which `campaignlab pipeline compile` reads.
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGES=("$@")
[[ ${#IMAGES[@]} -gt 0 ]] || IMAGES=(core serve gbm torch fl embed)
for img in "${IMAGES[@]}"; do
  case "$img" in core | gbm | torch | fl | embed | serve) ;; *)
    echo "unknown image '$img' (choose from core gbm torch fl embed serve)" >&2
    exit 2
    ;;
  esac
done

command -v docker >/dev/null || { echo "docker not found: run scripts/docker-setup.sh" >&2; exit 1; }
docker info >/dev/null 2>&1 || { echo "Docker engine not running: run scripts/docker-setup.sh" >&2; exit 1; }

BASE_IMAGE=${BASE_IMAGE:-python:3.11-slim-bookworm}
if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1 && ! docker pull -q "$BASE_IMAGE" >/dev/null 2>&1; then
  echo "base image $BASE_IMAGE is not available (no registry?): using campaignlab-base:bookworm" >&2
  BASE_IMAGE=campaignlab-base:bookworm
  bash containers/base-image.sh "$BASE_IMAGE"
fi

VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' pyproject.toml | head -n1)

# A small, explicit build context: never the whole repository (.venv, runs, data).
CTX=build/image-context
rm -rf "$CTX"
# The wheel holds every package pyproject.toml lists (the CLI mounts local_runner's command).
PACKAGES=(campaignlab components pipelines local_runner)
mkdir -p "$CTX/extra" "$CTX/wheels"
for pkg in "${PACKAGES[@]}"; do mkdir -p "$CTX/$pkg"; done
cp containers/Dockerfile pyproject.toml README.md "$CTX/"
# One requirement list per dependency set (needs Python >= 3.11 for tomllib; else the project venv's).
PY=python3
python3 -c "import tomllib" 2>/dev/null || PY=.venv/bin/python
mkdir -p "$CTX/req"
for set in core gbm torch fl embed serve; do "$PY" containers/deps.py "$set" < pyproject.toml > "$CTX/req/$set.txt"; done
"$PY" containers/deps.py --torch < pyproject.toml > "$CTX/req/torch-spec.txt"
tar -C . --exclude='__pycache__' --exclude='*.pyc' -cf - "${PACKAGES[@]}" | tar -C "$CTX" -xf -
echo "optional: extra-ca.crt is appended to the image's CA bundle" > "$CTX/extra/README"
echo "optional: torch-*.whl (CPU build) installed instead of downloading" > "$CTX/wheels/README"
EXTRA_CA=${EXTRA_CA:-${PIP_CERT:-}}
if [[ -n "$EXTRA_CA" && "$EXTRA_CA" != none ]]; then
  [[ -s "$EXTRA_CA" ]] || { echo "EXTRA_CA=$EXTRA_CA is not a readable file" >&2; exit 2; }
  cp "$EXTRA_CA" "$CTX/extra/extra-ca.crt"
fi
WHEELS_DIR=${WHEELS_DIR:-/opt/wheels}
for whl in "$WHEELS_DIR"/torch-*.whl; do
  [[ -f "$whl" ]] || continue
  # A hard link costs nothing; fall back to a copy across file systems.
  ln "$whl" "$CTX/wheels/" 2>/dev/null || cp "$whl" "$CTX/wheels/"
done

BASE_ID=$(docker image inspect -f '{{.Id}}' "$BASE_IMAGE")
HASH=$( (cd "$CTX" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum; echo "$BASE_ID") \
  | sha256sum | cut -c1-12)
TAG="$VERSION-$HASH"

# BuildKit (buildx) builds independent stages in parallel; the classic builder is the fallback
# (docker.io 20.10 from Debian has no buildx). The Dockerfile works with both.
if docker buildx version >/dev/null 2>&1; then export DOCKER_BUILDKIT=1; else export DOCKER_BUILDKIT=0; fi

declare -A NAMES
summary=()
for img in "${IMAGES[@]}"; do
  local_name="campaignlab-$img"
  tags=(-t "$local_name:$TAG" -t "$local_name:$VERSION")
  name="$local_name:$TAG"
  if [[ -n "${REGISTRY:-}" ]]; then
    name="${REGISTRY%/}/$local_name:$TAG"
    tags+=(-t "$name")
  fi
  echo "== building $img ($local_name:$TAG) from $BASE_IMAGE" >&2
  start=$(date +%s)
  docker build --target "$img" --build-arg BASE_IMAGE="$BASE_IMAGE" "${tags[@]}" \
    -f "$CTX/Dockerfile" "$CTX" >"build/image-build-$img.log" 2>&1 \
    || { tail -40 "build/image-build-$img.log" >&2; echo "build of $img failed (log: build/image-build-$img.log)" >&2; exit 1; }
  secs=$(($(date +%s) - start))
  if [[ "${PUSH:-0}" == 1 && -n "${REGISTRY:-}" ]]; then docker push -q "$name" >/dev/null; fi
  size=$(docker image inspect -f '{{.Size}}' "$local_name:$TAG")
  summary+=("$(printf '%-6s %-40s %6d MB %5d s' "$img" "$local_name:$TAG" $((size / 1000000)) "$secs")")
  NAMES[$img]=$name
done

# Merge into build/images.json so building one image keeps the others' entries.
{
  for img in "${!NAMES[@]}"; do echo "$img=${NAMES[$img]}"; done
} | python3 -c "
import json, pathlib, sys
p = pathlib.Path('build/images.json')
data = json.loads(p.read_text()) if p.exists() else {}
if data.get('version') != '$VERSION':
    data = {}
images = data.get('images', {})
images.update(dict(line.strip().split('=', 1) for line in sys.stdin if line.strip()))
data.update(version='$VERSION', base_image='$BASE_IMAGE', images=dict(sorted(images.items())))
p.write_text(json.dumps(data, indent=2, sort_keys=True) + '\n')
"
printf '%s\n' "image  tag                                        size   build" "${summary[@]}"
echo "wrote build/images.json" >&2
