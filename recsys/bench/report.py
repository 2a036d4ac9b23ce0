"""Write a benchmark's results folder: CSV tables, per-user parquet, a Markdown report, figures.

``write_results(result, folder)`` replaces ``folder`` atomically (a reader never sees a half
report). The report states the protocol, the data manifest hash, the hardware and git commit,
puts every published reference number (with its source and protocol) next to ours with the
difference, says which differences are significant after Holm correction, breaks results down
by user activity and lists each goal as met or missed with the figures.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from recsys.bench import plots
from recsys.bench.runner import BenchmarkResult
from recsys.bench.spec import BenchmarkSpec, Goal, ModelSpec, lower_is_better
from recsys.io import atomic_dir, write_json

__all__ = ["GoalOutcome", "evaluate_goals", "render_markdown", "write_results"]

log = logging.getLogger(__name__)

_COST_COLUMNS = {
    "fit_s": "fit s",
    "epochs": "epochs",
    "epoch_s": "s/epoch",
    "total_time_s": "total time s",
    "recommend_ms": "recommend ms/user",
    "latency_p50_ms": "latency p50 ms",
    "peak_mb": "peak RSS MB",
    "size_mb": "size MB",
}


@dataclass(frozen=True)
class GoalOutcome:
    """One goal checked against the results."""

    goal: Goal
    model: str
    value: float
    met: bool
    stretch_met: bool | None
    text: str


# -- goals ------------------------------------------------------------------------------------
def evaluate_goals(spec: BenchmarkSpec, summary: pl.DataFrame) -> list[GoalOutcome]:
    """Check every goal of ``spec`` against the per-model summary."""
    return [_check_goal(spec, summary, goal) for goal in spec.goals]


def _value(summary: pl.DataFrame, model: str, metric: str) -> float:
    if metric not in summary.columns:
        return math.nan
    row = summary.filter(pl.col("model") == model)
    value = row[metric][0] if row.height else None
    return math.nan if value is None else float(value)


def _best_model(summary: pl.DataFrame, metric: str) -> str | None:
    if metric not in summary.columns:
        return None
    frame = summary.filter(pl.col(metric).is_not_null() & pl.col(metric).is_not_nan())
    if frame.is_empty():
        return None
    ordered = frame.sort(metric, descending=not lower_is_better(metric))
    return str(ordered["model"][0])


def _reference(spec: BenchmarkSpec, summary: pl.DataFrame, goal: Goal, model: str) -> float:
    if goal.reference == "published":
        model_spec = next((m for m in spec.models if m.display == model), None)
        row = (spec.published.row(model_spec.published)
               if spec.published and model_spec and model_spec.published else None)
        return float(row.metrics.get(goal.metric, math.nan)) if row else math.nan
    return _value(summary, goal.reference or "", goal.metric)


def _check_goal(spec: BenchmarkSpec, summary: pl.DataFrame, goal: Goal) -> GoalOutcome:
    model = _best_model(summary, goal.metric) if goal.model == "best" else goal.model
    value = _value(summary, model, goal.metric) if model else math.nan
    shown = f"{goal.metric} of {model} = {_fmt(value)}"
    if goal.compare != "value":
        reference = _reference(spec, summary, goal, model or "")
        value = value / reference if goal.compare == "ratio" else abs(value - reference)
        shown += f" vs {goal.reference} {_fmt(reference)}: {goal.compare} = {_fmt(value)}"

    def passes(target: float) -> bool:
        return bool(value <= target) if goal.op == "<=" else bool(value >= target)

    met = not math.isnan(value) and passes(goal.value)
    stretch = None if goal.stretch is None else (not math.isnan(value) and passes(goal.stretch))
    text = f"{shown} (target {goal.op} {_fmt(goal.value)}"
    text += f", stretch {goal.op} {_fmt(goal.stretch)})" if goal.stretch is not None else ")"
    return GoalOutcome(goal, model or "-", value, met, stretch, text)


# -- writing ----------------------------------------------------------------------------------
def write_results(result: BenchmarkResult, folder: Path | str) -> Path:
    """Replace ``folder`` with the complete results of ``result``; returns the folder."""
    folder = Path(folder)
    plots.ensure_plotly_js(folder.parent)
    figures = _figure_names(result)
    with atomic_dir(folder) as tmp:
        result.summary.write_csv(tmp / "results.csv")
        result.splits.write_csv(tmp / "splits.csv")
        result.per_user.write_parquet(tmp / "per_user.parquet")
        result.segments.write_csv(tmp / "segments.csv")
        if not result.tuning.is_empty():
            result.tuning.write_csv(tmp / "tuning.csv")
        if result.significance:
            pl.concat(list(result.significance.values())).write_csv(tmp / "significance.csv")
        write_json(tmp / "context.json", {**result.context, "errors": result.errors})
        _write_figures(result, tmp, figures)
        (tmp / "report.md").write_text(render_markdown(result, figures), encoding="utf-8")
        _make_readable(tmp)
    log.info("Benchmark %s written to %s", result.spec.name, folder)
    return folder


def _make_readable(folder: Path) -> None:
    """Temp files and folders are private (0600/0700); results are meant to be shared."""
    folder.chmod(0o755)
    for path in folder.iterdir():
        path.chmod(0o644)


def _figure_names(result: BenchmarkResult) -> dict[str, str]:
    metric = result.spec.headline
    names = {"pareto": "pareto.html"}
    if not result.segments.is_empty() and metric in result.segments.columns:
        names["segments"] = "segments.html"
    if metric in result.significance:
        names["significance"] = "significance.html"
    return names


def _write_figures(result: BenchmarkResult, folder: Path, names: dict[str, str]) -> None:
    metric = result.spec.headline
    builders = {
        "pareto": lambda: plots.pareto_figure(result.summary, metric),
        "segments": lambda: plots.segment_figure(result.segments, metric),
        "significance": lambda: plots.significance_figure(result.significance[metric], metric),
    }
    for key, name in names.items():
        plots.write_figure(builders[key](), folder / name)


# -- Markdown ---------------------------------------------------------------------------------
def render_markdown(result: BenchmarkResult, figures: dict[str, str] | None = None) -> str:
    """The human-readable report."""
    spec, context = result.spec, result.context
    sections = [
        f"# Benchmark `{spec.name}`\n\n{spec.description.strip()}",
        _setup_section(spec, context),
        "## Results\n\n" + _results_note(spec) + "\n\n" + _table(_results_rows(result)),
        _highlights_section(result),
        _fairness_section(result),
        _peers_section(result),
        _published_section(spec),
        _tuning_section(result),
        _significance_section(result),
        _segment_section(result),
        _goal_section(result),
        _errors_section(result),
        _figures_section(figures or {}),
    ]
    return "\n\n".join(s for s in sections if s) + "\n"


def _future_line(splits: list[dict[str, Any]]) -> str:
    """What the protocol keeps from the future, stated and measured on the first split."""
    future = splits[0].get("future") if splits else None
    if not future:
        return "- **Kept from the future**: not recorded for this run"
    share = future["train_newer_than_test_share"]
    measured = "" if share is None else (
        f"; on average {share:.1%} of training ratings are newer than a given test rating")
    return f"- **Kept from the future**: {future['policy']}{measured}"


def _setup_section(spec: BenchmarkSpec, context: dict[str, Any]) -> str:
    data, hardware = context["dataset"], context["hardware"]
    splits = context["splits"]
    lines = [
        "## Setup",
        "",
        f"- **Dataset**: {data['name']} — {data['ratings']:,} ratings, {data['users']:,} users, "
        f"{data['movies']:,} movies; data manifest hash `{data['manifest_hash'] or 'n/a'}`",
        f"- **Protocol**: `{spec.protocol.kind}` {json.dumps(spec.protocol.params)}; seeds "
        f"{spec.seeds}; {len(splits)} split(s), train/test sizes "
        + ", ".join(f"{s['train']:,}/{s['test']:,}" for s in splits[:6])
        + (" …" if len(splits) > 6 else "") + _fixed_split_note(spec),
        "- **Relevance**: "
        + ("every held-out rating" if spec.relevance_threshold is None
           else f"held-out rating >= {spec.relevance_threshold}")
        + f"; cut-offs k = {spec.ranking_ks}; recall denominator `{spec.recall_denominator}`;"
        " training items excluded from recommendations",
        _future_line(splits),
        "- **What a model sees**: the training ratings, and a catalogue (movies, links, genome) "
        "whose user tags are only those written on training ratings before the test side",
        f"- **Hyper-parameters**: searched only on a validation split carved from each training "
        f"part (never the test part): {_tuned_models(spec) or 'none searched'}",
        f"- **Hardware**: {hardware['cpu']}, {hardware['cores']} cores, {hardware['ram_gb']} GB "
        f"RAM; Python {hardware['python']}; {hardware['os']}; BLAS/OpenMP threads: "
        f"{context.get('threads', 'library default')}",
        _engine_line(context.get("engine", {"name": "local"})),
        f"- **Code**: git commit `{context['git_commit']}`; run started {context['started']}, "
        f"took {context.get('duration_s', math.nan):.0f} s",
        f"- **Tracking**: {context['tracking_uri'] or 'MLflow disabled'}",
    ]
    return "\n".join(lines)


def _engine_line(engine: dict[str, str]) -> str:
    if engine["name"] != "spark":
        return "- **Engine**: in process (NumPy/polars metrics)"
    return (f"- **Engine**: Spark {engine['version']} on `{engine['master']}`: metrics computed "
            "on Spark frames, Spark models' top-k per user computed in Spark")


def _tuned_models(spec: BenchmarkSpec) -> str:
    return "; ".join(
        f"{m.display}: {m.tune.metric} over {json.dumps(m.tune.grid)}"
        + (f" ({m.tune.n_iter} random draws)" if m.tune.n_iter else "")
        for m in spec.models if m.tune
    )


def _fixed_split_note(spec: BenchmarkSpec) -> str:
    """What the seeds vary when the protocol fixes its own seed (one split, many model seeds)."""
    if "seed" not in spec.protocol.params or len(spec.seeds) < 2:
        return ""
    return (f"; the protocol fixes its seed ({spec.protocol.params['seed']}), so every run has "
            "the same split and the seeds vary only the models' own `seed`")


def _results_note(spec: BenchmarkSpec) -> str:
    note = ("Mean ± standard deviation over splits. `fit s` is the mean fit time per split; "
            "`total time s` sums fit + rating prediction over all splits; `peak RSS MB` is the "
            "resident-memory growth during fit.")
    if spec.published:
        note += (" `published` is the reference number (source below) and `Δ` our value minus "
                 "it.")
    return note


def _highlights_section(result: BenchmarkResult) -> str:
    """Per metric: the best and the worst model and how many pairwise differences are real."""
    lines = ["## Highlights\n"]
    for metric in result.spec.metrics:
        frame = result.summary.filter(pl.col(metric).is_not_null()) \
            if metric in result.summary.columns else pl.DataFrame()
        if frame.height < 2:
            continue
        ordered = frame.sort(metric, descending=not lower_is_better(metric))
        best, worst = ordered.row(0, named=True), ordered.row(-1, named=True)
        line = (f"- **{metric}**: best {best['model']} {_fmt(best[metric])}, worst "
                f"{worst['model']} {_fmt(worst[metric])} over {frame.height} models")
        if metric in result.significance:
            tests = result.significance[metric]
            line += (f"; {int(tests['significant'].sum())} of {tests.height} pairwise "
                     "differences significant after Holm")
        lines.append(line)
    return "\n".join(lines) if len(lines) > 1 else ""


def _published_metrics(spec: BenchmarkSpec) -> set[str]:
    return {m for row in spec.published.rows for m in row.metrics} if spec.published else set()


def _results_rows(result: BenchmarkResult) -> list[dict[str, str]]:
    spec, summary = result.spec, result.summary
    published = _published_metrics(spec)
    rows = []
    for model_spec in spec.models:
        record = summary.filter(pl.col("model") == model_spec.display)
        if record.is_empty():
            continue
        values = record.row(0, named=True)
        ref = spec.published.row(model_spec.published) if spec.published and \
            model_spec.published else None
        row = {"model": model_spec.display}
        for metric in spec.metrics:
            row[metric] = _mean_std(values.get(metric), values.get(f"{metric}_std"))
            if metric in published:
                row |= _published_cells(metric, metric, values.get(metric), ref)
        for column, title in _COST_COLUMNS.items():
            row[title] = _fmt(values.get(column))
            if column in published:
                row |= _published_cells(column, title, values.get(column), ref)
        rows.append(row)
    return rows


def _published_cells(
    metric: str, title: str, ours: float | None, ref: Any
) -> dict[str, str]:
    reference = ref.metrics.get(metric) if ref else None
    delta = None if reference is None or ours is None else ours - reference
    return {f"{title} published": _fmt(reference),
            f"{title} Δ": "" if delta is None else f"{delta:+.4g}"}


def _published_section(spec: BenchmarkSpec) -> str:
    if not spec.published:
        return ""
    pub = spec.published
    lines = [f"## Published reference\n\n- **Source**: {pub.source}\n- **Protocol**: "
             f"{pub.protocol}" + (f"\n- **Hardware**: {pub.hardware}" if pub.hardware else "")]
    matched = {m.published: m.display for m in spec.models if m.published}
    metrics = list(dict.fromkeys(m for r in pub.rows for m in r.metrics))
    rows = [{"published row": r.label, "our model": matched.get(r.label, "—"),
             **{m: _fmt(r.metrics.get(m)) for m in metrics}, "note": r.note} for r in pub.rows]
    return lines[0] + "\n\n" + _table(rows)


def _fairness_section(result: BenchmarkResult) -> str:
    """Which side was tuned and how, the threads each ran on, the peers' versions."""
    context = result.context
    peers = context.get("peers", {})
    rows = [_fairness_row(m, peers.get(m.display), context) for m in result.spec.models]
    return "## Fairness\n\n" + _fairness_note(context, bool(peers)) + "\n\n" + _table(rows)


