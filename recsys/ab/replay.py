"""Offline A/B replay: hash users into arms, serve each arm's model against the held-out future.

One run answers three ways on the same users and the same temporal split:
1. the split test (each user sees only their arm: what an online A/B would show), analysed by
   :func:`recsys.ab.analysis.analyze` with the SRM check and guardrails;
2. the paired reference (every user sees both arms: paired tests per metric);
3. team-draft interleaving (every user sees one merged list: sign test on preferences);
plus a sensitivity study (power of each method by number of users, resampled from the data).

The CLI writes a run's ``results.json`` (:data:`RESULTS_FILE`); :class:`SavedReplay` reads one
back for the app and :func:`saved_replays` finds them in a results folder.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from recsys.ab.analysis import AbResult, SrmResult, analyze, welch_test, ztest_proportions
from recsys.ab.design import sample_size_proportions, sample_size_sign_test
from recsys.ab.experiment import Experiment
from recsys.ab.interleaving import (
    InterleavingResult,
    interleaving_credit,
    interleaving_test,
    sign_test_pvalues,
    team_draft,
)
from recsys.config import check_keys, check_value, read_yaml
from recsys.data.types import Dataset, Interactions, Split
from recsys.errors import ConfigError, DataError
from recsys.evaluation.metrics import item_popularity, novelty_per_user
from recsys.evaluation.protocol import (
    SPLITTERS,
    EvalPlan,
    Evaluation,
    PreparedSplit,
    evaluate,
    make_splits,
    prepare_split,
)
from recsys.evaluation.stats import compare_models
from recsys.models.registry import create_model

__all__ = [
    "RESULTS_FILE",
    "ReplaySpec",
    "ReplayResult",
    "SavedReplay",
    "load_replay_spec",
    "render_report",
    "run_replay",
    "saved_replays",
    "sensitivity_curve",
]

logger = logging.getLogger(__name__)
RESULTS_FILE = "results.json"
REPLAY_PREFIX = "ab-replay-"  # results folders of replays are named after their spec


@dataclass(frozen=True)
class ReplaySpec:
    """What to replay: data, split, cut-off, relevance, and the experiment itself."""

    experiment: Experiment
    dataset: str = "ml-latest-small"
    split: dict[str, Any] = field(default_factory=lambda: {"protocol": "leave_last_n", "n": 5})
    k: int = 10
    relevance_threshold: float = 0.0
    seed: int = 0
    n_boot: int = 2000
    sensitivity_users: tuple[int, ...] = (100, 200, 400, 800, 1600, 3200)
    sensitivity_reps: int = 1000

    def __post_init__(self) -> None:
        if not isinstance(self.split, Mapping):
            raise ConfigError(f"replay spec: split must be a mapping such as {{protocol: "
                              f"leave_last_n, n: 5}}, got {self.split!r}")
        if self.split.get("protocol") not in SPLITTERS:
            raise ConfigError(
                f"replay split.protocol must be one of {sorted(SPLITTERS)}, "
                f"got {self.split.get('protocol')!r}"
            )
        counts = {"k": self.k, "n_boot": self.n_boot, "sensitivity_reps": self.sensitivity_reps}
        low = {name: value for name, value in counts.items() if value < 1}
        if low or any(n < 2 for n in self.sensitivity_users):
            raise ConfigError(f"replay spec: k, n_boot and sensitivity_reps must be >= 1 and "
                              f"each sensitivity_users >= 2, got {low or self.sensitivity_users}")
        for arm in self.experiment.arms:  # a wrong model or parameter fails before any fit
            if arm.model:
                create_model(arm.model, **arm.params)

    @property
    def metrics(self) -> list[str]:
        """Per-user metrics the replay computes for every arm."""
        return [f"hit_rate@{self.k}", f"ndcg@{self.k}", f"recall@{self.k}", f"novelty@{self.k}"]

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ReplaySpec:
        """Build from a mapping (the YAML spec); unknown keys fail loudly."""
        values = check_keys(raw, cls, "replay spec")
        hints = typing.get_type_hints(cls) | {"sensitivity_users": list[int]}
        values = {key: check_value(hints[key], value, f"replay spec: {key}")
                  for key, value in values.items() if key != "experiment"} | {
            "experiment": Experiment.from_dict(values["experiment"])}
        if "sensitivity_users" in values:
            values["sensitivity_users"] = tuple(values["sensitivity_users"])
        spec = cls(**values)
        unknown = [m for m in _experiment_metrics(spec.experiment) if m not in spec.metrics]
        if unknown:
            raise ConfigError(f"replay computes {spec.metrics}; experiment asks for {unknown}")
        return spec

    def to_dict(self) -> dict[str, Any]:
        """Plain dict that :meth:`from_dict` accepts."""
        raw = dataclasses.asdict(self)
        raw["experiment"] = self.experiment.to_dict()
        raw["sensitivity_users"] = list(self.sensitivity_users)
        return raw


def _experiment_metrics(experiment: Experiment) -> list[str]:
    return [experiment.primary_metric, *(g.metric for g in experiment.guardrails)]


def load_replay_spec(path: Path | str) -> ReplaySpec:
    """Read a replay spec YAML file."""
    return ReplaySpec.from_dict(read_yaml(path))


@dataclass(frozen=True)
class ReplayResult:
    """All outputs of a replay; ``to_dict`` feeds the JSON artifact, the report and the app."""

    spec: ReplaySpec
    split_info: dict[str, Any]
    arm_summary: pl.DataFrame
    ab: AbResult
    paired: pl.DataFrame
    interleaving: InterleavingResult
    sensitivity: pl.DataFrame
    users_needed: dict[str, int | None]
    timings: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of everything."""
        return {
            "spec": self.spec.to_dict(),
            "split": self.split_info,
            "arm_summary": self.arm_summary.to_dicts(),
            "ab": self.ab.to_dict(),
            "paired": self.paired.to_dicts(),
            "interleaving": {**dataclasses.asdict(self.interleaving),
                             "delta": self.interleaving.delta,
                             "win_share": self.interleaving.win_share,
                             "significant": self.interleaving.significant,
                             "summary": self.interleaving.summary()},
            "sensitivity": self.sensitivity.to_dicts(),
            "users_needed": self.users_needed,
            "timings_s": self.timings,
        }


