"""Score models on a spec's validation split only (never its test side).

The spec's protocol makes the outer split (first seed) and, applied again to that split's
training part, the validation split (as the deep-ml100k spec's tuned models are validated:
same protocol, same seed). Each candidate is fitted on the validation training part and scored
on its held-out part; the fit time (and seconds per epoch of models trained in epochs) is
printed beside the score.

    python benchmarks/validation_score.py benchmarks/specs/deep-ml100k.yaml \
        mult_vae '{"epochs": 120, "anneal_cap": 0.5}' bpr_uniform '{"epochs": 200}'
"""

from __future__ import annotations

import argparse
import json
import time

from recsys.bench.runner import _load, _prepare
from recsys.bench.spec import load_spec
from recsys.evaluation.protocol import EvalPlan, evaluate, make_splits
from recsys.models import create_model
from recsys.settings import get_settings


def main() -> None:
    """Fit and score each (model, params) pair of the command line on validation."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec")
    parser.add_argument("pairs", nargs="+", help="model name, JSON params, model name, ...")
    parser.add_argument("--metric", default="ndcg@10")
    args = parser.parse_args()
    spec = load_spec(args.spec)
    dataset = _load(spec.dataset, get_settings())
    seed = spec.seeds[0]
    protocol = spec.protocol
    outer = make_splits(protocol.kind, protocol.params, dataset.ratings, seed)[0]
    data = _prepare(outer, f"seed{seed}-split0", seed, spec, dataset)
    inner = make_splits(protocol.kind, protocol.params, data.ratings, seed)[0]
    valid = _prepare(inner, f"seed{seed}-split0/valid", seed, spec, dataset)
    plan = EvalPlan.for_metric(args.metric, spec.recall_denominator, spec.engine)
    for name, raw in zip(args.pairs[::2], args.pairs[1::2], strict=True):
        params = {"seed": seed} | json.loads(raw)
        model = create_model(name, **params)
        started = time.perf_counter()
        model.fit(valid.train)
        fit_s = time.perf_counter() - started
        score = evaluate(model, valid, plan).metrics[args.metric]
        epochs = len(getattr(model, "curve_", [])) or None
        per_epoch = f" {fit_s / epochs:.2f} s/epoch over {epochs}" if epochs else ""
        print(f"{name} {raw}: validation {args.metric} {score:.4f} (fit {fit_s:.1f} s{per_epoch})",
              flush=True)


if __name__ == "__main__":
    main()
