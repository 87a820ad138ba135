#!/usr/bin/env bash
# The main job on embedded defaults: build the images if needed, compile the training pipeline and run
# it locally in Docker (generate -> embed with the local encoder -> three trainers in parallel ->
# evaluate -> compare), then print the results table. Override with PRESET=v28 SCALE=0.05 make run.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
ROOT=${ROOT:-runs}
PRESET=${PRESET:-v25}
SCALE=${SCALE:-0.02}
bash scripts/docker-setup.sh
bash containers/build.sh
mkdir -p build/pipelines
"$BIN/campaignlab" pipeline compile training --out build/pipelines/training.yaml
"$BIN/campaignlab" pipeline run-local build/pipelines/training.yaml --root "$ROOT" \
  --param preset="$PRESET" --param scale="$SCALE" --param encoder=local --max-parallel 3
run_dir=$(ls -td "$ROOT"/campaignlab-training/*/ | head -n1)
echo
cat "$run_dir"/tasks/compare-models/artifacts/summary
echo
echo "run folder: $run_dir (plots: tasks/*/artifacts/*/*.png, record: run.json)"