def _fairness_row(
    model: ModelSpec, peer: dict[str, Any] | None, context: dict[str, Any]
) -> dict[str, str]:
    return {
        "model": model.display,
        "side": "peer" if peer else "ours",
        "hyper-parameters": _how_chosen(model, peer),
        "threads": str(peer["threads"] if peer else context.get("threads", "library default")),
        "library": f"{peer['library']} {peer['version']}" if peer
        else f"recsys `{context['git_commit'][:10]}`",
    }


def _fairness_note(context: dict[str, Any], has_peers: bool) -> str:
    note = ("Both sides train on the same training part of the same split, have their training "
            "items removed by the same code and are scored by the same evaluator. Ours are "
            "searched on a validation split carved from each training part where the spec "
            "says so (never the test part); peers run at the settings the spec fixes (their "
            "published settings, otherwise the library's defaults) unless the spec gives them "
            "the same search. BLAS/OpenMP pools are capped at "
            f"{context.get('threads', 'the library default')} for the whole run; a peer's "
            "`threads` pins BLAS/OpenMP, torch and the peer's own thread setting while it fits "
            "and scores.")
    if has_peers:
        note += (" A peer's `size MB` is its saved score snapshot of the training users; for a "
                 "peer run in its own venv (LensKit) `fit s` also covers starting that "
                 "interpreter, the Parquet exchange and scoring every training user.")
    return note


