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

# The main job: compile a published genotype, then search one under a MultiAdds limit (on scikit-learn's
# digits; a few minutes on two cores, resumed if interrupted) and compile what the search found.
run: $(VENV)/.installed
	$(VENV)/bin/genocompile zoo
	$(VENV)/bin/genocompile inspect zoo:darts_v2 --skeleton darts-imagenet
	$(VENV)/bin/genocompile build zoo:darts_v2 --skeleton darts-imagenet --target torch --target onnx --out $(OUT)/darts_v2
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(VENV)/bin/genocompile search --searcher evolution --space darts-cifar \
		--budget 10 --population 4 --max-multiadds 250000000 --out $(OUT)/search
	$(VENV)/bin/genocompile build $(OUT)/search/genotype.json --target torch --target onnx --out $(OUT)/searched

test: $(VENV)/.installed
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) $(OUT)
