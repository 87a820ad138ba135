#!/usr/bin/env bash
# The main job on embedded defaults: build the images if needed, compile the training pipeline and run it
# locally in Docker (generate -> embed with the local encoder -> three trainers in parallel -> evaluate ->
# compare), then print the results table and where the plots and the run record are.
# Override the data with PRESET=v28 SCALE=0.05 make run.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
BIN=.venv/bin
ROOT=${ROOT:-runs}
PRESET=${PRESET:-v25}
SCALE=${SCALE:-0.2}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
bash scripts/docker-setup.sh
step "image build (containers/build.sh)" bash containers/build.sh
mkdir -p build/pipelines
step "compile" "$BIN/campaignlab" pipeline compile training --out build/pipelines/training.yaml
run_id="main-$(date -u +%Y%m%d-%H%M%S)"
# --- own data (docs/own-data.md) ------------------------------------------------------------------------
# make run DATA=examples/campaigns.csv MAPPING=examples/mapping.yaml [SPLIT=time|random]: the pipeline
# ingests your campaigns (data_uri, mapping) instead of generating data.
own=()
if [[ -n "${DATA:-}" ]]; then
  params="build/pipelines/$run_id-params.json"
  "$BIN/python" -c 'import json, pathlib, sys, yaml
data, mapping, split = sys.argv[1:4]
out = {"data_uri": str(pathlib.Path(data).resolve()), "split": split}
out["mapping"] = (yaml.safe_load(pathlib.Path(mapping).read_text()) or {}) if mapping else {}
print(json.dumps(out))' "$DATA" "${MAPPING:-}" "${SPLIT:-time}" > "$params"
  own=(--params "$params")
fi
# ---------------------------------------------------------------------------------------------------------
step "training pipeline (local runner, Docker)" "$BIN/campaignlab" pipeline run-local build/pipelines/training.yaml \
  --root "$ROOT" --run-id "$run_id" --param preset="$PRESET" --param scale="$SCALE" --max-parallel 3 "${own[@]}"
"$BIN/python" scripts/main_job_report.py "$ROOT/campaignlab-training/$run_id"
