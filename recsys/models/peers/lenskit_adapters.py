"""LensKit's item-kNN and implicit-feedback MF as peers, run out of process in LensKit's own venv.

Why out of process: LensKit 2025.8.1, its last release for Python 3.11 (2026.x needs Python
>= 3.12.5), pins ``pandas~=2.0`` while we pin pandas 3.1.1, so it cannot share our venv.
``make peers`` builds ``.venv-lenskit`` from ``requirements-peers-lenskit.txt`` (the setting
``RECSYS_LENSKIT_PYTHON`` points elsewhere). The adapter writes the training ``Interactions``
as Parquet, runs ``lenskit_worker.py`` with that venv's interpreter (isolated mode, threads
pinned through LensKit's and the BLAS/OpenMP environment variables) and reads back LensKit's
scores of every training item for every training user, which become the score snapshot.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import polars as pl

from recsys.data.types import Interactions
from recsys.errors import RecsysError
from recsys.models.peers.base import PeerParams, PeerRecommender
from recsys.models.registry import register
from recsys.settings import get_settings

__all__ = ["LenskitImplicitMF", "LenskitItemKNN", "LenskitPeer", "lenskit_python"]

log = logging.getLogger(__name__)

_WORKER = Path(__file__).with_name("lenskit_worker.py")
_DEFAULT_VENV = Path(__file__).resolve().parents[3] / ".venv-lenskit"
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                     "LK_NUM_THREADS", "LK_NUM_BACKEND_THREADS")


def lenskit_python() -> Path:
    """The interpreter of LensKit's venv: ``RECSYS_LENSKIT_PYTHON`` or ``.venv-lenskit``."""
    return get_settings().lenskit_python or _DEFAULT_VENV / "bin" / "python"


@functools.cache
def _version(python: Path) -> str:
    code = "import importlib.metadata as m; print(m.version('lenskit'))"
    return _run([str(python), "-I", "-c", code], threads=1).strip()


def _run(command: list[str], threads: int) -> str:
    """Run ``command`` with threads pinned; its stdout, or a ``RecsysError`` with its stderr."""
    env = os.environ | dict.fromkeys(_THREAD_VARIABLES, str(threads)) | {"LK_NUM_PROCS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode:
        raise RecsysError(
            f"The LensKit worker failed (exit {done.returncode}) running {command[2:]}: "
            f"{done.stderr.strip()[-2000:]}"
        )
    return done.stdout


class LenskitPeer(PeerRecommender):
    """A LensKit scorer fitted and run in LensKit's own venv; its scores are the snapshot."""

    library = "lenskit"
    distribution = "lenskit"
    seed_arg = None  # the seed goes to LensKit's TrainingOptions(rng=...)
    scorer: ClassVar[str] = ""  # ``module:Class`` of the LensKit scorer

    @classmethod
    def available(cls) -> bool:
        return lenskit_python().is_file()

    @classmethod
    def version(cls) -> str:
        return _version(lenskit_python())

    @classmethod
    def missing_message(cls) -> str:
        return (
            f"{cls.name} runs LensKit in its own virtual environment (LensKit pins pandas 2, "
            f"we pin pandas 3), and there is no interpreter at {lenskit_python()}: run "
            "`make peers` (or set RECSYS_LENSKIT_PYTHON to a Python with "
            "requirements-peers-lenskit.txt installed)"
        )

    def _fit_peer(self, train: Interactions) -> None:
        with tempfile.TemporaryDirectory(prefix="recsys-lenskit-") as tmp:
            folder = Path(tmp)
            request = self._request(folder)
            self.training_rows(train).write_parquet(request["train"])
            (folder / "request.json").write_text(json.dumps(request), encoding="utf-8")
            command = [str(lenskit_python()), "-I", str(_WORKER), str(folder / "request.json")]
            _run(command, self.params.threads)
            scores = pl.read_parquet(request["scores"])
            meta = json.loads(Path(request["meta"]).read_text(encoding="utf-8"))
        log.info("%s: LensKit %s trained in %.2f s", self.name, meta["version"], meta["fit_s"])
        self.snapshot_ = _dense(train, scores)

    def _request(self, folder: Path) -> dict[str, Any]:
        return {
            "train": str(folder / "train.parquet"), "scores": str(folder / "scores.parquet"),
            "meta": str(folder / "meta.json"), "scorer": self.scorer,
            "config": self.peer_kwargs(), "seed": self.params.seed,
            "threads": self.params.threads,
        }


def _dense(train: Interactions, scores: pl.DataFrame) -> np.ndarray:
    """Training users × items; what LensKit did not score is -inf or NaN (never ranked)."""
    dense = np.full(train.shape, -np.inf)
    rows = train.user_index(scores["user_id"].to_numpy())
    cols = train.item_index(scores["item_id"].to_numpy())
    dense[rows, cols] = scores["score"].to_numpy()
    return dense


@register
class LenskitItemKNN(LenskitPeer):
    """LensKit's ``ItemKNNScorer`` (its documented configuration and defaults)."""

    name = "peer:lenskit.item_knn"
    scorer = "lenskit.knn:ItemKNNScorer"

    @dataclass(frozen=True)
    class Params(PeerParams):
        max_nbrs: int = 20
        min_nbrs: int = 1
        min_sim: float = 1e-6
        save_nbrs: int | None = None
        feedback: str = "explicit"
        block_size: int = 250


@register
class LenskitImplicitMF(LenskitPeer):
    """LensKit's ``ImplicitMFScorer`` (implicit-feedback ALS; its documented defaults)."""

    name = "peer:lenskit.implicit_mf"
    scorer = "lenskit.als:ImplicitMFScorer"

    @dataclass(frozen=True)
    class Params(PeerParams):
        embedding_size: int = 50
        epochs: int = 10
        regularization: float = 0.1
        user_embeddings: bool | str = True
        weight: float = 40.0
        use_ratings: bool = False
