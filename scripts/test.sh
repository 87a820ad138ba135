#!/usr/bin/env bash
# The test command: lint, type-check, then the whole suite. Any skipped test fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
"$BIN/ruff" check .
"$BIN/ruff" format --check .
"$BIN/mypy"
"$BIN/python" -m pytest -q -p no:cacheprovider "$@" | tee .pytest-output.txt
status=${PIPESTATUS[0]}
if grep -Eq '[0-9]+ skipped' .pytest-output.txt; then
  echo "FAIL: tests were skipped; in CI a skipped test is a failure" >&2
  exit 1
fi
exit "$status"