def run_replay(dataset: Dataset, spec: ReplaySpec) -> ReplayResult:
    """Replay ``spec`` on ``dataset``: one prepared split, every arm scored by ``evaluate``.

    Every test user known in training is replayed (a user without a relevant held-out item
    counts as a miss), as an online experiment exposes every user.
    """
    timings: dict[str, float] = {}
    started = time.perf_counter()
    params = {k: v for k, v in spec.split.items() if k != "protocol"}
    split = make_splits(spec.split["protocol"], params, dataset.ratings, spec.seed)[0]
    prepared = prepare_split(split, dataset, "replay", spec.seed, spec.relevance_threshold)
    users = np.intersect1d(split.test["user_id"].unique().to_numpy(),
                           prepared.interactions.user_ids)
    data = dataclasses.replace(prepared, users=users)
    truth = data.truth
    timings["split"] = time.perf_counter() - started
    exp = spec.experiment
    served = {arm.name: _replay_arm(arm, data, spec.k, timings) for arm in exp.arms}
    recs = {name: evaluation.recs for name, evaluation in served.items()}
    started = time.perf_counter()
    train = data.interactions
    popularity = item_popularity(train)
    per_arm = pl.concat([
        _per_user_metrics(served[name], spec.k, popularity).with_columns(
            pl.lit(name).alias("arm")) for name in exp.arm_names
    ])
    assigned = exp.assign_frame(users.tolist()).select(pl.col("user_id").cast(pl.Int64), "arm")
    served = per_arm.join(assigned, on=["user_id", "arm"], how="semi")
    ab = analyze(served, exp, metrics=spec.metrics, n_boot=spec.n_boot, seed=spec.seed)
    timings["analysis"] = time.perf_counter() - started
    control, treatment = ab.control, ab.treatment
    started = time.perf_counter()
    paired = pl.concat([
        compare_models(per_arm.filter(pl.col("arm").is_in([control, treatment])), metric,
                       model_col="arm", n_boot=spec.n_boot, seed=spec.seed)
        for metric in spec.metrics
    ])
    teams = (control, treatment)
    interleaved = team_draft(recs[control], recs[treatment], spec.k, spec.seed, teams)
    credit = interleaving_credit(interleaved, truth, teams, users=users)
    interleaving = interleaving_test(credit, exp.alpha, teams)
    timings["paired_and_interleaving"] = time.perf_counter() - started
    started = time.perf_counter()
    wide = _wide_outcome(per_arm, exp.primary_metric, control, treatment).join(
        credit.select("user_id", "preference"), on="user_id")
    sensitivity = sensitivity_curve(
        wide["a"].to_numpy(), wide["b"].to_numpy(), wide["preference"].to_numpy(),
        spec.sensitivity_users, spec.sensitivity_reps, exp.alpha, spec.seed,
    )
    timings["sensitivity"] = time.perf_counter() - started
    return ReplayResult(
        spec=spec,
        split_info=_split_info(split, train, users, truth) | {"future": data.future},
        arm_summary=per_arm.group_by("arm").agg(pl.col(spec.metrics).mean()).sort("arm"),
        ab=ab,
        paired=paired,
        interleaving=interleaving,
        sensitivity=sensitivity,
        users_needed=_users_needed(wide, interleaving, exp),
        timings={k: round(v, 3) for k, v in timings.items()},
    )


