#!/usr/bin/env bash
# The main job on embedded defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
OUT=${OUT:-runs/main}
PRESET=${PRESET:-v25}
SCALE=${SCALE:-0.02}
"$BIN/campaignlab" generate --preset "$PRESET" --scale "$SCALE" --seed 42 --out "$OUT/dataset"
"$BIN/campaignlab" verify "$OUT/dataset"
echo "dataset: $OUT/dataset (look at $OUT/dataset/proportions.png)"
