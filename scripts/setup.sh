#!/usr/bin/env bash
# Create .venv with every dependency. Idempotent: does nothing when pyproject.toml has not changed.
# torch is installed first, pinned to the CPU build, so that no other package pulls a CUDA build.
# Elsewhere than this project's machines, set TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${VENV:-.venv}
stamp="$VENV/.campaignlab-setup"
want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  exit 0
fi
echo "setup: creating $VENV and installing dependencies (first run takes a few minutes)" >&2
t0=$SECONDS
[[ -x "$VENV/bin/python" ]] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip >&2
if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  "$VENV/bin/pip" install -q "torch==2.13.0" ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} >&2
fi
"$VENV/bin/pip" install -q -e ".[all,dev]" >&2
echo "$want" > "$stamp"
echo "== step venv (scripts/setup.sh): $((SECONDS - t0)) s" >&2
