# The two set-up commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install tools assets lint test demo demo-offline benchmark clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Core first, extras second: resolving s3fs with the core in one step backtracks for minutes.
# Then the tooling (tools/: the dev cluster, the demos, the samples), which the image leaves out.
install: $(BIN)/python
	$(BIN)/pip install -q -e .
	$(BIN)/pip install -q -e ".[s3,dask,collector,tensorboard,kafka,test]"
	$(BIN)/pip install -q -e tools

# promtool, from Debian's prometheus package, checks Prometheus rule files; Debian's
# chromium runs the report and web-view tests (Playwright drives it; nothing is downloaded);
# Java 17 and Maven fetch and run Apache Kafka's broker (tools/.../devcluster/kafka.py).
tools:
	@missing=""; \
	command -v promtool >/dev/null || missing="$$missing prometheus"; \
	command -v chromium >/dev/null || missing="$$missing chromium fonts-dejavu-core"; \
	command -v java >/dev/null || missing="$$missing openjdk-17-jre-headless"; \
	command -v mvn >/dev/null || missing="$$missing maven"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# Builds kube-apiserver, kube-controller-manager, kubectl, etcd, helm and the Argo Rollouts
# controller once (cached), and fetches the CRDs of Gateway API, Argo Workflows, Tekton,
# Istio and KServe from their Go modules.
assets: install tools
	$(BIN)/python -m modelmonitor_tools.devcluster

lint: install
	$(BIN)/ruff check operator tools tests benchmarks
	$(BIN)/ruff format --check operator tools tests benchmarks
	$(BIN)/lint-imports

test: assets lint
	$(BIN)/python -m pytest -ra

demo: assets
	$(BIN)/python -m modelmonitor_tools.demo

demo-offline: install
	$(BIN)/python -m modelmonitor_tools.demo_offline

benchmark: install
	$(BIN)/python benchmarks/drift_benchmark.py

clean:
	rm -rf $(VENV) .demo
