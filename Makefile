# Two commands set up everything on a fresh machine:
#   make demo   venv + install + transcribe the bundled clip with the bundled model
#   make test   venv + install + the whole test suite (scripts/run-tests.sh: servers the tests start
#               are stopped however the run ends)
#   make test-repeat N=5 [TESTS="tests/test_gui.py tests/test_midi.py"]   the suite (or TESTS) N times in a row
PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test test-repeat setup clean
N ?= 5
TESTS ?=

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/setup-system.sh
	bash scripts/setup-system.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/svt-live svt_live/data/vocadito_10.wav --eval svt_live/data/vocadito_10_notesA1.csv
	$(BIN)/svt-live svt_live/data/vocadito_10.wav --eval svt_live/data/vocadito_10_notesA2.csv -q

test: $(STAMP)
	PYTHON=$(BIN)/python bash scripts/run-tests.sh $(TESTS)

test-repeat: $(STAMP)
	PYTHON=$(BIN)/python bash scripts/repeat-tests.sh $(N) $(TESTS)

clean:
	rm -rf $(VENV) build *.egg-info
