# make demo: set up everything (venv, CPU torch from this machine's disk, suho, base model cache) and run the guard.
# make test: set up, then run the whole test suite (what CI runs).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.suho-installed

.PHONY: demo gateway-demo test setup model lint bench data train clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# CPU torch first, pinned: an unpinned `torch` can pull a multi-GB CUDA build.
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[train,serve,dev]'
	touch $(STAMP)

setup: $(STAMP)

model: setup
	$(BIN)/suho model prepare

demo: model
	$(BIN)/python -m suho.cli.demo

# an upstream LLM service (the echo stand-in, or UPSTREAM=URL) with suho gateway in front: blocked, allowed, streamed
gateway-demo: model
	PY=$(BIN)/python bash examples/gateway_demo.sh

test: model
	$(BIN)/python -m pytest -p no:cacheprovider

lint: setup
	$(BIN)/ruff check src tests bench

data: setup
	$(BIN)/suho data build
	$(BIN)/suho data spacing
	$(BIN)/suho data stats

train: model
	$(BIN)/suho train --output-dir runs/suho-ko-270m

bench: model
	$(BIN)/python bench/speed.py
	$(BIN)/python bench/normalise.py

clean:
	rm -rf $(VENV) reports runs
