"""Spark MLlib's ALS as a peer: explicit or implicit matrix factorisation fitted in Spark.

``peer:spark.als`` takes ALS's own parameters under ALS's own names and defaults (``rank``,
``maxIter``, ``regParam``, ``implicitPrefs``, ``alpha``, ...). The training ratings go to Spark
as Parquet; ALS fits there; the learned factors (users × rank and items × rank, never a
user × item matrix) come back, so the fitted model answers in process like any other and saves
without pickle. Under the Spark engine (``engine: spark``) its top-k per user is computed in
Spark instead (:meth:`SparkALSPeer.spark_recommend`), training items excluded there.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import scipy.sparse as sp

from recsys.data.types import Interactions
from recsys.models.base import Capability
from recsys.models.peers.base import PeerParams, PeerRecommender
from recsys.models.registry import register
from recsys.spark.ranking import TOP_K_SCHEMA, factor_scores, top_k_batches
from recsys.spark.session import SPARK_INSTALL, Exchange

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["SparkALSPeer"]


@register
class SparkALSPeer(PeerRecommender):
    """Spark MLlib's ``ALS`` at its documented defaults (explicit unless ``implicitPrefs``).

    Ratings it predicts are the factor dot products (explicit ALS); an id it has no factor for
    gets the training mean. With ``implicitPrefs`` the dot products are preferences, not ratings.
    """

    name = "peer:spark.als"
    library = "pyspark"
    distribution = "pyspark"
    extra = "spark"
    capabilities = Capability.TOP_N | Capability.RATING

    @dataclass(frozen=True)
    class Params(PeerParams):
        rank: int = 10
        maxIter: int = 10  # noqa: N815 (ALS's own parameter names pass through)
        regParam: float = 0.1  # noqa: N815
        implicitPrefs: bool = False  # noqa: N815
        alpha: float = 1.0
        nonnegative: bool = False
        numUserBlocks: int = 10  # noqa: N815
        numItemBlocks: int = 10  # noqa: N815

    @classmethod
    def missing_message(cls) -> str:
        """What to install when pyspark is missing (Java with it)."""
        return f"{cls.name} needs pyspark, which is not installed: {SPARK_INSTALL}"

    def _fit_peer(self, train: Interactions) -> None:
        from pyspark.ml.recommendation import ALS

        ratings = train.to_frame()
        with Exchange() as exchange:
            als = ALS(userCol="user_id", itemCol="item_id", ratingCol="rating",
                      **self.peer_kwargs())
            model = als.fit(exchange.to_spark(ratings, "train"))
            users = exchange.to_polars(model.userFactors, "user_factors")
            items = exchange.to_polars(model.itemFactors, "item_factors")
        self.user_factors_ = _aligned(users, train.user_ids, self.params.rank)
        self.item_factors_ = _aligned(items, train.item_ids, self.params.rank)
        self.mean_ = float(ratings["rating"].mean()) if ratings.height else 0.0

    # -- in process ----------------------------------------------------------------------
    def _score(self, users: np.ndarray, rows: sp.csr_matrix) -> np.ndarray:
        return factor_scores(self.user_factors_[users], self.item_factors_)

    def _predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        known = (users >= 0) & (items >= 0)
        values = np.full(len(users), self.mean_)
        values[known] = np.einsum("ij,ij->i", self.user_factors_[users[known]],
                                  self.item_factors_[items[known]], dtype=np.float64)
        return np.where(np.isnan(values), self.mean_, values)

    # -- in Spark ------------------------------------------------------------------------
    def spark_recommend(self, exchange: Exchange, users: DataFrame, k: int) -> DataFrame:
        """Top-``k`` unseen items of each of ``users`` (``[user_id]``), ranked in Spark.

        No user × item frame: each user's row (its factors, its training items) goes to a
        Python worker, which scores its users against the item factors in blocks
        (:mod:`recsys.spark.ranking`); the lists are the in-process ones.
        """
        rows = exchange.to_spark(self._user_rows(), "user_rows")
        ranked = partial(top_k_batches, item_ids=self.train_.item_ids.astype(np.int64),
                         item_factors=self.item_factors_, k=k)
        return (users.join(rows, "user_id")
                .repartition(exchange.spark.sparkContext.defaultParallelism)
                .mapInPandas(ranked, schema=TOP_K_SCHEMA))

    def _user_rows(self) -> pl.DataFrame:
        """``[user_id, features, seen]``: each user with factors and its training columns
        (every user ALS has factors for rated something)."""
        matrix = self.train_.matrix
        owners = np.repeat(self.train_.user_ids.astype(np.int64), np.diff(matrix.indptr))
        seen = pl.DataFrame({"user_id": owners, "seen": matrix.indices.astype(np.int64)})
        factors = _factor_frame(self.train_.user_ids, self.user_factors_, "user_id")
        return factors.join(seen.group_by("user_id").agg("seen"), on="user_id")

    # -- persistence: the factors (no score snapshot) ------------------------------------
    def _get_state(self) -> dict[str, np.ndarray]:
        return {"user_factors": self.user_factors_, "item_factors": self.item_factors_,
                "mean": np.array(self.mean_)}

    def _set_state(self, state: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.snapshot_ = None
        self.user_factors_, self.item_factors_ = state["user_factors"], state["item_factors"]
        self.mean_ = float(state["mean"])


def _aligned(factors: pl.DataFrame, ids: np.ndarray, rank: int) -> np.ndarray:
    """ALS's ``[id, features]`` rows in the order of ``ids``; NaN rows for ids without one."""
    out = np.full((len(ids), rank), np.nan, dtype=np.float32)
    position = {int(i): n for n, i in enumerate(ids)}
    rows = [position[int(i)] for i in factors["id"].to_list()]
    if rows:
        out[rows] = np.asarray(factors["features"].to_list(), dtype=np.float32)
    return out


def _factor_frame(ids: np.ndarray, factors: np.ndarray, column: str) -> pl.DataFrame:
    known = ~np.isnan(factors).any(axis=1)
    return pl.DataFrame({column: ids[known].astype(np.int64),
                         "features": factors[known].tolist()},
                        schema={column: pl.Int64, "features": pl.List(pl.Float32)})