def _replay_arm(arm: Any, data: PreparedSplit, k: int, timings: dict[str, float]) -> Evaluation:
    """Fit one arm's model on the prepared training data and evaluate its top-``k`` lists."""
    if not arm.model:
        raise ConfigError(
            f"arm {arm.name!r}: offline replay fits registered models by name; "
            f"give `model` instead of the registry version {arm.version!r}"
        )
    started = time.perf_counter()
    model = create_model(arm.model, **arm.params).fit(data.train)
    timings[f"fit_{arm.name}"] = time.perf_counter() - started
    started = time.perf_counter()
    evaluation = evaluate(model, data, EvalPlan((k,), ranking=True, rating=False, beyond_k=None))
    timings[f"recommend_{arm.name}"] = time.perf_counter() - started
    logger.info("arm %s (%s): fitted and served %d users in %.1f s", arm.name, arm.model,
                len(data.users), timings[f"fit_{arm.name}"] + timings[f"recommend_{arm.name}"])
    return evaluation


def _per_user_metrics(evaluation: Evaluation, k: int, popularity: pl.DataFrame) -> pl.DataFrame:
    """Per-user accuracy (0 when nothing relevant was hit) and novelty of one arm's lists."""
    names = [f"hit_rate@{k}", f"ndcg@{k}", f"recall@{k}"]
    accuracy = evaluation.per_user.select(
        "user_id", *[pl.col(n).fill_null(0.0).fill_nan(0.0) for n in names])
    novelty = novelty_per_user(evaluation.recs, popularity).rename({"novelty": f"novelty@{k}"})
    return accuracy.join(novelty, on="user_id", how="left").with_columns(
        pl.col(f"novelty@{k}").fill_null(0.0))


def _wide_outcome(per_arm: pl.DataFrame, metric: str, control: str, treatment: str
                  ) -> pl.DataFrame:
    def side(arm: str, alias: str) -> pl.DataFrame:
        return per_arm.filter(pl.col("arm") == arm).select("user_id", pl.col(metric).alias(alias))

    return side(control, "a").join(side(treatment, "b"), on="user_id").sort("user_id")


def sensitivity_curve(
    outcome_a: np.ndarray, outcome_b: np.ndarray, preference: np.ndarray,
    sizes: tuple[int, ...], reps: int, alpha: float = 0.05, seed: int = 0,
) -> pl.DataFrame:
    """Power of split, paired and interleaving tests by number of users (resampled).

    Each repetition draws ``n`` users with replacement: the split test gives half of them
    arm A and half arm B (z-test when outcomes are 0/1, else Welch); the paired test shows
    both lists to all ``n`` (t-test on differences); interleaving uses their preferences
    (sign test). Power = share of repetitions with p < alpha, under the effect in the data.
    """
    rng = np.random.default_rng(seed)
    rows = []
    binary = bool(np.isin(np.r_[outcome_a, outcome_b], (0.0, 1.0)).all())
    for n in sizes:
        idx = rng.integers(0, len(outcome_a), (reps, n))
        half = n // 2
        a, b = outcome_a[idx[:, :half]], outcome_b[idx[:, half:]]
        if binary:
            p_split = ztest_proportions(a.sum(1), half, b.sum(1), n - half)[1]
        else:
            p_split = welch_test(a.mean(1), a.var(1, ddof=1), half,
                                 b.mean(1), b.var(1, ddof=1), n - half)[2]
        p_paired = _paired_pvalues(outcome_b[idx] - outcome_a[idx])
        pref = preference[idx]
        p_inter = sign_test_pvalues((pref > 0).sum(1), (pref != 0).sum(1))
        rows.append((n, *(float((p < alpha).mean()) for p in (p_split, p_paired, p_inter))))
    return pl.DataFrame(rows, schema=["n_users", "split_power", "paired_power",
                                      "interleaving_power"], orient="row")


def _paired_pvalues(diff: np.ndarray) -> np.ndarray:
    """Row-wise two-sided one-sample t-test of mean difference 0 (1.0 when all are equal)."""
    n = diff.shape[1]
    se = diff.std(axis=1, ddof=1) / np.sqrt(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, diff.mean(axis=1) / se, 0.0)
    return 2 * stats.t.sf(np.abs(t), n - 1)


