# The two set-up commands (README.md): `make demo` and `make test`.
# Each creates the virtual environment when it is missing.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.lucidtls-installed

.PHONY: demo test bench lint clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

# One-way, then mutual TLS; each prints its narrated handshake and writes an HTML report.
demo: $(STAMP)
	@mkdir -p out
	$(PY) -m lucidtls demo --html out/demo.html
	$(PY) -m lucidtls demo --mutual --html out/demo-mutual.html
	@echo "HTML reports: $(CURDIR)/out/demo.html and $(CURDIR)/out/demo-mutual.html"

test: $(STAMP)
	$(PY) -m pytest -q

# Not part of `make test` (which only runs it once in --quick mode); BENCH_ARGS="--only hs" etc.
bench: $(STAMP)
	$(PY) -m pip install -q 'tlslite-ng>=0.8.0'
	$(PY) -m bench.run $(BENCH_ARGS)

lint: $(STAMP)
	$(PY) -m pip install -q ruff mypy
	$(PY) -m ruff check src tests
	$(PY) -m mypy

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .hypothesis