def _how_chosen(model: ModelSpec, peer: dict[str, Any] | None) -> str:
    if model.tune:
        return (f"searched on validation: {model.tune.metric} over "
                f"`{json.dumps(model.tune.grid)}`")
    defaults = "the library's defaults" if peer else "the model's defaults"
    fixed = f"`{json.dumps(model.params)}`, otherwise " if model.params else ""
    return f"fixed: {fixed}{defaults}"


def _peers_section(result: BenchmarkResult) -> str:
    """Every peer against every one of ours on the first metric, with the paired test."""
    peers = set(result.context.get("peers", {}))
    metric = result.spec.headline
    if not peers or metric not in result.significance:
        return ""
    rows = []
    for r in result.significance[metric].iter_rows(named=True):
        if (r["model_a"] in peers) == (r["model_b"] in peers):
            continue
        flip = r["model_a"] in peers  # report ours − peer
        sign = -1.0 if flip else 1.0
        rows.append({
            "peer": r["model_a"] if flip else r["model_b"],
            "ours": r["model_b"] if flip else r["model_a"],
            "ours − peer": f"{sign * r['mean_diff']:+.4f}",
            "95% CI": _ci(sign, r["ci_low"], r["ci_high"]),
            "p (Holm)": _fmt(r["p_ttest_holm"]),
            "significant": "yes" if r["significant"] else "no",
        })
    return (f"## Peers against ours ({metric})\n\nPaired t-test on per-user values, Holm-"
            "corrected with every other pair of this metric.\n\n" + _table(rows))


