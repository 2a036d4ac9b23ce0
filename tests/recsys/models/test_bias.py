"""The bias baseline: hand-computed ALS updates and agreement with Surprise's BaselineOnly."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from surprise import BaselineOnly, Dataset, Reader

from recsys.data.types import Interactions
from recsys.errors import ConfigError
from recsys.models import create_model
from recsys.models.bias import als_biases

# u1: i1=5, i2=3 | u2: i1=4 ; mu = 4
FRAME = pl.DataFrame({"user_id": [1, 1, 2], "item_id": [1, 2, 1], "rating": [5.0, 3.0, 4.0]})


def test_one_als_epoch_by_hand() -> None:
    b = als_biases(Interactions.from_frame(FRAME).matrix, reg_u=1.0, reg_i=2.0, n_epochs=1)
    # items first (b_u = 0): b_i1 = (1 + 0) / (2 + 2) = 1/4, b_i2 = -1 / (2 + 1) = -1/3
    # users: b_u1 = ((5-4-1/4) + (3-4+1/3)) / (1 + 2) = (3/4 - 2/3) / 3 = 1/36
    #        b_u2 = (4 - 4 - 1/4) / (1 + 1) = -1/8
    assert b.mu == pytest.approx(4.0)
    np.testing.assert_allclose(b.item_bias, [1 / 4, -1 / 3])
    np.testing.assert_allclose(b.user_bias, [1 / 36, -1 / 8])


def test_predict_falls_back_and_clips() -> None:
    train = Interactions.from_frame(FRAME)
    model = create_model("bias", reg_u=0.0, reg_i=0.0, n_epochs=3).fit(train)
    b = model.baselines_
    predictions = model.predict([1, 99, 1, 99], [2, 1, 99, 99])
    expected = [b.mu + b.user_bias[0] + b.item_bias[1], b.mu + b.item_bias[0],
                b.mu + b.user_bias[0], b.mu]
    np.testing.assert_allclose(predictions, np.clip(expected, 3.0, 5.0))
    assert model.recommend([2], k=1)["item_id"].to_list() == [2]  # the only unseen item


def test_invalid_params_raise() -> None:
    with pytest.raises(ConfigError):
        create_model("bias", n_epochs=0)


def test_matches_surprise_baseline_only(u1: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    train, test = u1
    model = create_model("bias").fit(Interactions.from_frame(train))
    ours = model.predict(test["user_id"].to_numpy(), test["item_id"].to_numpy())
    data = Dataset.load_from_df(
        train.select("user_id", "item_id", "rating").to_pandas(), Reader(rating_scale=(1, 5))
    )
    algo = BaselineOnly(verbose=False).fit(data.build_full_trainset())
    theirs = [algo.predict(u, i).est for u, i in test.select("user_id", "item_id").iter_rows()]
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-9)  # RMSE 0.95994 on u1
