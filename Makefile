# motionseq: every target that needs Python depends on the .venv it makes.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ARGS ?=
PYTEST_ARGS ?=

.PHONY: install train eval eval-ethucy extract webcam sweep sweep-summary merge-manifests test bench bench-accuracy lint clean

# (Re)install only when the venv is missing or pyproject.toml changed.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

train: $(STAMP)
	$(BIN)/python scripts/train.py $(ARGS)

eval: $(STAMP)
	$(BIN)/python scripts/eval.py $(ARGS)

# ETH/UCY table of a multirun over the five scenes: make eval-ethucy ARGS=logs/train/multiruns/<time>
eval-ethucy: $(STAMP)
	$(BIN)/motionseq-ethucy $(ARGS)

# Poses from a folder of videos by label: make extract ARGS="input=videos output=data/poses workers=2"
extract: $(STAMP)
	$(BIN)/motionseq-extract $(ARGS)

# Live view: make webcam [ARGS="source=clip.mp4 ckpt=PATH headless=true"]
webcam: $(STAMP)
	$(BIN)/python scripts/webcam.py $(ARGS)

# Hydra multirun: a grid (every combination) or a search; parallel local trials with
# hydra/launcher=joblib hydra.launcher.n_jobs=4. Each sweep directory gets
# sweep_summary.{md,csv,png} and best_experiment.yaml.
#   make sweep ARGS="model.cell=rnn,gru,lstm model.hidden=64,128 trainer.max_epochs=10"
#   make sweep ARGS="hparams_search=optuna hydra.sweeper.n_trials=30"
SWEEP_ARGS := model.cell=rnn,gru,lstm model.hidden=64,128
sweep: $(STAMP)
	$(BIN)/python scripts/train.py -m $(or $(ARGS),$(SWEEP_ARGS))

# The summary again: make sweep-summary ARGS=logs/train/multiruns/<time>
sweep-summary: $(STAMP)
	$(BIN)/motionseq-sweep-summary $(ARGS)

# Manifests of sharded extraction (shard=i/n) into manifest.csv: make merge-manifests ARGS=data/poses
merge-manifests: $(STAMP)
	$(BIN)/motionseq-merge-manifests $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# the benchmarks' extra (aeon, for the classic baselines), installed on first use
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench.run $(ARGS)

# Penn Action and NATOPS accuracy, 3 seeds each (not in `make bench`: it trains for a while)
bench-accuracy: $(BENCH_STAMP)
	$(BIN)/python -m bench.run accuracy

lint: $(STAMP)
	$(BIN)/ruff check src tests scripts bench

clean:
	rm -rf $(VENV) logs .pytest_cache .ruff_cache build src/*.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
