# The two commands a new user runs: `make demo` and `make test`.
VENV ?= .venv
AIRFLOW_VENV ?= .venv-airflow
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
RECSYS := $(VENV)/bin/recsys
DATASET ?= ml-latest-small
PORT ?= 8501
export HF_HUB_OFFLINE ?= 1

.PHONY: install airflow-venv demo test test-slow lint bench bench-scale clean-venv

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-dev.txt  # includes the project itself (-e .)
	touch $@

install: $(VENV)/.installed ## create .venv and install everything pinned

# Airflow in its own venv: in the app's venv it would downgrade fastapi and take over logging.
$(AIRFLOW_VENV)/.installed: pipelines/requirements-airflow.txt
	test -x $(AIRFLOW_VENV)/bin/python || python3 -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/pip install --quiet --upgrade pip
	$(AIRFLOW_VENV)/bin/pip install --quiet -r pipelines/requirements-airflow.txt
	touch $@

airflow-venv: $(AIRFLOW_VENV)/.installed ## create .venv-airflow (the DAG tests use it)

# `recsys train` validates first and refuses a dataset whose quality report fails;
# `make demo TRAIN_FLAGS=--allow-failed-validation` trains anyway.
TRAIN_FLAGS ?=

demo: install ## fetch ml-latest-small, validate it, train the default models, start the app on :8501
	$(RECSYS) data fetch $(DATASET)
	$(RECSYS) train $(DATASET) $(TRAIN_FLAGS)
	$(VENV)/bin/streamlit run app/main.py --server.address 127.0.0.1 --server.port $(PORT) --server.headless true

test: install airflow-venv ## run the whole default test suite
	$(PY) -m pytest

test-slow: install airflow-venv ## the slow-marked tests (simulations, services); none selected is not a failure
	$(PY) -m pytest -m slow || test $$? -eq 5

lint: install
	$(VENV)/bin/ruff check recsys app benchmarks pipelines tests ops

bench: install ## ingest benchmark on a synthetic ml-20m-shaped dataset
	$(PY) benchmarks/ingest_benchmark.py

# Minutes and GBs at full size: run it on a quiet machine (LIKE=ml-20m|ml-25m|ml-32m).
LIKE ?= ml-20m
bench-scale: install ## synth + validate + `recsys train` on a synthetic release of an official shape
	$(PY) benchmarks/scale.py --like $(LIKE)
