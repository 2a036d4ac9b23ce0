"""Run the content/hybrid study on ml-latest-small and write its combined report.

    python benchmarks/content_hybrid.py [--force] [--mlflow] [--threads 2]

The study is five ordinary benchmark specs (each also runs alone with ``recsys bench run``):
(a) warm users, leave-last-5; (b) cold-start items; (c) cold-start users with 1, 3, 5 known
ratings. Parts whose results folder exists are not rerun unless ``--force``. The answers with
paired tests, the learning curve (c), the cold-item figure (b) and the embedding / faiss
timings go into ``benchmarks/results/content-hybrid-ml-latest-small/study.md``
(logic: ``recsys.bench.study``).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from recsys.bench import study

HERE = Path(__file__).parent


def main() -> None:
    """Run (or reuse) every part, then write the combined report and figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rerun parts that have results")
    parser.add_argument("--mlflow", action="store_true", help="log runs to MLflow")
    parser.add_argument("--threads", type=int, default=2, help="BLAS/OpenMP threads")
    parser.add_argument("--sample", type=int, default=1000, help="documents timed for embedding")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    parts = study.run_study(HERE / "specs", HERE / "results", force=args.force,
                            tracking=args.mlflow, threads=args.threads)
    study.write_study(parts, study.timings(args.sample))


if __name__ == "__main__":
    main()
