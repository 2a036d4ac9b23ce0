"""The project logbook: per block (data, recommenders, MLOps) a checklist whose every step links
its proof, comparative tables with the commit and MLflow run of each row, the journal of
problems and fixes, the architecture decisions and the versions — all read from real sources.

``build_logbook`` assembles :class:`Section` objects (Markdown), which ``recsys report
logbook`` writes to ``docs/logbook/logbook.md`` and ``.html`` and the app's Logbook page
shows. A step whose proof fails *or is missing* is red (🔴), never silently green.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt

from recsys import runs
from recsys.ab.replay import saved_replays
from recsys.arguments import check_path
from recsys.bench import results
from recsys.errors import ArgumentError, ConfigError, DataError, RecsysError
from recsys.io import read_json_object, write_text
from recsys.report import NOTEBOOKS_DIR
from recsys.report.entries import (
    BLOCKS,
    Decision,
    Evidence,
    JournalEntry,
    LogbookEntries,
    Proof,
)
from recsys.report.notebooks import notebook_paths
from recsys.report.proofs import Context, Status, benchmark_run, check, measure
from recsys.report.sources import Git, MlflowSource, read_junit, read_quality
from recsys.settings import Settings
from recsys.tracking import registered_model_name

__all__ = [
    "JUNIT_FILES",
    "Logbook",
    "Section",
    "build_logbook",
    "open_context",
    "write_logbook",
]

# Badges per destination: colour emoji in Markdown/HTML files, Streamlit's colour syntax in
# the app (a headless browser may lack an emoji font).
BADGES = {"markdown": ("🟢", "🔴"), "streamlit": (":green[✔]", ":red[✘]")}
JUNIT_FILES = ("test-output/junit.xml", "test-output/junit-slow.xml")  # written by make test
BLOCK_TITLES = {"data": "Data", "recommenders": "Recommenders", "mlops": "MLOps"}
DEFAULT_DATASETS = ("ml-latest-small", "ml-100k")
METRIC_COLUMNS = ("ndcg@10", "precision@10", "recall@10", "recall@100", "rmse", "fit_s",
                  "recommend_ms", "peak_mb")


@dataclass(frozen=True)
class Section:
    """One part of the logbook: its title, its Markdown and how many of its items are red."""

    key: str
    title: str
    markdown: str
    red: int = 0
    total: int = 0


@dataclass(frozen=True)
class Logbook:
    """The assembled logbook."""

    generated: str
    sections: list[Section]

    def section(self, key: str) -> Section:
        """The section named ``key`` (``data``, ``journal``, ...)."""
        return next(s for s in self.sections if s.key == key)

    def to_markdown(self) -> str:
        """The whole logbook as one Markdown document."""
        return "\n\n".join(f"## {s.title}\n\n{s.markdown}" for s in self.sections) + "\n"

    def to_html(self) -> str:
        """A standalone HTML page of the Markdown (tables and links kept)."""
        body = MarkdownIt("commonmark", {"html": False}).enable("table").render(
            "# Project logbook\n\n" + self.to_markdown())
        return (
            "<!doctype html><html><head><meta charset='utf-8'><title>Project logbook</title>"
            f"<style>{_CSS}</style></head><body>{body}</body></html>\n"
        )


_CSS = ("body{font-family:sans-serif;max-width:72rem;margin:2rem auto;line-height:1.45}"
        "table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;"
        "padding:.2rem .5rem;font-size:.9rem}code{background:#f4f4f4}")


# -- context ------------------------------------------------------------------------------------
def open_context(repo: Path, settings: Settings, results_root: Path | None = None,
                 junit: Sequence[Path] | None = None) -> Context:
    """The sources of a checkout: results, last test run, data reports, MLflow, git."""
    repo = check_path(repo, "repo")
    if junit is not None and not isinstance(junit, list | tuple):
        raise ArgumentError(f"junit must be a list of JUnit XML paths, got {junit!r}")
    files = ([repo / name for name in JUNIT_FILES] if junit is None
             else [check_path(path, "junit") for path in junit])
    return Context(
        repo=repo,
        results_root=(repo / "benchmarks" / "results" if results_root is None
                      else check_path(results_root, "results_root")),
        settings=settings,
        tests=read_junit(files),
        mlflow=MlflowSource(settings),
        git=Git(repo),
    )


# -- Markdown helpers ---------------------------------------------------------------------------
def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) if len(lines) > 2 else "_none_"


def _number(value: Any, missing: str = "–") -> str:
    """4 significant digits for measures, thousands separators for counts."""
    if value is None or (isinstance(value, float) and value != value):
        return missing
    if isinstance(value, float) and not (value.is_integer() and abs(value) >= 1000):
        return f"{value:.4g}"
    return f"{value:,.0f}"


@dataclass(frozen=True)
class _Writer:
    """Renders links and commits for one destination (``base`` prefixes repository paths)."""

    ctx: Context
    base: str | None
    style: str = "markdown"

    @property
    def red(self) -> str:
        """The failure badge."""
        return BADGES[self.style][1]

    def or_red(self, heading: str, render: Callable[[], str]) -> str:
        """``render()``, or ``heading`` and a red line saying why when its source is
        unreadable (one damaged source does not hide the others)."""
        try:
            return render()
        except RecsysError as error:
            return f"{heading}\n\n{self.red} unreadable: {error}"

    def badge(self, ok: bool) -> str:
        """Green when ``ok``, else red."""
        return BADGES[self.style][0 if ok else 1]

    def link(self, text: str, path: str | None) -> str:
        """A link to a repository path (plain text when there is no base or it is outside)."""
        if not path:
            return text
        if self.base is None or path.startswith("/"):
            return f"{text} (`{path}`)"
        return f"[{text}]({self.base}{path})"

    def commit(self, sha: str | None) -> str:
        """A commit as its short hash (linked on GitHub), red when this history lacks it."""
        if not sha:
            return "–"
        found = self.ctx.git.commit(sha)
        if found is None:
            return f"{self.red} `{sha[:7]}` (not in this history)"
        remote = self.ctx.git.remote
        label = f"`{found.short}`"
        return f"[{label}]({remote}/commit/{found.sha})" if remote else label

    def issue(self, number: int | None) -> str:
        """An issue reference (linked on GitHub)."""
        if number is None:
            return ""
        remote = self.ctx.git.remote
        return f"[#{number}]({remote}/issues/{number})" if remote else f"issue #{number}"

    def proof(self, proof: Proof, status: Status) -> str:
        """One proof with its badge, link and verdict."""
        target = self.link(f"`{proof.target}`", status.link)
        return f"{self.badge(status.ok)} {proof.kind} {target} — {status.detail}"


def _checks(proofs: Sequence[Proof], ctx: Context) -> list[tuple[Proof, Status]]:
    return [(proof, check(proof, ctx)) for proof in proofs]


def _all_ok(checked: Sequence[tuple[Proof, Status]]) -> bool:
    return bool(checked) and all(status.ok for _, status in checked)


# -- per-block sections -------------------------------------------------------------------------
def _checklist(block: str, entries: LogbookEntries, out: _Writer) -> tuple[str, int, int]:
    lines, red, items = [], 0, [i for i in entries.checklist if i.block == block]
    for item in items:
        checked = _checks(item.proofs, out.ctx)
        ok = _all_ok(checked)
        red += not ok
        lines.append(f"- {out.badge(ok)} **{item.step}**")
        lines += [f"  - {out.proof(p, s)}" for p, s in checked]
    text = "\n".join(lines) or "_no step listed_"
    return f"### Checklist ({len(items) - red} of {len(items)} proven)\n\n{text}", red, len(items)


def _datasets(entries: LogbookEntries, ctx: Context) -> list[str]:
    named = {p.target for i in entries.checklist for p in i.proofs if p.kind == "quality"}
    reports = ctx.settings.data_dir / "reports"
    found = {p.parent.name for p in reports.glob("*/quality.json")} if reports.is_dir() else set()
    return sorted(named | found | set(DEFAULT_DATASETS))


def _quality_table(entries: LogbookEntries, out: _Writer) -> str:
    rows = []
    for name in _datasets(entries, out.ctx):
        try:
            report = read_quality(name, out.ctx.settings)
        except RecsysError as error:
            rows.append([name, f"{out.red} unreadable: {error}", *["–"] * 9])
            continue
        if report is None:
            rows.append([name, f"{out.red} missing: `recsys data validate {name}`", *["–"] * 9])
            continue
        stats, counts = report["stats"], report["stats"]["counts"]
        rows.append([
            name, f"{out.badge(report['ok'])} {'PASS' if report['ok'] else 'FAIL'}",
            *(_number(counts[k]) for k in ("ratings", "users", "movies", "tags")),
            _number(stats["duplicate_pairs"]), _number(stats["orphan_ratings"]),
            _number(stats["sparsity"]), _edition(stats.get("provenance") or {}),
            f"`{report['manifest_hash'][:12]}`",
        ])
    columns = ["dataset", "report", "ratings", "users", "movies", "tags", "duplicate pairs",
               "orphan ratings", "sparsity", "edition", "manifest"]
    return "### Data quality (from `recsys data validate`)\n\n" + _table(columns, rows)


def _edition(provenance: dict[str, Any]) -> str:
    """The edition a copy resembles, and whether its checksums are the published ones."""
    near = provenance.get("resembles") or {}
    verified = {True: "verified", False: "unverified", None: "?"}[provenance.get("verified")]
    if not near:
        return verified
    return f"{near['edition']} ({'exact' if near.get('exact') else 'closest'}), {verified}"


def _ingest_table(entries: LogbookEntries, out: _Writer) -> str:
    """One table per shape the ingest benchmark ran on (``results/ingest/<shape>/``)."""
    title = "### Ingest benchmark (time and memory)"
    paths = sorted((out.ctx.results_root / "ingest").glob("*/results.json"))
    if not paths:
        folder = out.ctx.rel(out.ctx.results_root / "ingest")
        return f"{title}\n\n{out.red} missing: `{folder}/<shape>/results.json` (run `make bench`)"
    return "\n\n".join([title, *(out.or_red(f"#### {path.parent.name}",
                                            lambda p=path: _ingest_shape(p, out))
                                 for path in paths)])


def _ingest_steps(path: Path, steps: Any) -> list[list[Any]]:
    """``[step, work s, peak RSS MiB, what]`` per step of the ``results`` of an ingest
    ``results.json`` at ``path``; DataError when a step lacks its finite numbers."""
    try:
        rows = [[step, float(r["work_s"]), float(r["peak_rss_bytes"]) / 2**20, r.get("what", "")]
                for step, r in steps.items()]
    except (AttributeError, KeyError, TypeError, ValueError) as error:
        raise DataError(f"{path}: each step needs numbers work_s and peak_rss_bytes "
                        f"({type(error).__name__}: {error})") from error
    if not all(math.isfinite(row[1]) and math.isfinite(row[2]) for row in rows):
        raise DataError(f"{path}: a step's work_s or peak_rss_bytes is not a finite number")
    return rows


def _ingest_shape(path: Path, out: _Writer) -> str:
    data = read_json_object(path, ("results",))
    rows = [[step, _number(work), _number(round(mib)), what]
            for step, work, mib, what in _ingest_steps(path, data["results"])]
    source = out.link("results", out.ctx.rel(path.with_name("results.md")))
    return (f"#### {path.parent.name}\n\nCommit {out.commit(data.get('git_commit'))}, {source}.\n\n"
            + _table(["step", "work s", "peak RSS MiB", "what"], rows))


def _run_cell(out: _Writer, run_id: str | None) -> str:
    if not run_id:
        return "–"
    found = out.ctx.mlflow.run(run_id)
    state = found["status"].lower() if found else "not in this tracking store"
    return f"`{run_id[:8]}` ({state})"


def _benchmark_table(folder: Path, out: _Writer) -> str:
    run = benchmark_run(out.ctx, folder.name)
    columns = [c for c in METRIC_COLUMNS
               if c in run.summary.columns and run.summary[c].null_count() < run.summary.height]
    commit = out.commit(run.context.get("git_commit"))
    runs = run.context.get("mlflow_runs", {})
    rows = [[row["model"], *(_number(row[c]) for c in columns), commit,
             _run_cell(out, runs.get(row["model"]))] for row in run.summary.iter_rows(named=True)]
    protocol = run.context.get("protocol", {}).get("kind", "?")
    head = (f"#### {out.link(run.name, out.ctx.rel(folder / 'report.md'))} — {run.dataset}, "
            f"protocol `{protocol}`, started {run.context.get('started', '?')}")
    return head + "\n\n" + _table(["model", *columns, "commit", "MLflow run"], rows)


def _benchmarks(entries: LogbookEntries, out: _Writer) -> str:
    folders = results.benchmark_folders(out.ctx.results_root)
    tables = "\n\n".join(out.or_red(f"#### {folder.name}",
                                     lambda f=folder: _benchmark_table(f, out))
                          for folder in folders)
    return ("### Comparative results (committed benchmark results)\n\nQuality, time and memory "
            "per model; each row names the commit and MLflow run that produced it. Rows are "
            "comparable within a table (one split), not across tables.\n\n"
            + (tables or f"{out.red} no results under `{out.ctx.rel(out.ctx.results_root)}`"))


def _test_run(entries: LogbookEntries, out: _Writer) -> str:
    tests = out.ctx.tests
    if tests is None:
        return f"### Last test run\n\n{out.red} no JUnit XML: run `make test`"
    totals = tests.totals()
    files = ", ".join(f"`{out.ctx.rel(p)}`" for p in tests.paths)
    head = out.ctx.git.head()
    stale = (f" (the checkout is now at {out.commit(head.sha)}: `make test` again)"
             if head and tests.commit and head.sha != tests.commit else "")
    return (f"### Last test run\n\n{out.badge(totals['failed'] == 0)} {totals['passed']} passed, "
            f"{totals['failed']} failed, {totals['skipped']} skipped — {files}, "
            f"{tests.timestamp or '?'}, commit {out.commit(tests.commit)}{stale}")


def _registry(entries: LogbookEntries, out: _Writer) -> str:
    mlflow = out.ctx.mlflow
    title = f"### MLflow registry (`{mlflow.tracking_uri}`)"
    if not mlflow.available:
        return f"{title}\n\n{out.red} no tracking store: run `python -m pipelines.retrain`"
    rows = [[name, f"v{v['version']}", v["aliases"] or "–", v["model"],
             f"`{v['run']}`", v["promote"]]
            for dataset in _datasets(entries, out.ctx)
            for name in [registered_model_name(dataset)]
            for v in mlflow.versions(name)]
    return f"{title}\n\n" + _table(["model", "version", "aliases", "recommender", "run",
                                    "gate promoted"], rows)


def _pipeline_runs(entries: LogbookEntries, out: _Writer) -> str:
    heading = "### Retraining pipeline runs"  # a damaged run file is a red line here
    return out.or_red(heading, lambda: heading + "\n\n" + _table(
        ["dataset", "run", "challenger", "promoted", "reason", "ndcg@10"],
        _pipeline_rows(entries, out)))


def _pipeline_rows(entries: LogbookEntries, out: _Writer) -> list[list[Any]]:
    rows = []
    for dataset in _datasets(entries, out.ctx):
        frame = runs.pipeline_runs(dataset, out.ctx.settings)
        rows += [[dataset, r["run"], r["challenger"], r["promoted"], r["reason"],
                  _number(r.get("ndcg@10"))] for r in frame.iter_rows(named=True)]
    return rows


def _replays(entries: LogbookEntries, out: _Writer) -> str:
    rows = []
    for name, replay in saved_replays(out.ctx.results_root).items():
        primary = replay.metrics.row(0, named=True)
        rows.append([out.link(name, out.ctx.rel(out.ctx.results_root / name / "report.md")),
                     f"{replay.control} vs {replay.treatment}", primary["metric"],
                     f"{primary['lift']:+.1%}", _number(primary["p_value"]),
                     f"{out.badge(not replay.srm.flagged)} p = {replay.srm.p_value:.3g}",
                     out.commit(replay.commit)])
    return "### Offline A/B replays\n\n" + _table(
        ["replay", "arms", "primary", "lift", "p", "sample ratio", "commit"], rows)


def _notebooks(entries: LogbookEntries, out: _Writer) -> str:
    rows = []
    for path in notebook_paths(out.ctx.repo / NOTEBOOKS_DIR.name):
        node = f"tests/notebooks/test_notebooks.py::test_notebook_executes[{path.stem}]"
        status = check(Proof(test=node), out.ctx)
        rendered = out.ctx.repo / "build" / "notebooks" / f"{path.stem}.html"
        rows.append([out.link(path.stem, out.ctx.rel(path)), f"{out.badge(status.ok)} "
                     f"{status.detail}", out.link("HTML", out.ctx.rel(rendered))
                     if rendered.exists() else "`make notebooks`"])
    return "### Notebooks (executed by `make test`)\n\n" + _table(
        ["notebook", "executed in the last test run", "rendered"], rows)


# Each block's tables, in order; every builder takes (entries, writer).
_BLOCK_TABLES: dict[str, list[Callable[[LogbookEntries, _Writer], str]]] = {
    "data": [_quality_table, _ingest_table],
    "recommenders": [_benchmarks],
    "mlops": [_test_run, _registry, _pipeline_runs, _replays, _notebooks],
}


def _block(block: str, entries: LogbookEntries, out: _Writer) -> Section:
    checklist, red, total = _checklist(block, entries, out)
    tables = [table(entries, out) for table in _BLOCK_TABLES[block]]
    return Section(block, BLOCK_TITLES[block], "\n\n".join([checklist, *tables]), red, total)


# -- journal, decisions, versions ---------------------------------------------------------------
def _evidence(items: Iterable[Evidence], out: _Writer) -> str:
    parts = [out.link(e.text, e.path) + (f" ({out.issue(e.issue)})" if e.issue else "")
             if e.path else f"{out.issue(e.issue)}: {e.text}" if e.issue else e.text
             for e in items]
    return "; ".join(parts) or "–"



def _entry_status(entry: JournalEntry, checked: list[tuple[Proof, Status]],
                  ctx: Context) -> tuple[bool, str]:
    if entry.status == "open":
        return False, "open"
    if ctx.git.commit(str(entry.commit)) is None:
        return False, "fixed, but its commit is not in this history"
    if checked and not _all_ok(checked):
        return False, "fixed, but its proof fails"
    return True, "fixed"


def _journal_entry(entry: JournalEntry, out: _Writer) -> tuple[str, bool]:
    checked = _checks(entry.proofs, out.ctx)
    ok, state = _entry_status(entry, checked, out.ctx)
    lines = [f"#### {out.badge(ok)} {entry.date.isoformat()} · {entry.block} · {entry.title} "
             f"({state})", "", f"- **Problem**: {entry.problem}",
             f"- **Evidence**: {_evidence(entry.evidence, out)}"]
    for reading in (measure(m, out.ctx) for m in entry.measurements):
        value = _number(reading.value, missing="missing")
        lines.append(f"  - {reading.label}: **{value}** — {reading.source}")
    lines += [f"- **Fix**: {entry.fix}", f"- **Commit**: {out.commit(entry.commit)}"
              if entry.commit else "- **Commit**: none yet (open)"]
    lines += [f"- **Proof**: {out.proof(p, s)}" for p, s in checked]
    return "\n".join(lines), ok


def _journal(entries: LogbookEntries, out: _Writer) -> Section:
    rendered = [_journal_entry(e, out) for e in sorted(entries.journal, key=lambda e: e.date)]
    fixed = sum(e.status == "fixed" for e in entries.journal)
    head = (f"{fixed} fixed, {len(entries.journal) - fixed} open. Source: "
            f"{out.link('docs/logbook/journal.yaml', 'docs/logbook/journal.yaml')}; open entries "
            "have no commit until their fix lands.")
    red = sum(not ok for _, ok in rendered)
    return Section("journal", "Journal of problems and fixes",
                   "\n\n".join([head, *(text for text, _ in rendered)]), red, len(rendered))


def _decision(decision: Decision, out: _Writer) -> tuple[str, bool]:
    checked = _checks(decision.proofs, out.ctx)
    ok = _all_ok(checked) or not checked
    lines = [f"#### {out.badge(ok)} {decision.what} ({BLOCK_TITLES[decision.block]})", "",
             f"- **Why**: {decision.why}", f"- **Evidence**: {_evidence(decision.evidence, out)}"]
    lines += [f"- **Data**: {out.proof(p, s)}" for p, s in checked]
    if decision.commit:
        lines.append(f"- **Commit**: {out.commit(decision.commit)}")
    return "\n".join(lines), ok


def _decisions(entries: LogbookEntries, out: _Writer) -> Section:
    rendered = [_decision(d, out) for d in entries.decisions]
    red = sum(not ok for _, ok in rendered)
    body = "\n\n".join(text for text, _ in rendered) or "_none_"
    return Section("decisions", "Architecture decisions", body, red, len(rendered))


def _image_tags(ctx: Context, sha: str) -> list[str]:
    workflow = ctx.repo / ".github" / "workflows" / "ci.yml"
    tags = [t.removeprefix("v") for t in ctx.git.tags_at(sha) if t.startswith("v")]
    by_commit = workflow.exists() and "type=sha,format=long" in workflow.read_text()
    return [f"`{t}`" for t in tags] + ([f"`sha-{sha}`"] if by_commit else [])


def _versions(entries: LogbookEntries, out: _Writer) -> Section:
    ctx, head = out.ctx, out.ctx.git.head()
    if head is None:
        rows = [["code", f"{out.red} not a git checkout"]]
    else:
        dirty = " (uncommitted changes)" if ctx.git.dirty() else ""
        rows = [["code", f"{out.commit(head.sha)}{dirty} {head.subject}"],
                ["image (tags the CI image job gives this commit)",
                 ", ".join(_image_tags(ctx, head.sha)) or "–"]]
    for dataset in _datasets(entries, ctx):
        status = check(Proof(champion=dataset), ctx)
        rows.append([f"champion model, {dataset}", f"{out.badge(status.ok)} {status.detail}"])
    history = _table(["date", "commit", "subject"],
                     [[c.date, out.commit(c.sha), c.subject] for c in ctx.git.log(15)])
    body = _table(["what", "version"], rows) + "\n\n### Recent history\n\n" + history
    return Section("versions", "Versions", body)


def _overview(generated: str, sections: list[Section], out: _Writer) -> Section:
    rows = [[s.title, f"{out.badge(s.red == 0)} {s.total - s.red} of {s.total} green"]
            for s in sections if s.total]
    ctx = out.ctx
    sources = [
        f"- Test results: {', '.join(f'`{ctx.rel(p)}`' for p in ctx.tests.paths)}"
        if ctx.tests else f"- Test results: {out.red} none (run `make test`)",
        f"- Benchmark results: `{ctx.rel(ctx.results_root)}`",
        f"- Data quality reports: `{ctx.rel(ctx.settings.data_dir / 'reports')}`",
        f"- MLflow: `{ctx.mlflow.tracking_uri}`"
        + ("" if ctx.mlflow.available else f" ({out.red} no store)"),
        "- Git history of this checkout; hand-written entries in `docs/logbook/*.yaml`",
    ]
    body = (f"Generated {generated} by `recsys report logbook` from real sources only; a step "
            f"whose proof fails or is missing is {out.red}.\n\n" + _table(["part", "status"], rows)
            + "\n\nSources:\n\n" + "\n".join(sources))
    return Section("overview", "Overview", body)


def build_logbook(ctx: Context, entries: LogbookEntries, link_base: str | None = "",
                  style: str = "markdown") -> Logbook:
    """Assemble every section; ``link_base`` prefixes repository paths (None: paths as text),
    ``style`` picks the badges (``markdown`` emoji, ``streamlit`` colour syntax)."""
    if style not in BADGES:
        raise ConfigError(f"logbook style {style!r}: expected one of {sorted(BADGES)}")
    out = _Writer(ctx, link_base, style)
    generated = datetime.now(UTC).isoformat(timespec="seconds")
    parts = [_block(block, entries, out) for block in BLOCKS]
    parts += [_journal(entries, out), _decisions(entries, out), _versions(entries, out)]
    return Logbook(generated, [_overview(generated, parts, out), *parts])


def write_logbook(ctx: Context, entries: LogbookEntries, folder: Path | str) -> list[Path]:
    """Write ``logbook.md`` and ``logbook.html`` into ``folder`` (links relative to it)."""
    folder = check_path(folder, "folder")
    base = os.path.relpath(ctx.repo.resolve(), folder.resolve()).replace(os.sep, "/") + "/"
    logbook = build_logbook(ctx, entries, link_base=base)
    markdown = "# Project logbook\n\n" + logbook.to_markdown()
    paths = [write_text(folder / "logbook.md", markdown),
             write_text(folder / "logbook.html", logbook.to_html())]
    for path in paths:
        path.chmod(0o644)  # temp files are private; the logbook is meant to be read
    return paths
