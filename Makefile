# Every entry point a person types. Targets bootstrap what they need: `make test` in a fresh
# clone creates .venv, installs the pinned packages and the system packages, then runs.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.robohead-setup
SYSTEM_STAMP := $(VENV)/.robohead-system
PYTEST_ARGS ?=
REMOTE ?= $(abspath $(CURDIR)/../robohead-dvc-remote)

.PHONY: help setup test test-python lint clean proto data dvc-remote train mlflow-ui
.PHONY: firmware firmware-test flash-esp32 monitor-esp32
.PHONY: firmware-sanitize fuzz-build fuzz-smoke fuzz
.PHONY: sim bench
.PHONY: deploy-rpi bench-edge

help: ## List every target with one line each
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[1m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(SYSTEM_STAMP): scripts/install-system-deps.sh
	@mkdir -p $(VENV)
	bash scripts/install-system-deps.sh
	@touch $@

$(STAMP): constraints.txt shared/pyproject.toml edge-rpi/pyproject.toml host/pyproject.toml | $(SYSTEM_STAMP)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24" -c constraints.txt
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ./shared -e ./edge-rpi -e "./host[dev]"
	@touch $@

setup: $(STAMP) $(SYSTEM_STAMP) ## Create .venv and install pinned Python and system packages (once)

test: setup ## Run every test: Python (pytest) and firmware host tests (ctest)
	$(MAKE) --no-print-directory firmware-test
	$(MAKE) --no-print-directory firmware-sanitize
	$(MAKE) --no-print-directory fuzz-smoke
	$(MAKE) --no-print-directory test-python

test-python: setup ## Run the Python tests only (PYTEST_ARGS=... to pass options)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

FW_BUILD := firmware-esp32/build/host
PIO ?= pio
PIO_ENV ?= esp32dev
PORT ?=

firmware: $(SYSTEM_STAMP) ## Host build of the firmware: core, unit tests, robohead-fw-sim, rv32imc check
	cmake -S firmware-esp32 -B $(FW_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(FW_BUILD) -j 2

firmware-test: firmware ## Firmware host tests (ctest, incl. golden vectors) and the rv32imc code size
	ctest --test-dir $(FW_BUILD) --output-on-failure -j 2
	@cat $(FW_BUILD)/rv32imc/size.txt

# Reliability (docs/reliability.md): sanitizers and fuzzing. make test runs the bounded parts.
FW_ASAN := firmware-esp32/build/asan
FW_FUZZ := firmware-esp32/build/fuzz
FUZZ_SMOKE_SECONDS ?= 15
FUZZ_SECONDS ?= 600
FUZZ_EXAMPLES ?= 20000
SAN_ENV := ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

firmware-sanitize: $(SYSTEM_STAMP) ## Firmware unit tests (and the simulator the fault tests use) under ASan + UBSan
	cmake -S firmware-esp32 -B $(FW_ASAN) -DRHCORE_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(FW_ASAN) --target robohead-fw-tests robohead-fw-sim -j 2
	$(SAN_ENV) ctest --test-dir $(FW_ASAN) --output-on-failure -j 2 -E 'rv32imc|bench'

fuzz-build: $(SYSTEM_STAMP) ## Build the firmware's libFuzzer harnesses (clang, ASan + UBSan)
	cmake -S firmware-esp32 -B $(FW_FUZZ) -DRHCORE_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
	cmake --build $(FW_FUZZ) --target fuzz_frame_decoder fuzz_device -j 2

fuzz-smoke: fuzz-build ## Bounded libFuzzer run, FUZZ_SMOKE_SECONDS per harness (part of make test)
	firmware-esp32/fuzz/run.sh $(FW_FUZZ) $(FUZZ_SMOKE_SECONDS)

fuzz: setup fuzz-build ## Long fuzzing: libFuzzer FUZZ_SECONDS per harness, hypothesis FUZZ_EXAMPLES per target
	firmware-esp32/fuzz/run.sh $(FW_FUZZ) $(FUZZ_SECONDS)
	@mkdir -p .fuzz && rm -f .fuzz/python-stats.json
	ROBOHEAD_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) ROBOHEAD_FUZZ_STATS=$(CURDIR)/.fuzz/python-stats.json \
		$(BIN)/python -m pytest -q tests/test_reliability_fuzz_protocol.py \
		tests/test_reliability_fuzz_session.py tests/test_reliability_fuzz_config.py \
		tests/test_reliability_fuzz_bundle.py tests/test_security_commands.py
	@cat .fuzz/python-stats.json; tail -n 2 $(FW_FUZZ)/fuzz-stats.jsonl

flash-esp32: ## Build and flash with PlatformIO (PORT=/dev/ttyUSB0, PIO_ENV=esp32dev|esp32-s3-devkitc-1)
	@command -v $(PIO) >/dev/null || { echo "PlatformIO ($(PIO)) not found: pip install platformio" >&2; exit 1; }
	cd firmware-esp32 && $(PIO) run -e $(PIO_ENV) -t upload $(if $(PORT),--upload-port $(PORT))

monitor-esp32: ## PlatformIO serial monitor at 921600 baud (PORT=..., PIO_ENV=...)
	@command -v $(PIO) >/dev/null || { echo "PlatformIO ($(PIO)) not found: pip install platformio" >&2; exit 1; }
	cd firmware-esp32 && $(PIO) device monitor -e $(PIO_ENV) $(if $(PORT),--port $(PORT))

proto: setup ## Regenerate *_pb2 (+ .pyi), nanopb C, the schema-hash header and shared/vectors
	$(BIN)/python -m robohead.protocol.codegen
	$(BIN)/python -m robohead.protocol.vectors

data: setup ## Generate the default synthetic dataset into data/raw through DVC (stage synth)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dvc repro synth
	$(BIN)/dvc status synth

train: setup ## Train: dvc repro (data -> train): ZenML pipeline, MLflow run + registry, models/bundle
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dvc repro
	$(BIN)/dvc status

MLFLOW_PORT ?= 5000
mlflow-ui: setup ## Browse the MLflow runs and the model registry of mlflow.db (MLFLOW_PORT=5000)
	$(BIN)/mlflow ui --backend-store-uri "sqlite:///$(CURDIR)/mlflow.db" \
		--default-artifact-root "$(CURDIR)/mlruns" --host 127.0.0.1 --port $(MLFLOW_PORT)

SIM_ARGS ?=
sim: setup firmware ## The whole loop, no hardware: Mosquitto, robohead-fw-sim, robohead-edge, live monitor (Ctrl-C stops all)
	$(BIN)/robohead sim $(SIM_ARGS)

BENCH_ARGS ?=
bench: setup firmware ## Every benchmark in one run: one table, JSON in .bench/ (BENCH_ARGS=--quick to try it)
	$(BIN)/robohead bench $(BENCH_ARGS)

RPI ?=
CHAMPION_DIR ?= models/champion
deploy-rpi: setup ## Copy the champion bundle to a Pi and restart robohead-edge (RPI=user@host)
	@test -n "$(RPI)" || { echo "usage: make deploy-rpi RPI=user@host" >&2; exit 2; }
	$(BIN)/robohead deploy --out $(CHAMPION_DIR)
	bash edge-rpi/deploy.sh $(RPI) $(CHAMPION_DIR)

bench-edge: setup ## robohead-edge bench: per-hop cost (4/8 ch), ONNX Runtime vs PyTorch, daemon RSS and start-up
	@mkdir -p .bench
	$(BIN)/robohead-edge bench --params params.yaml --out .bench/edge.json

dvc-remote: setup ## Use a local DVC remote outside the repo (REMOTE=/path; per checkout, not committed)
	mkdir -p "$(REMOTE)"
	$(BIN)/dvc remote add --local --default --force local "$(REMOTE)"
	@echo "DVC remote 'local' -> $(REMOTE) (.dvc/config.local). Now: $(BIN)/dvc push  /  $(BIN)/dvc pull"

lint: setup ## ruff check, ruff format --check, mypy (strict) on robohead.protocol, robohead.edge and robohead.host
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy -p robohead.protocol -p robohead.edge -p robohead.host

clean: ## Remove the venv, build outputs and caches (keeps data, models and MLflow runs)
	rm -rf $(VENV) firmware-esp32/build* .pytest_cache .mypy_cache .ruff_cache .hypothesis .bench
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
