"""Server-side latency of persona recommendations, as the Persona view asks for them.

    python -m app.measure_latency --dataset ml-latest-small --repeats 100

Times :meth:`recsys.service.RecommenderService.recommend` (fold-in, reasons and titles
included) for every ready-made persona and every trained model, and prints p50/p95 in ms.
Train the models first (``recsys train ml-latest-small``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from recsys.service import RecommenderService, load_personas

PERSONAS = Path(__file__).resolve().parent / "personas.yaml"


def main() -> None:
    """Print one line per model: p50 and p95 over personas × repeats."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="ml-latest-small")
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()
    service = RecommenderService.open(args.dataset)
    personas = load_personas(PERSONAS, service.dataset.movies)
    for model in service.model_names:
        timings = []
        for _ in range(args.repeats):
            for persona in personas:
                history = persona.history
                start = time.perf_counter()
                service.recommend(model, history=history, k=args.k)
                timings.append(time.perf_counter() - start)
        ms = 1000 * np.array(timings[len(personas):])  # the first round warms caches up
        print(f"{args.dataset} {model:14s} n={len(ms):4d} p50 {np.percentile(ms, 50):7.1f} ms"
              f"  p95 {np.percentile(ms, 95):7.1f} ms")


if __name__ == "__main__":
    main()
