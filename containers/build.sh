#!/usr/bin/env bash
# Build the campaignlab images (one per dependency set) from containers/Dockerfile.
#
# Usage: containers/build.sh [--dry-run] [IMAGE...]      default: core serve gbm torch fl embed
#   --dry-run    print the docker build commands (and the torch install) without building anything
# Environment:
#   TORCH_VARIANT  cpu (default; what CI builds) or cuda: the torch build in the torch-based images
#                (torch, fl, embed). CUDA images are tagged campaignlab-IMAGE:VERSION-cuda[-HASH] and
#                are what a pipeline compiled afterwards uses for its GPU steps (build/images.json).
#                Several GB: build them where you push them (REGISTRY=... PUSH=1), not on a laptop.
#   TORCH_INDEX_URL  replaces the index torch comes from (e.g. https://download.pytorch.org/whl/cu126)
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
DRY_RUN=0
if [[ "${1:-}" == "--dry-run" ]]; then
  DRY_RUN=1
  shift
fi
TORCH_VARIANT=${TORCH_VARIANT:-cpu}
case "$TORCH_VARIANT" in cpu | cuda) ;; *)
  echo "TORCH_VARIANT: got '$TORCH_VARIANT' -> expected cpu or cuda" >&2
  exit 2
  ;;
esac
IMAGES=("$@")
[[ ${#IMAGES[@]} -gt 0 ]] || IMAGES=(core serve gbm torch fl embed)
for img in "${IMAGES[@]}"; do
  case "$img" in core | gbm | torch | fl | embed | serve) ;; *)
    echo "unknown image '$img' (choose from core gbm torch fl embed serve)" >&2
    exit 2
    ;;
  esac
done

BASE_IMAGE=${BASE_IMAGE:-python:3.11-slim-bookworm}
if [[ $DRY_RUN == 1 ]]; then
  # No engine needed to print the commands; with one, say what a real build would do about the base.
  if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    :
  elif docker image inspect campaignlab-base:bookworm >/dev/null 2>&1; then
    BASE_IMAGE=campaignlab-base:bookworm
  fi
else
command -v docker >/dev/null || { echo "docker not found: run scripts/docker-setup.sh" >&2; exit 1; }
docker info >/dev/null 2>&1 || { echo "Docker engine not running: run scripts/docker-setup.sh" >&2; exit 1; }
if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1 && ! docker pull -q "$BASE_IMAGE" >/dev/null 2>&1; then
  echo "base image $BASE_IMAGE is not available (no registry?): using campaignlab-base:bookworm" >&2
  BASE_IMAGE=campaignlab-base:bookworm
  bash containers/base-image.sh "$BASE_IMAGE"
fi
fi

VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' pyproject.toml | head -n1)

# A small, explicit build context: never the whole repository (.venv, runs, data).
CTX=build/image-context
[[ $DRY_RUN == 0 ]] || CTX=build/image-context-dry-run  # never clobber a real build's context
rm -rf "$CTX"
# The wheel holds every package pyproject.toml lists (the CLI mounts local_runner's command).
PACKAGES=(campaignlab components pipelines local_runner)
mkdir -p "$CTX/extra" "$CTX/wheels"
for pkg in "${PACKAGES[@]}"; do mkdir -p "$CTX/$pkg"; done
cp containers/Dockerfile containers/install-torch.sh pyproject.toml README.md "$CTX/"
# One requirement list per dependency set (needs Python >= 3.11 for tomllib; else the project venv's).
PY=python3
python3 -c "import tomllib" 2>/dev/null || PY=.venv/bin/python
mkdir -p "$CTX/req"
for set in core gcp gbm torch fl embed serve; do "$PY" containers/deps.py "$set" < pyproject.toml > "$CTX/req/$set.txt"; done
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

BASE_ID=$(docker image inspect -f '{{.Id}}' "$BASE_IMAGE" 2>/dev/null || echo "$BASE_IMAGE")
HASH=$( (cd "$CTX" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum; echo "$BASE_ID") \
  | sha256sum | cut -c1-12)
TAG="$VERSION-$HASH"

# BuildKit (buildx) builds independent stages in parallel; the classic builder is the fallback
# (docker.io 20.10 from Debian has no buildx). The Dockerfile works with both.
if docker buildx version >/dev/null 2>&1; then export DOCKER_BUILDKIT=1; else export DOCKER_BUILDKIT=0; fi

if [[ $DRY_RUN == 1 ]]; then
  echo "# torch ($TORCH_VARIANT): $(TORCH_INDEX_URL=${TORCH_INDEX_URL:-} sh containers/install-torch.sh --dry-run \
    "$(cat "$CTX/req/torch-spec.txt")" "$TORCH_VARIANT" "$CTX/wheels")"
fi

declare -A NAMES
summary=()
for img in "${IMAGES[@]}"; do
  local_name="campaignlab-$img"
  args=(--target "$img" --build-arg BASE_IMAGE="$BASE_IMAGE")
  img_tag=$TAG
  img_version=$VERSION
  case "$img" in torch | fl | embed)
    # The torch-based images: the variant is a build argument and part of the tag.
    args+=(--build-arg TORCH_VARIANT="$TORCH_VARIANT")
    [[ -z "${TORCH_INDEX_URL:-}" ]] || args+=(--build-arg TORCH_INDEX_URL="$TORCH_INDEX_URL")
    if [[ $TORCH_VARIANT == cuda ]]; then
      img_tag=$VERSION-cuda-$HASH
      img_version=$VERSION-cuda
    fi
    ;;
  esac
  tags=(-t "$local_name:$img_tag" -t "$local_name:$img_version")
  name="$local_name:$img_tag"
  if [[ -n "${REGISTRY:-}" ]]; then
    name="${REGISTRY%/}/$local_name:$img_tag"
    tags+=(-t "$name")
  fi
  if [[ $DRY_RUN == 1 ]]; then
    echo "docker build ${args[*]} ${tags[*]} -f $CTX/Dockerfile $CTX"
    [[ "${PUSH:-0}" != 1 || -z "${REGISTRY:-}" ]] || echo "docker push $name"
    continue
  fi
  echo "== building $img ($local_name:$img_tag) from $BASE_IMAGE" >&2
  start=$(date +%s)
  docker build "${args[@]}" "${tags[@]}" \
    -f "$CTX/Dockerfile" "$CTX" >"build/image-build-$img.log" 2>&1 \
    || { tail -40 "build/image-build-$img.log" >&2; echo "build of $img failed (log: build/image-build-$img.log)" >&2; exit 1; }
  secs=$(($(date +%s) - start))
  if [[ "${PUSH:-0}" == 1 && -n "${REGISTRY:-}" ]]; then docker push -q "$name" >/dev/null; fi
  size=$(docker image inspect -f '{{.Size}}' "$local_name:$img_tag")
  summary+=("$(printf '%-6s %-40s %6d MB %5d s' "$img" "$local_name:$img_tag" $((size / 1000000)) "$secs")")
  NAMES[$img]=$name
done

[[ $DRY_RUN == 0 ]] || exit 0

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