def _users_needed(wide: pl.DataFrame, interleaving: InterleavingResult, exp: Experiment
                  ) -> dict[str, int | None]:
    """Analytic users (all arms together) for 80 % power at the effect seen in the data."""
    p_a, p_b = float(wide["a"].mean()), float(wide["b"].mean())
    split = None
    if 0 < p_a < 1 and p_a != p_b and 0 < p_b < 1:
        split = 2 * sample_size_proportions(p_a, p_b - p_a, exp.alpha, exp.power)
    decided = interleaving.wins_control + interleaving.wins_treatment
    inter = None
    if decided and 0 < interleaving.win_share < 1 and interleaving.win_share != 0.5:
        inter = sample_size_sign_test(interleaving.win_share, decided / interleaving.n_users,
                                      exp.alpha, exp.power)
    return {"split_test": split, "interleaving": inter}


def _split_info(split: Split, train: Interactions, users: np.ndarray, truth: pl.DataFrame
                ) -> dict[str, Any]:
    return {
        "protocol": split.protocol,
        "params": split.params,
        "train_ratings": split.train.height,
        "test_ratings": split.test.height,
        "relevant_test_ratings": truth.height,
        "train_users": int(train.shape[0]),
        "train_items": int(train.shape[1]),
        "replayed_users": len(users),
    }


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _table(frame: pl.DataFrame) -> str:
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * frame.width]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in frame.iter_rows()]
    return "\n".join(lines)


def _metric_rows(result: ReplayResult) -> pl.DataFrame:
    rows = [
        (m.metric, m.test, m.n_control, m.n_treatment, m.control_value, m.treatment_value,
         f"{m.diff:+.4f} [{m.diff_ci[0]:+.4f}, {m.diff_ci[1]:+.4f}]",
         f"{m.lift:+.1%} [{m.lift_ci[0]:+.1%}, {m.lift_ci[1]:+.1%}]",
         f"[{m.bootstrap_ci[0]:+.4f}, {m.bootstrap_ci[1]:+.4f}]" if m.bootstrap_ci else "",
         m.p_value)
        for m in result.ab.metrics
    ]
    return pl.DataFrame(rows, orient="row", schema=[
        "metric", "test", "n control", "n treatment", "control", "treatment",
        "difference [95% CI]", "relative lift [95% CI]", "bootstrap CI of difference", "p"])


def _sensitivity_reading(curve: pl.DataFrame) -> str:
    """Which method reached 80 % power with the fewest users (data-driven sentence)."""
    methods = {"split test": "split_power", "paired comparison": "paired_power",
               "interleaving": "interleaving_power"}
    first = {}
    for label, column in methods.items():
        reached = curve.filter(pl.col(column) >= 0.8)["n_users"]
        first[label] = int(reached.min()) if reached.len() else None
    parts = [f"{label}: {n:,} users" if n else f"{label}: not within {curve['n_users'].max():,}"
             for label, n in first.items()]
    return "Smallest resampled size reaching 80% power — " + "; ".join(parts) + "."


