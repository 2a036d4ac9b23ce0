"""The Spark engine: one SparkSession, a Parquet exchange, metrics on Spark frames, top-k in Spark.

pyspark is optional (the ``spark`` extra, ``pip install -e .[spark]``; Java 17 on the machine).
Nothing here imports pyspark at import time: a function that needs it imports it, and says what
to install when it is missing. :data:`ENGINES` names the evaluation engines a benchmark spec or
the pipeline may select (``engine: spark``).
"""

from recsys.spark.session import ENGINES, SPARK_INSTALL, Exchange, spark_session

__all__ = ["ENGINES", "SPARK_INSTALL", "Exchange", "spark_session"]
