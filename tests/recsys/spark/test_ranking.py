"""What a Spark Python worker runs to rank users (``recsys.spark.ranking``), called here
directly on pandas batches: no JVM, so it belongs to the default suite."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys import linalg
from recsys.spark.ranking import top_k_batches

ITEM_IDS = np.array([10, 20, 30, 40, 50])
# item 40 has no factor (NaN): never recommended
ITEM_FACTORS = np.array([[1, 0], [1, 0], [0, 1], [np.nan, np.nan], [2, 0]], dtype=np.float32)


def _batch(users: list[int], features: list[list[float]], seen: list[list[int]]) -> pd.DataFrame:
    return pd.DataFrame({"user_id": users,
                         "features": [np.array(f, dtype=np.float32) for f in features],
                         "seen": [np.array(s, dtype=np.int64) for s in seen]})


@pytest.mark.parametrize("cells", [5, 1_000_000])  # one user per block, or one block
def test_top_k_per_user_unseen_ties_to_the_lower_item(cells: int,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(linalg, "_BLOCK_CELLS", cells)
    batches = [_batch([1, 2], [[1, 0], [0, 1]], [[4], [0, 1, 2, 4]]),
               _batch([3], [[0.5, 0.5]], [[]])]
    out = pd.concat(top_k_batches(iter(batches), ITEM_IDS, ITEM_FACTORS, k=3))
    assert out.to_dict("list") == {
        "user_id": [1, 1, 1, 3, 3, 3],  # user 2 has seen every item with a factor
        "item_id": [10, 20, 30, 50, 10, 20],
        "score": [1.0, 1.0, 0.0, 1.0, 0.5, 0.5],
        "rank": [1, 2, 3, 1, 2, 3],
    }
    assert out["rank"].dtype == np.int32
