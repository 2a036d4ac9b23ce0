"""recsys: MovieLens recommenders with an embedded benchmarking lab."""

__version__ = "0.1.0"
