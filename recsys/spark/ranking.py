"""What a Spark Python worker runs to rank users in Spark (``mapInPandas``), no user × item frame.

Each input row is one user: ``user_id``, its factors (``features``) and its training items as
column indices (``seen``). The item factors come with the function (a broadcast once they pass
pyspark's size threshold). A batch is scored in blocks of rows with NumPy and each user's top k
kept by :func:`recsys.linalg.top_k_unseen`, so the lists are the in-process ones (float64
products, equal to rounding: BLAS may sum a block of another row count in another order; ties:
the lower item index first). The module imports only NumPy, SciPy and
:mod:`recsys.linalg`, so that a worker starts quickly.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from recsys.linalg import row_blocks, top_k_unseen

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["TOP_K_SCHEMA", "factor_scores", "top_k_batches"]

TOP_K_SCHEMA = "user_id bigint, item_id bigint, score double, rank int"


def factor_scores(user_factors: np.ndarray, item_factors: np.ndarray) -> np.ndarray:
    """Users' factors × every item's, in float64; ``-inf`` where a factor is missing (NaN)."""
    scores = user_factors.astype(np.float64) @ item_factors.T
    return np.where(np.isnan(scores), -np.inf, scores)


def top_k_batches(batches: Iterator[pd.DataFrame], item_ids: np.ndarray,
                  item_factors: np.ndarray, k: int) -> Iterator[pd.DataFrame]:
    """``[user_id, item_id, score, rank]``: the top-``k`` unseen items of every user row of
    ``batches`` (``[user_id, features, seen]``), one block of users at a time."""
    import pandas as pd

    for batch in batches:
        for rows in row_blocks(len(batch), len(item_ids)):
            block = batch.iloc[rows]
            seen = block["seen"].to_numpy()
            indptr = np.concatenate([[0], np.cumsum([len(columns) for columns in seen])])
            mask = sp.csr_matrix((np.ones(indptr[-1]), np.concatenate(seen), indptr),
                                 shape=(len(block), len(item_ids)))
            scores = factor_scores(np.stack(block["features"].to_numpy()), item_factors)
            row, column, best, rank = top_k_unseen(scores, mask, k)
            yield pd.DataFrame({"user_id": block["user_id"].to_numpy()[row],
                                "item_id": item_ids[column], "score": best,
                                "rank": rank.astype(np.int32)})
