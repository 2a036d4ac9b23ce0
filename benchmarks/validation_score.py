"""Score models, or a blend's weights, on a spec's validation splits only (never its test side).

The spec's protocol makes the outer split (first seed) and, applied to that split's training
part, the protocol its tuned models validate on makes a validation split (deep-ml100k: the
same protocol, same seed; the Liang specs: strong generalisation over the training users).
``--inner-seeds`` carves several validation splits from the same training part, one per
seed, and averages over them (one split's nDCG@10 moves by up to 0.009 between seeds on
ml-100k, more than most settings differ). Each candidate is fitted on each
validation training part and scored on its held-out part; the fit time (and seconds per epoch
of models trained in epochs) is printed beside the scores.

    python benchmarks/validation_score.py benchmarks/specs/deep-ml100k.yaml \
        mult_vae '{"epochs": 120, "anneal_cap": 0.5}' bpr_uniform '{"epochs": 200}'

``--blend LABEL`` instead fits the components of the spec's ``hybrid_blend`` model ``LABEL``
once per validation split and scores every weight vector of the simplex grid (the blend's
``grid_step``) on the blended per-user z-scores, exactly as the blend combines them; it prints
each component alone and the five best weight vectors by their mean, the first ready for the
blend's ``weights``.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from recsys.bench.runner import _load, _prepare
from recsys.bench.spec import BenchmarkSpec, ProtocolSpec, load_spec
from recsys.errors import RecsysError
from recsys.evaluation.protocol import EvalPlan, PreparedSplit, evaluate, make_splits
from recsys.models import Recommender, create_model
from recsys.models.ensemble import Validation, normalise_scores, simplex_grid
from recsys.settings import get_settings


def inner_protocol(spec: BenchmarkSpec) -> ProtocolSpec:
    """How validation splits are carved: as the spec's tuned models carve theirs (the first
    tuned model's ``tune.validation``; under strong generalisation it differs from the outer
    protocol, whose training part is already binarised), else by the spec's own protocol."""
    return next((m.tune.validation for m in spec.models if m.tune is not None), spec.protocol)


def validation_splits(spec: BenchmarkSpec, inner_seeds: list[int]) -> list[PreparedSplit]:
    """One validation split per seed, each carved by :func:`inner_protocol` from the training
    part of the spec's first split."""
    dataset = _load(spec.dataset, get_settings())
    seed, protocol, carve = spec.seeds[0], spec.protocol, inner_protocol(spec)
    outer = make_splits(protocol.kind, protocol.params, dataset.ratings, seed)[0]
    data = _prepare(outer, f"seed{seed}-split0", seed, spec, dataset)
    splits = []
    for inner_seed in inner_seeds:
        inner = make_splits(carve.kind, carve.params, data.ratings, inner_seed)[0]
        splits.append(_prepare(inner, f"seed{seed}-split0/valid{inner_seed}", inner_seed, spec,
                               dataset))
    return splits


def _scores(values: list[float]) -> str:
    """``mean [each]`` with four decimals."""
    return f"{np.mean(values):.4f} [{' '.join(f'{v:.4f}' for v in values)}]"


def _fitted(name: str, params: dict, valid: PreparedSplit) -> tuple[Recommender, str]:
    model = create_model(name, **params)
    started = time.perf_counter()
    model.fit(valid.train)
    fit_s = time.perf_counter() - started
    epochs = len(getattr(model, "curve_", [])) or None
    per_epoch = f" {fit_s / epochs:.2f} s/epoch over {epochs}" if epochs else ""
    return model, f"fit {fit_s:.1f} s{per_epoch}"


def score_models(spec: BenchmarkSpec, pairs: list[str], metric: str,
                 inner_seeds: list[int]) -> None:
    """Fit and score each (model name, JSON params) pair on the validation splits."""
    splits = validation_splits(spec, inner_seeds)
    plan = EvalPlan.for_metric(metric, spec.recall_denominator, spec.engine)
    for name, raw in zip(pairs[::2], pairs[1::2], strict=True):
        scores, costs = [], []
        for valid in splits:
            model, cost = _fitted(name, {"seed": spec.seeds[0]} | json.loads(raw), valid)
            scores.append(evaluate(model, valid, plan).metrics[metric])
            costs.append(cost)
        print(f"{name} {raw}: validation {metric} {_scores(scores)} ({costs[0]})", flush=True)


