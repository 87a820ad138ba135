#!/usr/bin/env bash
# The test command (what CI runs): set up the real services the tests use, lint and type-check, then the
# whole suite. Any skipped test fails the run. `--fast` (make test-fast): the inner loop, without Docker
# and without the slow tests.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
BIN=.venv/bin
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 FLWR_TELEMETRY_ENABLED=0
fast=0
if [[ "${1:-}" == "--fast" ]]; then
  fast=1
  shift
  set -- -m "not docker and not slow" "$@"
fi
# Real parts: the Docker engine and the project images, Chromium for the web pages, PostgreSQL binaries,
# libfuse for the Cloud Storage FUSE test.
if [[ $fast == 0 ]]; then
  bash scripts/docker-setup.sh
  step "image build (containers/build.sh)" bash containers/build.sh
fi
bash scripts/ensure-chromium.sh
bash scripts/ensure-postgres.sh
bash scripts/ensure-fuse.sh
lint() { "$BIN/ruff" check . && "$BIN/ruff" format --check . && "$BIN/mypy"; }
step "lint (ruff, mypy)" lint
set +e
t0=$SECONDS
"$BIN/python" -m pytest -q -p no:cacheprovider --durations=15 "$@" 2>&1 | tee .pytest-output.txt
status=${PIPESTATUS[0]}
echo "== step pytest: $((SECONDS - t0)) s" >&2
set -e
if grep -Eq '[0-9]+ skipped' .pytest-output.txt; then
  echo "FAIL: tests were skipped; in CI a skipped test is a failure" >&2
  exit 1
fi
exit "$status"
