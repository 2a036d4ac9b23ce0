"""The process's one SparkSession and the Parquet exchange between recsys and Spark.

Data crosses the boundary as Parquet files in the exchange folder
(:attr:`recsys.settings.Settings.spark_exchange`): polars writes what Spark reads, Spark writes
what polars reads. On a cluster that folder must be a path every node sees at the same place.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from recsys.errors import RecsysError
from recsys.settings import Settings, get_settings

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["ENGINES", "SPARK_INSTALL", "Exchange", "spark_session"]

log = logging.getLogger(__name__)

ENGINES = ("local", "spark")  # in-process (NumPy/polars) or Spark
SPARK_INSTALL = "pip install -e .[spark] (and Java 17: apt-get install openjdk-17-jre-headless)"
_CONF = {"spark.sql.session.timeZone": "UTC", "spark.ui.showConsoleProgress": "false"}
# In local mode only (a cluster's own configuration decides there): small-data defaults, no UI,
# the driver on the loopback interface; its heap is settings.spark_driver_memory.
_LOCAL_CONF = {
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.driver.host": "127.0.0.1",
}


def spark_session(settings: Settings | None = None) -> SparkSession:
    """The active SparkSession, or a new one on ``settings.spark_master`` (``local[2]``)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise RecsysError(f"the Spark engine needs pyspark, which is not installed: "
                          f"{SPARK_INSTALL}") from None
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    settings = settings or get_settings()
    builder = SparkSession.builder.master(settings.spark_master).appName("recsys")
    local = {}
    if settings.spark_master.startswith("local"):
        local = _LOCAL_CONF | {"spark.driver.memory": settings.spark_driver_memory}
        # the Python workers (mapInPandas) run this interpreter, with recsys and its packages
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    for key, value in (_CONF | local).items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as error:  # py4j/pyspark raise plain exceptions when the JVM cannot start
        raise RecsysError(f"cannot start Spark on master {settings.spark_master!r}: {error}; "
                          f"is Java 17 installed? {SPARK_INSTALL}") from error
    spark.sparkContext.setLogLevel("WARN")
    # ALS truncates its lineage every checkpointInterval iterations only with a checkpoint
    # folder; without one, 15 iterations can overflow the stack serialising a task.
    spark.sparkContext.setCheckpointDir(str(Path(settings.spark_exchange) / "checkpoints"))
    log.info("Spark %s session on %s", spark.version, settings.spark_master)
    return spark


class Exchange:
    """One folder of Parquet files shared with Spark; removed on ``close`` (or ``with`` exit)."""

    def __init__(self, settings: Settings | None = None) -> None:
        settings = settings or get_settings()
        self.spark = spark_session(settings)
        self.folder = Path(settings.spark_exchange) / f"exchange-{uuid.uuid4().hex[:12]}"
        self.folder.mkdir(parents=True, exist_ok=True)

    def __enter__(self) -> Exchange:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Delete the exchanged files (Spark frames read from them become unusable)."""
        shutil.rmtree(self.folder, ignore_errors=True)

    def to_spark(self, frame: pl.DataFrame, name: str) -> DataFrame:
        """``frame`` as a Spark DataFrame, through ``<folder>/<name>.parquet``."""
        path = self.folder / f"{name}.parquet"
        frame.write_parquet(path)
        return self.spark.read.parquet(str(path))

    def to_polars(self, frame: DataFrame, name: str) -> pl.DataFrame:
        """A Spark DataFrame back as polars, written by Spark to ``<folder>/<name>/``."""
        path = self.folder / name
        frame.write.mode("overwrite").parquet(str(path))  # an empty frame: one empty part
        return pl.read_parquet(path / "*.parquet")
