# campaignlab: `make run` runs the main job, `make test` runs the tests. Both do all set-up first.
.DEFAULT_GOAL := help
VENV ?= .venv
BIN := $(VENV)/bin
PRESET ?= v25
SCALE ?= 0.02

.PHONY: help setup run test test-fast lint bench-generate bench-embed images compile bench-local-runner bench-fl bench-results bench-threads bench-recommend bench-serve

help: ## Show this help
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

setup: ## Create .venv with all dependencies (idempotent)
	@bash scripts/setup.sh

run: setup ## Main job: build images, run the training pipeline locally in Docker, print the results table (DATA=your.csv MAPPING=m.yaml: your campaigns)
	@bash scripts/run.sh

test: setup ## Run the whole test suite (what CI runs)
	@bash scripts/test.sh

test-fast: setup ## Inner loop: lint and the tests that need no Docker and are not slow
	@bash scripts/test.sh --fast

lint: setup ## ruff (lint + format check) and mypy
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

bench-generate: setup ## Generator speed and acceptance on the full presets (writes docs/results/generator.md)
	$(BIN)/python benchmarks/generate.py

bench-embed: setup ## Embedding: local path vs plain sentence-transformers on the v25 texts (docs/results/embedding.md)
	$(BIN)/python benchmarks/embed.py --baseline-sample 8000

bench-local-runner: setup ## Local runner: overhead, fan-out vs kfp local, cached re-run (docs/results/local-runner.md)
	$(BIN)/python benchmarks/local_runner.py

bench-fl: setup ## Federated report's 3 experiments, FL vs centralized (FL_SCALE=1.0 = full size)
	$(BIN)/python benchmarks/fl_experiments.py --scale $(or $(FL_SCALE),1.0)

bench-results: setup ## Multimodal report's results table, 3 models x v25/v26/v28 (docs/results/results-table.md)
	$(BIN)/python benchmarks/results_table.py --scale $(or $(RESULTS_SCALE),1.0)

bench-threads: setup ## LightGBM threads x OpenMP wait policy, alone and beside a busy process (docs/results/threads.md)
	$(BIN)/python benchmarks/threads.py

bench-recommend: setup ## Recommendations vs the generator's ground truth, per family, beside baselines
	$(BIN)/python benchmarks/recommend.py

bench-serve: setup ## Service latency (1 and 64 instances, warm and cold texts) beside the CLI's batch predict
	$(BIN)/python benchmarks/serve.py

images: ## Build the container images (core gbm torch fl embed serve); starts Docker if needed
	@bash scripts/docker-setup.sh
	@bash containers/build.sh

compile: setup ## Compile every pipeline to build/pipelines/NAME.yaml
	@mkdir -p build/pipelines
	@for p in training federated experiments retraining prediction; do \
	  $(BIN)/campaignlab pipeline compile $$p --out build/pipelines/$$p.yaml || exit 1; done
