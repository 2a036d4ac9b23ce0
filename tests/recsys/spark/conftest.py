"""One SparkSession (local[2]) for every Spark test: the JVM starts once per test session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("pyspark", reason="the Spark engine needs the spark extra: "
                                      "pip install -e .[spark]")

from recsys.settings import get_settings  # noqa: E402
from recsys.spark import spark_session  # noqa: E402


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The shared session; its Parquet exchange folder lives in a temporary directory."""
    scratch = tmp_path_factory.mktemp("spark-exchange")
    previous = os.environ.get("RECSYS_SPARK_SCRATCH")
    os.environ["RECSYS_SPARK_SCRATCH"] = str(scratch)
    session = spark_session(get_settings())
    yield session
    session.stop()
    if previous is None:
        os.environ.pop("RECSYS_SPARK_SCRATCH")
    else:
        os.environ["RECSYS_SPARK_SCRATCH"] = previous
    assert not list(Path(scratch).glob("exchange-*")), "an Exchange left files behind"
