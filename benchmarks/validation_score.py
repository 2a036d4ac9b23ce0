"""Score models, or a blend's weights, on a spec's validation split only (never its test side).

The spec's protocol makes the outer split (first seed) and, applied again to that split's
training part, the validation split (as the deep-ml100k spec's tuned models are validated:
same protocol, same seed). Each candidate is fitted on the validation training part and scored
on its held-out part; the fit time (and seconds per epoch of models trained in epochs) is
printed beside the score.

    python benchmarks/validation_score.py benchmarks/specs/deep-ml100k.yaml \
        mult_vae '{"epochs": 120, "anneal_cap": 0.5}' bpr_uniform '{"epochs": 200}'

``--blend LABEL`` instead fits the components of the spec's ``hybrid_blend`` model ``LABEL``
once on the validation training part and scores every weight vector of the simplex grid
(the blend's ``grid_step``) on the blended per-user z-scores, exactly as the blend combines
them; it prints each component alone, the five best weight vectors and the best, ready for the
blend's ``weights``.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from recsys.bench.runner import _load, _prepare
from recsys.bench.spec import BenchmarkSpec, load_spec
from recsys.evaluation.protocol import EvalPlan, PreparedSplit, evaluate, make_splits
from recsys.models import Recommender, create_model
from recsys.models.ensemble import Validation, normalise_scores, simplex_grid
from recsys.settings import get_settings


def validation_split(spec: BenchmarkSpec) -> PreparedSplit:
    """The validation split carved from the training part of the spec's first split."""
    dataset = _load(spec.dataset, get_settings())
    seed, protocol = spec.seeds[0], spec.protocol
    outer = make_splits(protocol.kind, protocol.params, dataset.ratings, seed)[0]
    data = _prepare(outer, f"seed{seed}-split0", seed, spec, dataset)
    inner = make_splits(protocol.kind, protocol.params, data.ratings, seed)[0]
    return _prepare(inner, f"seed{seed}-split0/valid", seed, spec, dataset)


def _fitted(name: str, params: dict, valid: PreparedSplit) -> tuple[Recommender, str]:
    model = create_model(name, **params)
    started = time.perf_counter()
    model.fit(valid.train)
    fit_s = time.perf_counter() - started
    epochs = len(getattr(model, "curve_", [])) or None
    per_epoch = f" {fit_s / epochs:.2f} s/epoch over {epochs}" if epochs else ""
    return model, f"fit {fit_s:.1f} s{per_epoch}"


def score_models(spec: BenchmarkSpec, pairs: list[str], metric: str) -> None:
    """Fit and score each (model name, JSON params) pair on the validation split."""
    valid = validation_split(spec)
    plan = EvalPlan.for_metric(metric, spec.recall_denominator, spec.engine)
    for name, raw in zip(pairs[::2], pairs[1::2], strict=True):
        model, cost = _fitted(name, {"seed": spec.seeds[0]} | json.loads(raw), valid)
        score = evaluate(model, valid, plan).metrics[metric]
        print(f"{name} {raw}: validation {metric} {score:.4f} ({cost})", flush=True)


def score_blend(spec: BenchmarkSpec, label: str) -> None:
    """Every simplex weight vector of a spec's blend, on the validation split (NDCG@k)."""
    blend = next((m for m in spec.models if m.display == label and m.name == "hybrid_blend"),
                 None)
    if blend is None:
        raise SystemExit(f"no hybrid_blend labelled {label!r} in {spec.name}")
    params = create_model("hybrid_blend", **blend.params).params
    valid = validation_split(spec)
    inner = valid.interactions
    users = inner.user_index(valid.truth["user_id"].unique().sort().to_numpy())
    relevant = np.zeros((len(users), inner.shape[1]), dtype=bool)
    row_of = {user: row for row, user in enumerate(users)}
    truth_rows = inner.user_index(valid.truth["user_id"].to_numpy())
    relevant[[row_of[r] for r in truth_rows],
             inner.item_index(valid.truth["item_id"].to_numpy())] = True
    rows = inner.matrix[users]
    check = Validation(inner, users, relevant, rows.toarray() != 0)
    blocks = []
    for component in params.components:
        model, cost = _fitted(component["name"],
                              {"seed": spec.seeds[0]} | component["params"], valid)
        scores = np.array(model._score(users, rows), dtype=np.float64)
        blocks.append(normalise_scores(scores, params.normalization))
        print(f"{component['name']} {json.dumps(component['params'])}: validation "
              f"ndcg@{params.k} {check.ndcg(blocks[-1], params.k):.4f} ({cost})", flush=True)
    trials = [(check.ndcg(sum(w * b for w, b in zip(weights, blocks, strict=True)), params.k),
               weights) for weights in simplex_grid(len(blocks), params.grid_step)]
    trials.sort(key=lambda t: -t[0])
    for score, weights in trials[:5]:
        print(f"weights {np.round(weights, 3).tolist()}: validation ndcg@{params.k} {score:.4f}")


def main() -> None:
    """Command line: a spec, then (model, params) pairs or ``--blend LABEL``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec")
    parser.add_argument("pairs", nargs="*", help="model name, JSON params, model name, ...")
    parser.add_argument("--metric", default="ndcg@10")
    parser.add_argument("--blend", help="label of a hybrid_blend model of the spec")
    args = parser.parse_args()
    spec = load_spec(args.spec)
    if args.blend:
        score_blend(spec, args.blend)
    else:
        score_models(spec, args.pairs, args.metric)


if __name__ == "__main__":
    main()
