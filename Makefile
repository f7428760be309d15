# The two set-up commands of the README: `make run` (the main job) and `make test` (the tests).
# Each creates .venv and installs what it needs on a fresh machine; later runs reuse it.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
OUT ?= out

.PHONY: run test clean

$(VENV)/.installed: pyproject.toml setup.py constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt torch==2.13.0
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $@

run: $(VENV)/.installed
	$(VENV)/bin/genocompile zoo
	$(VENV)/bin/genocompile inspect zoo:darts_v2 --skeleton darts-imagenet
	$(VENV)/bin/genocompile build zoo:darts_v2 --skeleton darts-imagenet --target torch --target onnx --out $(OUT)/darts_v2

test: $(VENV)/.installed
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) $(OUT)
