"""Fit a LensKit scorer and score every training user: run in LensKit's own virtual environment.

``python -I lenskit_worker.py REQUEST.json`` — started by ``recsys.models.peers.lenskit_adapters``
with the interpreter of the LensKit venv; it imports LensKit, pandas and pyarrow only, never
``recsys`` (whose pins LensKit's conflict with). The request names the training Parquet
``[user_id, item_id, rating]``, the scorer (``module:Class``), its configuration, the seed, the
thread count and where to write the scores: a Parquet ``[user_id, item_id, score]`` with one
row per (training user, training item), scored through LensKit's standard top-N pipeline
(``topn_pipeline``: the user's training history is looked up as the query, as in LensKit's
own ``recommend``), and a JSON with LensKit's version and the fit time.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def main(request_path: str) -> None:
    """Serve one request (see the module docstring)."""
    request = json.loads(Path(request_path).read_text(encoding="utf-8"))
    pipeline, data, fit_s = _fit(request)
    _scores(pipeline, data).to_parquet(request["scores"], index=False)
    import lenskit

    meta = {"version": lenskit.__version__, "fit_s": fit_s}
    Path(request["meta"]).write_text(json.dumps(meta), encoding="utf-8")


def _fit(request: dict[str, Any]) -> tuple[Any, Any, float]:
    """The trained pipeline, the LensKit dataset and the seconds training took."""
    from lenskit.data import from_interactions_df
    from lenskit.parallel import initialize
    from lenskit.pipeline import topn_pipeline
    from lenskit.training import TrainingOptions

    threads = request["threads"]
    initialize(processes=1, threads=threads, backend_threads=threads)
    module, name = request["scorer"].split(":")
    scorer = getattr(importlib.import_module(module), name)(**request["config"])
    started = time.perf_counter()
    data = from_interactions_df(pd.read_parquet(request["train"]))
    pipeline = topn_pipeline(scorer)
    pipeline.train(data, TrainingOptions(rng=request["seed"]))
    return pipeline, data, time.perf_counter() - started


def _scores(pipeline: Any, data: Any) -> pd.DataFrame:
    """The scorer's scores of every training item for every training user."""
    from lenskit.data import ItemList

    items = ItemList(item_ids=data.items.ids())
    frames = []
    for user in data.users.ids():
        scored = pipeline.run("scorer", query=user, items=items)
        frames.append(pd.DataFrame({"user_id": np.full(len(scored), user),
                                    "item_id": scored.ids(), "score": scored.scores()}))
    return pd.concat(frames, ignore_index=True)


if __name__ == "__main__":
    main(sys.argv[1])
