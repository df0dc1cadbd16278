# One machine: `make run` (whole pipeline on recorded data) and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
PYTEST := $(BIN)/python -m pytest

.PHONY: install run demo test test-unit test-integration test-e2e bench lint compose-check clean \
	train-predictors

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,ml]'
	@touch $(STAMP)

install: $(STAMP)

## run: all six services on the bundled recordings (DEMO), progress, summary, then serve
##      until Ctrl-C.  EXIT=1 exits 0 after the summary; SPEED=10 replays at 10x real time.
run: $(STAMP)
	$(BIN)/python -m trifecta run $(if $(EXIT),--exit) $(if $(SPEED),--speed $(SPEED))

## demo: the same, exiting 0 after the summary
demo: $(STAMP)
	$(BIN)/python -m trifecta run --exit

## test: every layer (unit, integration against a real Redis, end-to-end)
test: $(STAMP)
	$(PYTEST) -q

test-unit: $(STAMP)
	$(PYTEST) -q tests/unit

test-integration: $(STAMP)
	$(PYTEST) -q tests/integration

test-e2e: $(STAMP)
	$(PYTEST) -q tests/e2e

bench: $(STAMP)
	$(BIN)/python bench/replay_throughput.py

## train-predictors: direction/volatility predictors on the recorded bars, with out-of-sample
##      figures beside the naive baselines (needs the [ml] extra for lstm/transformer)
train-predictors: $(STAMP)
	$(BIN)/python -m services.decision.predictors.train --model all --data fxcm

lint: $(STAMP)
	$(BIN)/ruff check .

compose-check: $(STAMP)
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec deploy/docker-compose.yml

clean:
	rm -rf var .pytest_cache
