# The two set-up commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install assets lint test demo demo-offline benchmark clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Core first, extras second: resolving s3fs with the core in one step backtracks for minutes.
install: $(BIN)/python
	$(BIN)/pip install -q -e .
	$(BIN)/pip install -q -e ".[s3,test]"

# Builds kube-apiserver, kube-controller-manager, kubectl, etcd and helm once (cached).
assets: install
	$(BIN)/python -m modelmonitor.devcluster.assets

lint: install
	$(BIN)/ruff check operator tests benchmarks
	$(BIN)/ruff format --check operator tests benchmarks
	$(BIN)/lint-imports

test: assets lint
	$(BIN)/python -m pytest -ra

demo: assets
	$(BIN)/python -m modelmonitor.demo

demo-offline: install
	$(BIN)/python -m modelmonitor.demo_offline

benchmark: install
	$(BIN)/python benchmarks/drift_benchmark.py

clean:
	rm -rf $(VENV) .demo