def _tuning_section(result: BenchmarkResult) -> str:
    tuned = {m.display for m in result.spec.models if m.tune}
    if not tuned:
        return ""
    chosen = result.splits.filter(pl.col("model").is_in(list(tuned))).select(
        "model", "split", "params")
    rows = [{"model": r["model"], "split": r["split"], "chosen params": f"`{r['params']}`"}
            for r in chosen.iter_rows(named=True)]
    return ("## Hyper-parameter search\n\nChosen on the validation split of each training part "
            "(all candidates and scores in `tuning.csv`).\n\n" + _table(rows))


def _significance_section(result: BenchmarkResult) -> str:
    if not result.significance:
        return ""
    parts = ["## Significance\n\nPaired t-test on per-user values (averaged over splits), "
             "Holm-corrected over all model pairs of each metric (α = 0.05); Wilcoxon "
             "signed-rank p and bootstrap 95% CI in `significance.csv`. Each model against the "
             "best one:"]
    for metric, frame in result.significance.items():
        best = _best_model(result.summary, metric)
        parts.append(f"### {metric} (best: {best})\n\n" + _table(_versus_best(frame, best)))
        n_sig = int(frame["significant"].sum())
        parts.append(f"{n_sig} of {frame.height} pairwise differences are significant.")
    return "\n\n".join(parts)


