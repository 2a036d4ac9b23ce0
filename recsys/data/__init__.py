"""The MovieLens data layer: releases, fetching, parsing, loading, validation and splits.

``fetch`` is not re-exported here: it would shadow the ``recsys.data.fetch`` module.
"""

from recsys.data.load import ingest, load_dataset
from recsys.data.manifest import Manifest, read_manifest, verify_manifest
from recsys.data.releases import RELEASES, Release, get_release, release_names
from recsys.data.types import Dataset, Interactions, Split
from recsys.data.validate import QualityReport, Thresholds, validate_dataset

__all__ = [
    "RELEASES",
    "Dataset",
    "Interactions",
    "Manifest",
    "QualityReport",
    "Release",
    "Split",
    "Thresholds",
    "get_release",
    "ingest",
    "load_dataset",
    "read_manifest",
    "release_names",
    "validate_dataset",
    "verify_manifest",
]
