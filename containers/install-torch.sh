#!/bin/sh
# Install torch into the image's venv (the deps-torch stage of containers/Dockerfile), CPU or CUDA build.
#
# Usage: install-torch.sh [--dry-run] SPEC VARIANT [WHEELS_DIR]
#   SPEC        the torch requirement from pyproject.toml (e.g. "torch>=2.2,<2.15")
#   VARIANT     cpu  (default; what CI builds): a local CPU wheel from WHEELS_DIR if there is one, else
#                    the CPU index (download.pytorch.org/whl/cpu)
#               cuda the CUDA build: PyPI's Linux x86_64 torch wheel, which brings the CUDA runtime as
#                    nvidia-* wheels (the GPU machine's driver is all it needs from the host)
#   TORCH_INDEX_URL (environment) replaces the index of either variant, e.g.
#                    https://download.pytorch.org/whl/cu126 for a CUDA 12.6 build
#   --dry-run   print the pip command, install nothing
#
# After installing, the build fails unless torch is the build asked for (a CPU wheel in a CUDA image
# would train on the CPU without a word), and /opt/torch-constraint.txt pins it for later sets.
set -eu
dry=0
if [ "${1:-}" = "--dry-run" ]; then
  dry=1
  shift
fi
spec=$1
variant=${2:-cpu}
wheels=${3:-/tmp/wheels}
case "$variant" in
  cpu) default_index=https://download.pytorch.org/whl/cpu ;;
  cuda) default_index=https://pypi.org/simple ;;
  *)
    echo "TORCH_VARIANT: got '$variant' -> expected cpu or cuda" >&2
    exit 2
    ;;
esac
index=${TORCH_INDEX_URL:-$default_index}
local_wheel=""
if [ "$variant" = cpu ] && [ -z "${TORCH_INDEX_URL:-}" ]; then
  for whl in "$wheels"/torch-*.whl; do
    [ -f "$whl" ] && local_wheel=$whl
  done
fi
if [ -n "$local_wheel" ]; then
  set -- pip install -q "$local_wheel"
elif [ "$index" = https://pypi.org/simple ]; then
  set -- pip install -q "$spec"
else
  set -- pip install -q "$spec" --index-url "$index" --extra-index-url https://pypi.org/simple
fi
if [ $dry = 1 ]; then
  echo "$*"
  exit 0
fi
"$@"
python3 - "$variant" <<'EOF'
import sys

import torch

variant = sys.argv[1]
cuda = torch.version.cuda
if (variant == "cuda") != (cuda is not None):
    got = f"a CUDA {cuda} build" if cuda else "a CPU-only build"
    sys.exit(f"TORCH_VARIANT={variant} but pip installed torch {torch.__version__}, {got}")
print(f"torch {torch.__version__} ({'CUDA ' + cuda if cuda else 'CPU'})")
EOF
python3 -c 'import torch; print("torch==" + torch.__version__)' >/opt/torch-constraint.txt