def render_report(result: ReplayResult, meta: Mapping[str, Any]) -> str:
    """The Markdown report of a replay (``meta``: dataset checksum, commit, run time...)."""
    ab, spec, exp = result.ab, result.spec, result.spec.experiment
    arms = ", ".join(f"`{a.name}` = {a.model} {a.params or ''}" for a in exp.arms)
    srm = ab.srm
    guardrails = pl.DataFrame(
        [(g.guardrail.metric, g.guardrail.direction, g.guardrail.tolerance, g.verdict, g.reason)
         for g in ab.guardrails], orient="row",
        schema=["metric", "direction", "tolerance", "verdict", "reason"])
    paired = result.paired.select("metric", "model_a", "model_b", "n_users", "mean_a", "mean_b",
                                  "mean_diff", "ci_low", "ci_high", "p_ttest", "p_wilcoxon")
    needed = result.users_needed
    return "\n".join([
        f"# Offline A/B replay: {exp.id}",
        "",
        f"**Verdict (split test):** {ab.conclusion}",
        "",
        f"**Interleaving:** {result.interleaving.summary()}",
        "",
        "## Setup",
        f"- Dataset `{spec.dataset}` (manifest sha256 `{meta.get('manifest_hash', '')}`), "
        f"commit `{meta.get('git_commit', '')}`, run {meta.get('finished_at', '')}.",
        f"- Split: {result.split_info['protocol']} {result.split_info['params']}; "
        f"{result.split_info['replayed_users']:,} users replayed, "
        f"{result.split_info['relevant_test_ratings']:,} held-out ratings >= "
        f"{spec.relevance_threshold} count as clicks; top-{spec.k} lists, seen items excluded.",
        f"- Arms: {arms}; traffic {list(exp.traffic)}, salt `{exp.salt}`; "
        f"control = `{ab.control}`, treatment = `{ab.treatment}`.",
        f"- Primary metric `{exp.primary_metric}` (a user 'clicks' when any held-out item is in "
        f"the list), alpha {exp.alpha}, power {exp.power}, planned MDE {exp.mde:+.0%} relative.",
        "",
        "## Split test (each user sees only their arm)",
        f"Sample-ratio check: observed {srm.observed} vs shares {srm.expected_shares}: "
        f"chi² = {srm.chi2:.3f}, p = {srm.p_value:.3f} -> "
        f"{'MISMATCH, assignment broken' if srm.flagged else 'no mismatch'} "
        f"(flag at p < {srm.threshold}).",
        "",
        _table(_metric_rows(result)),
        "",
        "Proportions (0/1 per user): two-proportion z-test, Wald CI; means: Welch t-test and CI; "
        "relative lift CI by the delta method on log(B/A); bootstrap percentile CI as a check.",
        "",
        "### Guardrails",
        _table(guardrails) if guardrails.height else "none",
        "",
        "## Paired reference (every user sees both arms)",
        _table(paired),
        "",
        "mean_diff = model_a - model_b (sorted names); paired t-test and Wilcoxon signed-rank.",
        "",
        "## Team-draft interleaving",
        result.interleaving.summary(),
        "",
        "## Sensitivity: power by number of users",
        f"Users resampled with replacement, {spec.sensitivity_reps} repetitions per size, "
        "effect as observed in the data; split = half the users per arm.",
        "",
        _table(result.sensitivity),
        "",
        _sensitivity_reading(result.sensitivity),
        "",
        f"Analytic users for {exp.power:.0%} power at the observed effect (all arms together): "
        f"split test {needed['split_test']}, interleaving {needed['interleaving']}.",
        "",
        "## Run times (s)",
        _table(pl.DataFrame({"step": list(result.timings),
                             "seconds": list(result.timings.values())})),
        "",
    ])


# -- the read side ------------------------------------------------------------------------------
@dataclass(frozen=True)
class SavedReplay:
    """A replay's ``results.json`` read back: what the app shows of it."""

    name: str
    dataset: str
    replayed_users: int
    control: str
    treatment: str
    conclusion: str
    metrics: pl.DataFrame  # [metric, test, control, treatment, lift, lift_low, lift_high, p_value]
    srm: SrmResult
    interleaving: str
    sensitivity: pl.DataFrame  # [n_users, <one power column per design>]
    commit: str = ""  # the git commit that ran the replay

    @classmethod
    def load(cls, folder: Path) -> SavedReplay:
        """Read ``folder/results.json``; DataError when the folder holds none."""
        path = folder / RESULTS_FILE
        if not path.is_file():
            raise DataError(f"{folder} holds no replay results ({RESULTS_FILE} missing)")
        raw = json.loads(path.read_text(encoding="utf-8"))
        ab = raw["ab"]
        srm = {f.name: ab["srm"][f.name] for f in dataclasses.fields(SrmResult)
               if f.name in ab["srm"]}
        return cls(folder.name, raw["spec"]["dataset"], int(raw["split"]["replayed_users"]),
                   ab["control"], ab["treatment"], ab["conclusion"], _saved_metrics(ab["metrics"]),
                   SrmResult(**srm), raw["interleaving"]["summary"],
                   pl.DataFrame(raw["sensitivity"]), raw.get("meta", {}).get("git_commit", ""))

    @property
    def power(self) -> pl.DataFrame:
        """The sensitivity study in long form: ``[n_users, design, power]``."""
        return self.sensitivity.unpivot(index="n_users", variable_name="design",
                                        value_name="power")


def _saved_metrics(metrics: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame([
        {"metric": m["metric"], "test": m["test"], "control": m["control_value"],
         "treatment": m["treatment_value"], "lift": m["lift"], "lift_low": m["lift_ci"][0],
         "lift_high": m["lift_ci"][1], "p_value": m["p_value"]}
        for m in metrics
    ])


def saved_replays(root: Path) -> dict[str, SavedReplay]:
    """Every replay under ``root`` (``ab-replay-*/results.json``) by folder name."""
    if not root.is_dir():
        return {}
    return {path.parent.name: SavedReplay.load(path.parent)
            for path in sorted(root.glob(f"{REPLAY_PREFIX}*/{RESULTS_FILE}"))}
