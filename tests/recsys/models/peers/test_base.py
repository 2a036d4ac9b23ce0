"""The peer adapter base: missing-peer errors, argument passing, provenance, cross-checks."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from recsys.data.split import stratified_split
from recsys.data.types import Interactions, TrainingData
from recsys.errors import RecsysError
from recsys.models import available_models, create_model, get_model_class
from recsys.models.peers import EXTRA_INSTALL, PeerRecommender, describe_peers, is_peer
from recsys.models.peers.cornac_adapters import CornacBPR
from recsys.models.peers.lenskit_adapters import LenskitItemKNN

PEERS = [name for name in available_models() if is_peer(name)]


def test_every_peer_is_an_adapter_under_the_prefix() -> None:
    assert set(PEERS) == {
        "peer:cornac.bivae", "peer:cornac.bpr", "peer:implicit.als", "peer:implicit.bpr",
        "peer:lenskit.implicit_mf", "peer:lenskit.item_knn", "peer:spark.als",
        "peer:surprise.svd",
    }
    assert all(issubclass(get_model_class(name), PeerRecommender) for name in PEERS)
    assert not any(issubclass(get_model_class(n), PeerRecommender)
                   for n in available_models() if not is_peer(n))


def test_missing_library_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, checkerboard: object
) -> None:
    monkeypatch.setattr(CornacBPR, "library", "no_such_library_here")
    with pytest.raises(RecsysError, match=r"peer:cornac\.bpr needs cornac") as error:
        CornacBPR().fit(checkerboard.train)
    assert EXTRA_INSTALL in str(error.value)


def test_missing_lenskit_venv_says_how_to_build_it(
    monkeypatch: pytest.MonkeyPatch, checkerboard: object, tmp_path: object
) -> None:
    monkeypatch.setenv("RECSYS_LENSKIT_PYTHON", str(tmp_path / "no-venv" / "python"))
    assert not LenskitItemKNN.available()
    with pytest.raises(RecsysError, match="make peers"):
        LenskitItemKNN().fit(checkerboard.train)


def test_seed_and_threads_go_to_the_peers_own_arguments() -> None:
    als = create_model("peer:implicit.als", factors=8, seed=3, threads=2)
    assert als.peer_kwargs() == {"factors": 8, "regularization": 0.01, "alpha": 1.0,
                                 "iterations": 15, "use_cg": True, "random_state": 3,
                                 "num_threads": 2}
    bivae = create_model("peer:cornac.bivae", seed=5)
    assert bivae.peer_kwargs()["seed"] == 5 and bivae.peer_kwargs()["use_gpu"] is False
    assert "num_threads" not in bivae.peer_kwargs()  # torch threads are pinned instead
    knn = create_model("peer:lenskit.item_knn", feedback="implicit")
    assert "seed" not in knn.peer_kwargs() and knn.peer_kwargs()["feedback"] == "implicit"


def test_describe_peers_lists_only_peers() -> None:
    described = describe_peers([("EASE", "ease", {}),
                                ("ALS", "peer:implicit.als", {"threads": 1})])
    assert list(described) == ["ALS"]
    assert described["ALS"]["library"] == "implicit" and described["ALS"]["threads"] == 1
    assert described["ALS"]["version"][0].isdigit()


def test_surprise_peer_agrees_with_our_wrapper(small_train: Interactions) -> None:
    """Surprise's own predict loop and our vectorised wrapper give the same lists."""
    params = {"n_factors": 8, "n_epochs": 5, "seed": 7}
    users = small_train.user_ids[:10]
    peer = create_model("peer:surprise.svd", **params).fit(small_train).recommend(users, k=10)
    ours = create_model("surprise_svd", **params).fit(small_train).recommend(users, k=10)
    assert peer["item_id"].to_list() == ours["item_id"].to_list()
    np.testing.assert_allclose(peer["score"], ours["score"], rtol=1e-9)


def test_peers_read_the_rows_in_the_splitters_order(small_ratings: pl.DataFrame) -> None:
    """Surprise numbers users by first appearance: in the split's order when it is given."""
    split = stratified_split(small_ratings, ratio=0.75, by="item", seed=42)
    train = Interactions.from_frame(split.train)

    def users_as_numbered(data: TrainingData | Interactions) -> list[int]:
        trainset = create_model("peer:surprise.svd", n_epochs=1).fit(data).model_.trainset
        return [int(trainset.to_raw_uid(u)) for u in trainset.all_users()]

    in_split_order = split.ordered_train["user_id"].unique(maintain_order=True).to_list()
    assert in_split_order != sorted(in_split_order)
    assert users_as_numbered(TrainingData(train, ratings=split.ordered_train)) == in_split_order
    assert users_as_numbered(train) == sorted(in_split_order)


def test_implicit_bpr_peer_agrees_with_our_bpr(small_train: Interactions) -> None:
    """implicit at the same settings: the peer's recommend and our factor scores agree."""
    params = {"factors": 8, "iterations": 20, "seed": 7}
    users = small_train.user_ids[:10]
    peer = create_model("peer:implicit.bpr", **params).fit(small_train).recommend(users, k=10)
    ours = create_model("bpr", **params).fit(small_train).recommend(users, k=10)
    assert peer["item_id"].to_list() == ours["item_id"].to_list()
    np.testing.assert_allclose(peer["score"], ours["score"], rtol=1e-5)


@pytest.mark.slow
@pytest.mark.skipif(not LenskitItemKNN.available(), reason=LenskitItemKNN.missing_message())
def test_lenskit_worker_failure_is_a_recsys_error(checkerboard: object) -> None:
    model = create_model("peer:lenskit.item_knn", feedback="no-such-feedback")
    with pytest.raises(RecsysError, match="LensKit worker failed") as error:
        model.fit(checkerboard.train)
    assert "feedback" in str(error.value)  # LensKit's own message comes through
