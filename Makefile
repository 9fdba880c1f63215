# Two commands do all set-up: `make demo` and `make test`. Each installs only what is missing.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
# py-solc-x and ape-solidity look for "solc-v<version>" here; tools/install-solc.sh puts it there.
export SOLCX_BINARY_PATH := $(VENV)/solcx
export PATH := $(BIN):$(PATH)
# Browser tests drive Debian's Chromium (never Playwright's own download).
CHROMIUM := /usr/bin/chromium
AS_ROOT := $(if $(filter 0,$(shell id -u)),,sudo)
# The project's own anvil (ape-config.yaml's foundry host points at it).
CHAIN_PORT := 8545

# The demo's state and options (the benchmark runs one in a scratch folder on other ports).
DEMO_DIR ?= .demo
DEMO_ARGS ?=
# The compiled contracts every node and the demo load (ape compile writes them).
MANIFEST := .build/__local__.json
CONTRACTS := $(wildcard contracts/*.sol contracts/*/*.sol) ape-config.yaml

.PHONY: setup browser test test-contracts-anvil demo demo-reset bench lock clean

setup: $(VENV)/.installed node_modules/.installed $(SOLCX_BINARY_PATH)/.installed $(BIN)/geth

$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(SOLCX_BINARY_PATH)/.installed: node_modules/.installed tools/install-solc.sh tools/solc-stdjson.cjs
	sh tools/install-solc.sh
	touch $@

# geth 1.13.15, the community network's validator client: built once per machine, or taken from PATH.
$(BIN)/geth: tools/install-geth.sh | $(VENV)/.installed
	sh tools/install-geth.sh $@
	touch -h $@  # a kept or linked geth is older than the script; make would ask again every time

browser: $(CHROMIUM)

$(CHROMIUM):
	$(AS_ROOT) sh -c 'apt-get install -y -q chromium || (apt-get update -q && apt-get install -y -q chromium)'

test: setup browser
	$(BIN)/ape test tests -p no:cacheprovider
	$(MAKE) --no-print-directory test-contracts-anvil

# The same contract tests, on the anvil chain the project starts itself.
test-contracts-anvil: setup
	$(BIN)/gridcommons chain dev --port $(CHAIN_PORT) --quiet -- \
		$(BIN)/ape test tests -m contracts --network ethereum:local:foundry -p no:cacheprovider

$(MANIFEST): $(CONTRACTS) | setup
	$(BIN)/ape compile

# Five households on this machine in accelerated time; Ctrl-C stops, running it again resumes.
demo: setup $(MANIFEST)
	$(BIN)/gridcommons demo run --dir $(DEMO_DIR) --chain-port $(CHAIN_PORT) $(DEMO_ARGS)

demo-reset: setup $(MANIFEST)
	$(BIN)/gridcommons demo run --fresh --dir $(DEMO_DIR) --chain-port $(CHAIN_PORT) $(DEMO_ARGS)

# The same five households on five geth Clique validators on this machine, in real time (60 s intervals);
# ports apart from `make demo`'s (validators' JSON-RPC 8641-8645, peer-to-peer 30341-30345, DApps 8091-8095).
DEMO_NETWORK_DIR ?= .demo-network
DEMO_NETWORK_ARGS ?=
.PHONY: demo-network demo-network-reset

demo-network: setup $(MANIFEST)
	$(BIN)/gridcommons demo network --dir $(DEMO_NETWORK_DIR) $(DEMO_NETWORK_ARGS)

demo-network-reset: setup $(MANIFEST)
	$(BIN)/gridcommons demo network --fresh --dir $(DEMO_NETWORK_DIR) $(DEMO_NETWORK_ARGS)

# Figures go to stdout and bench/results/<name>.json.
bench: setup browser
	$(BIN)/ape compile --force  # incremental builds miss changes to imported libraries
	$(BIN)/gridcommons chain dev --port $(CHAIN_PORT) --quiet -- \
		$(BIN)/python -m bench.gas --url http://127.0.0.1:$(CHAIN_PORT)
	$(BIN)/python -m bench.meter_parse
	$(BIN)/python -m bench.meter_store
	$(BIN)/python -m bench.meter_memory
	$(BIN)/python -m bench.meter_import
	$(BIN)/python -m bench.dso_import
	$(BIN)/python -m bench.node_settlement
	$(BIN)/python -m bench.node_resources
	$(BIN)/python -m bench.forecast_accuracy
	$(BIN)/python -m bench.dapp_latency
	$(BIN)/python -m bench.dapp_live
	$(BIN)/python -m bench.demo_first_view
	$(BIN)/python -m bench.network_latency
	$(BIN)/python -m bench.network_resources
	$(BIN)/python -m bench.network_join

# Re-pin requirements.lock from pyproject.toml's ranges in a scratch venv.
lock:
	rm -rf /tmp/gridcommons-lock && $(PYTHON) -m venv /tmp/gridcommons-lock
	/tmp/gridcommons-lock/bin/pip install --quiet 'setuptools>=68' wheel  # pip install -e needs them (no build isolation)
	/tmp/gridcommons-lock/bin/pip install --quiet '.[test,bench]'
	{ echo "# Exact versions for .venv, installed by 'make setup' (regenerate with 'make lock' after editing pyproject.toml)."; \
	  /tmp/gridcommons-lock/bin/pip freeze --all --exclude gridcommons --exclude pip; } > requirements.lock

clean:
	rm -rf .build .venv node_modules .demo .demo-network