def _versus_best(frame: pl.DataFrame, best: str | None) -> list[dict[str, str]]:
    rows = []
    pairs = frame.filter((pl.col("model_a") == best) | (pl.col("model_b") == best))
    for r in pairs.iter_rows(named=True):
        flip = r["model_a"] == best
        other = r["model_b"] if flip else r["model_a"]
        sign = 1.0 if flip else -1.0  # report best - other
        rows.append({
            "model": other, "best − model": f"{sign * r['mean_diff']:+.4f}",
            "95% CI": _ci(sign, r["ci_low"], r["ci_high"]), "users": str(r["n_users"]),
            "p (Holm)": _fmt(r["p_ttest_holm"]), "significant": "yes" if r["significant"] else "no",
        })
    return rows


def _ci(sign: float, low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return ""
    bounds = sorted((sign * low, sign * high))
    return f"[{bounds[0]:+.4f}, {bounds[1]:+.4f}]"


def _segment_section(result: BenchmarkResult) -> str:
    segments = result.segments
    metrics = [m for m in result.spec.metrics if m in segments.columns]
    if segments.is_empty() or not metrics:
        return ""
    rows = [{"model": r["model"], "segment": r["segment"], "users": f"{r['n_users']:.0f}",
             **{m: _fmt(r[m]) for m in metrics}} for r in segments.iter_rows(named=True)]
    return ("## By user activity\n\nUsers split by their number of training ratings "
            "(cold < 20 ≤ medium < 100 ≤ heavy); means over users, then over splits.\n\n"
            + _table(rows))


def _goal_section(result: BenchmarkResult) -> str:
    outcomes = evaluate_goals(result.spec, result.summary)
    if not outcomes:
        return ""
    lines = ["## Goals\n"]
    for outcome in outcomes:
        mark = "MET" if outcome.met else "MISSED"
        stretch = "" if outcome.stretch_met is None else \
            f"; stretch {'met' if outcome.stretch_met else 'missed'}"
        label = outcome.goal.description or outcome.goal.metric
        lines.append(f"- **{mark}**{stretch} — {label}: {outcome.text}")
    return "\n".join(lines)


def _errors_section(result: BenchmarkResult) -> str:
    if not result.errors:
        return ""
    return "## Failed models\n\n" + "\n".join(f"- {k}: {v}" for k, v in result.errors.items())


def _figures_section(figures: dict[str, str]) -> str:
    if not figures:
        return ""
    titles = {"pareto": "Metric vs fit time (Pareto)", "segments": "Metric by user segment",
              "significance": "Significance matrix (Holm-adjusted p)"}
    return "## Figures\n\n" + "\n".join(f"- [{titles[k]}]({v})" for k, v in figures.items())


# -- formatting -------------------------------------------------------------------------------
def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, int):
        return f"{value:,}"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 1:
        return f"{value:.3f}"
    return f"{value:.4f}" if magnitude >= 1e-3 or value == 0 else f"{value:.2e}"


def _mean_std(mean: float | None, std: float | None) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "—"
    return _fmt(mean) if std is None or math.isnan(std) else f"{_fmt(mean)} ± {_fmt(std)}"


def _table(rows: list[dict[str, str]]) -> str:
    if not rows:
        return "_(no rows)_"
    columns = list(dict.fromkeys(c for row in rows for c in row))
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(row.get(c, "")) for c in columns) + " |" for row in rows]
    return "\n".join(lines)
