# StandX Perps Python client. `make test` and `make demo` set everything up from a fresh clone.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
NODE_BIN := node_modules/.bin
PKG := generated/standx_client
MOCK_PORT ?= 8765
export REDOCLY_TELEMETRY := off
export REDOCLY_SUPPRESS_UPDATE_NOTICE := true

.PHONY: help setup generate check-generated lint typecheck spec-lint test test-fast demo mock bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

# The virtual environment, rebuilt when pyproject.toml or constraints.txt changes: pyproject.toml's ranges, pinned
# to the exact tested set in constraints.txt.
$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,mock,ws]' -c constraints.txt
	touch $@

# Pinned npm tools (Prism, Redocly) from the committed lock file.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(VENV)/.installed node_modules/.installed  ## create .venv and node_modules

generate: $(VENV)/.installed  ## regenerate generated/standx_client (and the mock's copies) from openapi/standx.yaml
	$(PY) generator/generate.py

check-generated: $(VENV)/.installed  ## fail if the committed generated code differs from a fresh generation
	$(PY) generator/generate.py --check

spec-lint: $(VENV)/.installed node_modules/.installed  ## validate and lint the OpenAPI document
	$(BIN)/openapi-spec-validator openapi/standx.yaml
	$(NODE_BIN)/redocly lint --format=stylish openapi/standx.yaml

lint: $(VENV)/.installed  ## ruff on hand-written code and on the generated package
	$(BIN)/ruff check overlays generator mock tests examples tools bench
	$(BIN)/ruff format --check overlays generator mock tests examples tools bench
	$(BIN)/ruff check --isolated --select F,I,UP --target-version py311 --line-length 120 $(PKG)

typecheck: $(VENV)/.installed  ## mypy --strict on the package (generated code with the overlay laid in) and the mock
	$(BIN)/mypy --strict $(PKG) mock/standx_mock

test: $(VENV)/.installed node_modules/.installed check-generated spec-lint lint typecheck  ## everything CI runs
	$(BIN)/pytest

test-fast: $(VENV)/.installed  ## the pytest suite only
	$(BIN)/pytest

mock: $(VENV)/.installed  ## run the mock exchange on 127.0.0.1:$(MOCK_PORT)
	$(PY) -m standx_mock --port $(MOCK_PORT) --market-maker

demo: $(VENV)/.installed  ## the client against the local mock exchange: a short trading session
	$(PY) examples/demo.py

clean:  ## remove caches (keeps .venv and node_modules)
	rm -rf .pytest_cache .mypy_cache .ruff_cache build dist *.egg-info

# --- Dependencies ----------------------------------------------------------------------------------------------
.PHONY: constraints

constraints:  ## refresh constraints.txt: the newest versions pyproject.toml's ranges allow, resolved in a fresh venv
	rm -rf .venv-constraints && $(PYTHON) -m venv .venv-constraints
	.venv-constraints/bin/pip install --quiet --upgrade pip
	.venv-constraints/bin/pip install --quiet -e '.[dev,mock,ws,evm]'
	{ sed -n '/^#/p' constraints.txt; .venv-constraints/bin/pip freeze --exclude-editable | grep -v '^#'; } > constraints.new
	mv constraints.new constraints.txt && rm -rf .venv-constraints

# --- Spec evolution and distribution (docs/workflows.md) --------------------------------------------------------
.PHONY: spec-diff vendor wheel

spec-diff: $(VENV)/.installed  ## breaking-change report: openapi/standx.yaml at BASE (default HEAD) vs the working tree; exit 1 if breaking
	$(PY) tools/spec_diff.py --base "$(or $(BASE),HEAD)"

vendor: $(VENV)/.installed  ## copy generated/standx_client into DEST with a VENDORED.json stamp (make vendor DEST=dir [NAME=pkg] [FORCE=1])
	@test -n "$(DEST)" || { echo "usage: make vendor DEST=<dir> [NAME=standx_client] [FORCE=1]" >&2; exit 2; }
	$(PY) tools/vendor.py --dest "$(DEST)" $(if $(NAME),--name "$(NAME)") $(if $(filter 1 yes true,$(FORCE)),--force)

wheel: $(VENV)/.installed  ## build dist/standx_client-*.whl (runtime dependencies only: httpx, attrs, PyNaCl, msgspec) [DIST=dir]
	$(PY) tools/wheel.py --dist "$(or $(DIST),dist)" $(if $(LOG),--log "$(LOG)")

# --- Benchmarks (docs/benchmarks.md; not part of `make test`) ----------------------------------------------------
bench: $(VENV)/.installed  ## benchmark table (client vs raw httpx and the lean floor) printed and written to docs/benchmarks.md
	$(PY) bench/run.py
