# The two commands a new user runs: `make demo` and `make test`.
VENV ?= .venv
AIRFLOW_VENV ?= .venv-airflow
LENSKIT_VENV ?= .venv-lenskit
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
RECSYS := $(VENV)/bin/recsys
DATASET ?= ml-latest-small
PORT ?= 8501
export HF_HUB_OFFLINE ?= 1

.PHONY: install airflow-venv peers demo test test-slow stack-test lint bench bench-scale notebooks logbook clean-venv

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-spark.txt pyproject.toml
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

# The peer toolkits of the benchmark lab: cornac in .venv (the `peers` extra), LensKit in its own
# venv (it pins pandas 2; its adapters run it out of process).
$(VENV)/.peers-installed: $(VENV)/.installed requirements-peers.txt
	$(PIP) install --quiet -r requirements-peers.txt
	touch $@

$(LENSKIT_VENV)/.installed: requirements-peers-lenskit.txt
	test -x $(LENSKIT_VENV)/bin/python || python3 -m venv $(LENSKIT_VENV)
	$(LENSKIT_VENV)/bin/pip install --quiet --upgrade pip
	$(LENSKIT_VENV)/bin/pip install --quiet -r requirements-peers-lenskit.txt
	touch $@

peers: $(VENV)/.peers-installed $(LENSKIT_VENV)/.installed ## install the peer toolkits (cornac, LensKit)

# `recsys train` validates first and refuses a dataset whose quality report fails;
# `make demo TRAIN_FLAGS=--allow-failed-validation` trains anyway.
TRAIN_FLAGS ?=

demo: install ## fetch ml-latest-small, validate it, train the default models, start the app on :8501
	$(RECSYS) data fetch $(DATASET)
	$(RECSYS) train $(DATASET) $(TRAIN_FLAGS)
	$(VENV)/bin/streamlit run app/main.py --server.address 127.0.0.1 --server.port $(PORT) --server.headless true

# Each run leaves its JUnit XML in test-output/: the logbook's checklist reads it.
test: install airflow-venv ## run the whole default test suite (notebooks included)
	$(PY) -m pytest --junitxml=test-output/junit.xml

test-slow: install airflow-venv peers ## the slow-marked tests (simulations, services, peers); none selected is not a failure
	$(PY) -m pytest -m slow --junitxml=test-output/junit-slow.xml || test $$? -eq 5

stack-test: install ## the whole stack in Docker, built without Hub and exercised end to end (root)
	$(PY) -m ops.stack

lint: install
	$(VENV)/bin/ruff check recsys app benchmarks pipelines tests ops notebooks

bench: install ## ingest benchmark on a synthetic release of an official shape (LIKE=ml-20m)
	$(PY) benchmarks/ingest_benchmark.py --like $(LIKE)

notebooks: install ## execute notebooks/*.py against the data and render them to build/notebooks/*.html
	$(RECSYS) report notebooks --out build/notebooks

logbook: install ## regenerate docs/logbook/logbook.{md,html} from the last test run and the results
	$(RECSYS) data fetch ml-latest-small && $(RECSYS) data validate ml-latest-small
	$(RECSYS) data fetch ml-100k && $(RECSYS) data validate ml-100k
	$(RECSYS) report logbook
# Minutes and GBs at full size: run it on a quiet machine (LIKE=ml-20m|ml-25m|ml-32m).
LIKE ?= ml-20m
bench-scale: install ## the scale report of a synthetic official shape: ingest, train, ALS, evaluation, serving, pipeline, Surprise, profiles
	$(PY) benchmarks/scale.py --like $(LIKE) --pipeline --surprise
	$(PY) benchmarks/scale.py --like $(LIKE) --only ingest validate train evaluate serve --profile
	$(PY) benchmarks/ingest_benchmark.py --like $(LIKE)
	$(PY) benchmarks/scale.py --name synthetic-ml-1m --users 6040 --items 3706 --ratings 1000209 \
		--surprise --only synth_ingest surprise
