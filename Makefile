# motionseq: every target that needs Python depends on the .venv it makes.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ARGS ?=
PYTEST_ARGS ?=

.PHONY: install train eval eval-ethucy extract test bench lint clean

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

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench.run $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests scripts bench

clean:
	rm -rf $(VENV) logs .pytest_cache .ruff_cache build src/*.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