class _BlendCheck:
    """One validation split's evaluated users, their rows and the scorer of a score block."""

    def __init__(self, valid: PreparedSplit) -> None:
        inner = valid.interactions
        self.users = inner.user_index(valid.truth["user_id"].unique().sort().to_numpy())
        relevant = np.zeros((len(self.users), inner.shape[1]), dtype=bool)
        row_of = {user: row for row, user in enumerate(self.users)}
        truth_rows = inner.user_index(valid.truth["user_id"].to_numpy())
        relevant[[row_of[r] for r in truth_rows],
                 inner.item_index(valid.truth["item_id"].to_numpy())] = True
        self.rows = inner.matrix[self.users]
        self.validation = Validation(inner, self.users, relevant, self.rows.toarray() != 0)


def score_blend(spec: BenchmarkSpec, label: str, inner_seeds: list[int]) -> None:
    """Every simplex weight vector of a spec's blend, on the validation splits (NDCG@k)."""
    blend = next((m for m in spec.models if m.display == label and m.name == "hybrid_blend"),
                 None)
    if blend is None:
        raise SystemExit(f"no hybrid_blend labelled {label!r} in {spec.name}")
    params = create_model("hybrid_blend", **blend.params).params
    splits = validation_splits(spec, inner_seeds)
    checks = [_BlendCheck(valid) for valid in splits]
    blocks: list[list[np.ndarray]] = [[] for _ in checks]  # per split, one block per component
    for component in params.components:
        scores, cost = [], ""
        for split_blocks, check, valid in zip(blocks, checks, splits, strict=True):
            model, cost = _fitted(component["name"],
                                  {"seed": spec.seeds[0]} | component["params"], valid)
            raw = np.array(model._score(check.users, check.rows), dtype=np.float64)
            split_blocks.append(normalise_scores(raw, params.normalization))
            scores.append(check.validation.ndcg(split_blocks[-1], params.k))
        print(f"{component['name']} {json.dumps(component['params'])}: validation "
              f"ndcg@{params.k} {_scores(scores)} ({cost})", flush=True)
    trials = []
    for weights in simplex_grid(len(params.components), params.grid_step):
        blended = [sum(w * b for w, b in zip(weights, split_blocks, strict=True) if w)
                   for split_blocks in blocks]
        scores = [check.validation.ndcg(block, params.k)
                  for check, block in zip(checks, blended, strict=True)]
        trials.append((float(np.mean(scores)), scores, weights))
    trials.sort(key=lambda t: -t[0])
    for _, scores, weights in trials[:5]:
        print(f"weights {np.round(weights, 3).tolist()}: validation ndcg@{params.k} "
              f"{_scores(scores)}")


def main() -> None:
    """Command line: a spec, then (model, params) pairs or ``--blend LABEL``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec")
    parser.add_argument("pairs", nargs="*", help="model name, JSON params, model name, ...")
    parser.add_argument("--metric", default="ndcg@10")
    parser.add_argument("--blend", help="label of a hybrid_blend model of the spec")
    parser.add_argument("--inner-seeds", type=int, nargs="+", default=None,
                        help="one validation split per seed, scores averaged (default: the "
                             "spec's first seed, the split its tuned models are validated on)")
    args = parser.parse_args()
    if len(args.pairs) % 2:
        parser.error(f"expected (model name, JSON params) pairs, got {len(args.pairs)} values")
    try:
        for name, raw in zip(args.pairs[::2], args.pairs[1::2], strict=True):
            create_model(name, **json.loads(raw))  # a bad name or parameter fails before a fit
        spec = load_spec(args.spec)
        inner_seeds = args.inner_seeds or spec.seeds[:1]
        if args.blend:
            score_blend(spec, args.blend, inner_seeds)
        else:
            score_models(spec, args.pairs, args.metric, inner_seeds)
    except (RecsysError, json.JSONDecodeError) as error:
        parser.exit(2, f"error: {error}\n")

if __name__ == "__main__":
    main()
