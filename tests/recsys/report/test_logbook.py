"""The logbook reads real sources, and a step turns red when its proof fails or goes missing.

Sources are real: a copy of the committed benchmark results, JUnit XML written by a pytest
run, a quality report written by ``recsys data validate``, a SQLite MLflow registry, and this
checkout's git history.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import polars as pl
import pytest
import yaml
from mlflow.tracking import MlflowClient

from recsys.cli import main
from recsys.errors import ArgumentError, ConfigError, DataError
from recsys.report.entries import (
    ChecklistItem,
    JournalEntry,
    LogbookEntries,
    Measurement,
    Proof,
    load_entries,
)
from recsys.report.logbook import build_logbook, open_context
from recsys.report.proofs import Context, check, measure
from recsys.report.sources import Git, read_junit
from recsys.settings import Settings

REPO = Path(__file__).resolve().parents[3]
ENTRIES = REPO / "docs" / "logbook"
SAMPLE_TESTS = '''
import pytest

def test_ok():
    pass

def test_broken():
    assert False

@pytest.mark.parametrize("n", [1, 2])
def test_many(n):
    pass

@pytest.mark.skip(reason="not here")
def test_skipped():
    pass
'''


@pytest.fixture(scope="module")
def results_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of benchmarks/results that a test may break."""
    target = tmp_path_factory.mktemp("results") / "results"
    shutil.copytree(REPO / "benchmarks" / "results", target,
                    ignore=shutil.ignore_patterns("*.html", "*.js", "per_user.parquet"))
    return target


@pytest.fixture(scope="module")
def junit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """JUnit XML of a real pytest run over a small module (one test fails, one is skipped)."""
    folder = tmp_path_factory.mktemp("junit")
    (folder / "test_sample.py").write_text(SAMPLE_TESTS)
    xml = folder / "junit.xml"
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                    f"--junitxml={xml}", "test_sample.py"], cwd=folder, capture_output=True,
                   check=False, timeout=120)
    return xml


def _context(tmp_path: Path, results: Path, junit: list[Path] | None = None) -> Context:
    settings = Settings(data_dir=tmp_path / "data",
                        mlflow_tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    return open_context(REPO, settings, results_root=results, junit=junit or [])


def _entries(*items: ChecklistItem, journal: list[JournalEntry] | None = None) -> LogbookEntries:
    return LogbookEntries(list(items), journal or [], [])


# -- the committed entries ---------------------------------------------------------------------
def test_committed_entries_name_sources_that_exist() -> None:
    entries = load_entries(ENTRIES)
    proofs = [p for i in entries.checklist for p in i.proofs]
    proofs += [p for e in entries.journal for p in e.proofs]
    proofs += [p for d in entries.decisions for p in d.proofs]
    results = REPO / "benchmarks" / "results"
    for proof in proofs:
        if proof.kind == "test":  # the file exists and defines the named test (renames show)
            path, _, name = proof.target.partition("::")
            assert (REPO / path).exists(), proof.target
            test = name.split("::")[-1].partition("[")[0]
            assert not test or f"def {test}(" in (REPO / path).read_text(), proof.target
        elif proof.kind in ("results", "goals", "compare"):
            assert (results / proof.target).is_dir(), proof.target
    paths = [e.path for x in [*entries.journal, *entries.decisions] for e in x.evidence if e.path]
    assert [p for p in paths if not (REPO / p).exists()] == []
    assert {e.status for e in entries.journal} == {"fixed", "open"}
    git = Git(REPO)
    commits = [e.commit for e in entries.journal if e.commit]
    commits += [m.commit for e in entries.journal for m in e.measurements if m.commit]
    assert [c for c in commits if git.commit(c) is None] == []


def test_no_entry_text_is_cut_by_a_yaml_comment() -> None:
    """A plain YAML value stops at " #": "issue #18" in an unquoted text would be cut there."""
    for path in sorted(ENTRIES.glob("*.yaml")):
        lines = path.read_text(encoding="utf-8").splitlines()
        nodes = [yaml.compose(path.read_text(encoding="utf-8"))]
        while nodes:
            node = nodes.pop()
            if isinstance(node, yaml.ScalarNode):
                rest = lines[node.end_mark.line][node.end_mark.column:]
                cut = not node.style and rest.lstrip().startswith("#")
                assert not cut, f"{path.name}:{node.end_mark.line + 1}: quote this text"
            elif isinstance(node, yaml.MappingNode):
                nodes += [value for _, value in node.value]  # keys end before their value
            elif isinstance(node, yaml.SequenceNode):
                nodes += node.value


def test_every_block_has_checklist_steps() -> None:
    entries = load_entries(ENTRIES)
    assert {i.block for i in entries.checklist} == {"data", "recommenders", "mlops"}


# -- a broken proof turns its step red ---------------------------------------------------------
def test_removing_a_result_file_turns_the_step_red(tmp_path: Path, results_copy: Path) -> None:
    folder = tmp_path / "results"
    shutil.copytree(results_copy, folder)
    item = ChecklistItem("data", "Ingest benchmark at the ml-20m shape",
                         [Proof(results="ingest/ml-20m")])
    ctx = _context(tmp_path, folder)
    before = build_logbook(ctx, _entries(item)).section("data")
    assert before.red == 0 and "🟢 **Ingest benchmark at the ml-20m shape**" in before.markdown

    committed = load_entries(ENTRIES)  # the decision that rests on the ingest benchmark only
    decision = "#### 🟢 Polars at the edges"
    assert decision in build_logbook(ctx, committed).section("decisions").markdown

    (folder / "ingest" / "ml-20m" / "results.json").unlink()
    after = build_logbook(ctx, _entries(item)).section("data")
    assert after.red == 1 and "🔴 **Ingest benchmark at the ml-20m shape**" in after.markdown
    assert "missing: no results.csv or results.json" in after.markdown
    decisions = build_logbook(ctx, committed).section("decisions").markdown
    assert decision.replace("🟢", "🔴") in decisions


def test_a_result_that_misses_its_goal_turns_red(tmp_path: Path, results_copy: Path) -> None:
    folder = tmp_path / "results"
    shutil.copytree(results_copy, folder)
    ctx = _context(tmp_path, folder)
    goals = Proof(goals="surprise-ml100k", metric="rmse")
    assert check(goals, ctx).ok
    assert "goals missed" in check(Proof(goals="surprise-ml100k", metric="fit_s"), ctx).detail
    csv = folder / "surprise-ml100k" / "results.csv"
    summary = pl.read_csv(csv)
    summary.with_columns(pl.when(pl.col("model") == "SVD").then(2.0).otherwise(pl.col("rmse"))
                         .alias("rmse")).write_csv(csv)
    status = check(goals, _context(tmp_path, folder))  # a new logbook reads the sources anew
    assert not status.ok and "goals missed" in status.detail and "SVD" in status.detail


def test_compare_follows_the_metric_direction_and_significance(
    tmp_path: Path, results_copy: Path
) -> None:
    ctx = _context(tmp_path, results_copy)
    shrunk = dict(compare="similarity-ml-latest-small", metric="ndcg@10", significant=True)
    assert check(Proof(**shrunk, better="item-kNN cosine shrunk", than="item-kNN cosine"), ctx).ok
    assert not check(Proof(**shrunk, better="item-kNN cosine", than="item-kNN cosine shrunk"),
                     ctx).ok
    rmse = Proof(compare="surprise-ml100k", metric="rmse", better="SVD++", than="SVD")
    assert check(rmse, ctx).ok  # lower RMSE is better
    assert not check(Proof(compare="surprise-ml100k", metric="rmse", better="SVD",
                           than="no such model"), ctx).ok


# -- test results ------------------------------------------------------------------------------
def test_junit_outcomes_decide_test_proofs(tmp_path: Path, results_copy: Path,
                                           junit: Path) -> None:
    run = read_junit([junit])
    assert run is not None and run.totals() == {"passed": 3, "failed": 1, "skipped": 1}
    ctx = _context(tmp_path, results_copy, [junit])
    verdicts = {node: check(Proof(test=node), ctx) for node in [
        "test_sample.py::test_ok", "test_sample.py::test_many", "test_sample.py::test_many[2]",
        "test_sample.py::test_broken", "test_sample.py::test_skipped", "test_sample.py",
        "test_sample.py::test_gone"]}
    assert [node for node, status in verdicts.items() if status.ok] == [
        "test_sample.py::test_ok", "test_sample.py::test_many", "test_sample.py::test_many[2]"]
    assert verdicts["test_sample.py"].detail == "1 of 5 failed in the last run"
    assert verdicts["test_sample.py::test_gone"].detail == "not found in the last test run"
    assert verdicts["test_sample.py::test_skipped"].detail == "skipped in the last run"


def test_no_test_run_at_all_is_red(tmp_path: Path, results_copy: Path) -> None:
    status = check(Proof(test="tests/recsys/data/test_split.py"), _context(tmp_path,
                                                                             results_copy))
    assert not status.ok and "make test" in status.detail


# -- quality reports and MLflow ----------------------------------------------------------------
def test_quality_proof_reads_the_validate_report(tmp_path: Path, results_copy: Path,
                                                 mirror_dir: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = _context(tmp_path, results_copy)
    proof = Proof(quality="ml-latest-small")
    assert "recsys data validate ml-latest-small" in check(proof, ctx).detail
    monkeypatch.setenv("RECSYS_DATA_DIR", str(ctx.settings.data_dir))
    monkeypatch.setenv("RECSYS_DATA_MIRROR", str(mirror_dir))
    assert main(["data", "fetch", "ml-latest-small"]) == 0
    assert main(["data", "validate", "ml-latest-small"]) == 0
    status = check(proof, ctx)
    assert status.ok and status.detail.startswith("PASS")
    data = build_logbook(ctx, _entries()).section("data").markdown
    assert "| ml-latest-small | 🟢 PASS | 100,836 | 610 | 9,742 | 3,683 | 0 | 0 |" in data
    assert "(exact), verified" in data


def test_champion_proof_reads_the_registry(tmp_path: Path, results_copy: Path) -> None:
    ctx = _context(tmp_path, results_copy)
    assert not check(Proof(champion="ml-100k"), ctx).ok  # no store: red, and none created
    assert not (tmp_path / "mlflow.db").exists()
    client = MlflowClient(tracking_uri=ctx.settings.tracking_uri)
    run = client.create_run(client.create_experiment("retrain"))
    client.create_registered_model("recsys-ml-100k")
    version = client.create_model_version("recsys-ml-100k", f"runs:/{run.info.run_id}/model",
                                          run.info.run_id)
    ctx = _context(tmp_path, results_copy)
    assert not check(Proof(champion="ml-100k"), ctx).ok  # a version, but no champion alias
    client.set_registered_model_alias("recsys-ml-100k", "champion", version.version)
    status = check(Proof(champion="ml-100k"), ctx)
    assert status.ok and status.detail.startswith("recsys-ml-100k v1")
    assert ctx.mlflow.run(run.info.run_id)["status"] == "RUNNING"


# -- journal -----------------------------------------------------------------------------------
def test_measurements_come_from_the_results_at_a_commit(tmp_path: Path) -> None:
    ctx = _context(tmp_path, REPO / "benchmarks" / "results")
    cold = dict(results="content-hybrid-cold-items-ml-latest-small", metric="recall@10")
    before = measure(Measurement("before", model="hybrid-blend", commit="b70115d^", **cold), ctx)
    after = measure(Measurement("after", model="hybrid-blend", commit="b70115d", **cold), ctx)
    assert before.value == 0.0 and after.value is not None and after.value > 0
    assert "at b70115d" in after.source
    quoted = measure(Measurement("after fix", reported=0.0061, source="issue #11"), ctx)
    assert quoted.value == 0.0061 and "not a committed result" in quoted.source


def test_open_and_unproven_entries_render_red(tmp_path: Path, results_copy: Path) -> None:
    common = dict(date=date(2026, 11, 29), block="data", problem="p", evidence=[], fix="f")
    journal = [
        JournalEntry(title="still open", status="open", **common),
        JournalEntry(title="fixed", status="fixed", commit="97e616e", **common),
        JournalEntry(title="lost commit", status="fixed", commit="0123456789abcdef", **common),
        JournalEntry(title="fixed but broken", status="fixed", commit="97e616e",
                     proofs=[Proof(results="no-such-benchmark")], **common),
    ]
    section = build_logbook(_context(tmp_path, results_copy), _entries(journal=journal))
    text = section.section("journal").markdown
    assert "🔴 2026-11-29 · data · still open (open)" in text
    assert "🟢 2026-11-29 · data · fixed (fixed)" in text
    assert "lost commit (fixed, but its commit is not in this history)" in text
    assert "fixed but broken (fixed, but its proof fails)" in text
    assert section.section("journal").red == 3


def test_entries_are_strict() -> None:
    common = dict(date=date(2026, 11, 29), block="data", title="t", problem="p", evidence=[],
                  fix="f")
    with pytest.raises(ConfigError, match="name the fixing commit"):
        JournalEntry(status="fixed", **common)
    with pytest.raises(ConfigError, match="has no fixing commit"):
        JournalEntry(status="open", commit="abc", **common)
    with pytest.raises(ConfigError, match="exactly one"):
        Proof(test="a", quality="b")
    with pytest.raises(ConfigError, match="results\\+model\\+metric or reported\\+source"):
        Measurement("half", results="x")


def test_unknown_key_in_a_source_file_fails_loudly(tmp_path: Path) -> None:
    for name in ("journal", "decisions"):
        (tmp_path / f"{name}.yaml").write_text(f"{name}: []\n")
    (tmp_path / "checklist.yaml").write_text(
        "checklist:\n  - {block: data, step: s, proofs: [], colour: red}\n")
    with pytest.raises(ConfigError, match="unknown key"):
        load_entries(tmp_path)


# -- the command ---------------------------------------------------------------------------------
def test_badge_styles(tmp_path: Path, results_copy: Path) -> None:
    item = ChecklistItem("data", "gone", [Proof(results="no-such-benchmark")])
    ctx = _context(tmp_path, results_copy)
    app = build_logbook(ctx, _entries(item), link_base=None, style="streamlit").section("data")
    assert ":red[✘] **gone**" in app.markdown and "🔴" not in app.markdown
    with pytest.raises(ConfigError, match="logbook style"):
        build_logbook(ctx, _entries(item), style="latex")


def test_cli_writes_markdown_and_html(tmp_path: Path, junit: Path, capsys) -> None:
    out = tmp_path / "logbook"
    assert main(["report", "logbook", "--out", str(out), "--junit", str(junit)]) == 0
    markdown = (out / "logbook.md").read_text()
    for heading in ("## Overview", "## Data", "## Recommenders", "## MLOps",
                    "## Journal of problems and fixes", "## Architecture decisions",
                    "## Versions"):
        assert heading in markdown
    assert "content-hybrid-cold-items-ml-latest-small" in markdown
    assert "<table>" in (out / "logbook.html").read_text()
    assert str(out / "logbook.md") in capsys.readouterr().out



# -- odd files and careless calls --------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("", "results.json is not readable JSON"),
    ("{oops", "results.json is not readable JSON"),
    ("[1, 2]", "holds list, not a JSON object"),
    ('{"verdict": [1]}', "verdict must be an object of targets"),
])
def test_a_damaged_results_json_is_a_red_proof(text: str, expected: str, tmp_path: Path) -> None:
    (tmp_path / "results" / "odd").mkdir(parents=True)
    (tmp_path / "results" / "odd" / "results.json").write_text(text)
    status = check(Proof(results="odd"), _context(tmp_path, tmp_path / "results"))
    assert not status.ok and status.detail.startswith("unreadable") and expected in status.detail


@pytest.mark.parametrize(("text", "expected"), [
    ("{", "is not readable JSON"),
    ("{}", "lacks key(s) ['results']"),
    ('{"results": [1]}', "each step needs numbers work_s and peak_rss_bytes"),
    ('{"results": {"gen": {"work_s": "abc", "peak_rss_bytes": 1}}}', "each step needs numbers"),
    ('{"results": {"gen": {"work_s": 1.0, "peak_rss_bytes": NaN}}}', "not a finite number"),
])
def test_damaged_sources_turn_their_table_red_not_the_logbook(
    text: str, expected: str, tmp_path: Path
) -> None:
    results = tmp_path / "results"
    (results / "ingest" / "odd").mkdir(parents=True)
    (results / "ingest" / "odd" / "results.json").write_text(text)
    shutil.copytree(REPO / "benchmarks" / "results" / "liang-ml100k", results / "broken",
                    ignore=shutil.ignore_patterns("*.html", "per_user.parquet"))
    (results / "broken" / "results.csv").write_text("")
    ctx = _context(tmp_path, results)
    reports = ctx.settings.data_dir / "reports" / "ml-100k"
    reports.mkdir(parents=True)
    (reports / "quality.json").write_text("{broken")
    run = ctx.settings.data_dir / "runs" / "ml-100k" / "2026-01-01" / "gate"
    run.mkdir(parents=True)
    (run / "decision.json").write_text("[]")  # was a raw AttributeError of the whole logbook
    logbook = build_logbook(ctx, _entries())
    data = logbook.section("data").markdown
    assert f"#### odd\n\n🔴 unreadable: {results / 'ingest' / 'odd' / 'results.json'}" in data
    assert expected in data
    assert "| ml-100k | 🔴 unreadable:" in data
    assert "#### broken\n\n🔴 unreadable:" in logbook.section("recommenders").markdown
    assert (f"### Retraining pipeline runs\n\n🔴 unreadable: {run / 'decision.json'} holds list"
            in logbook.section("mlops").markdown)


@pytest.mark.parametrize(("change", "expected"), [
    (("2026-12-01", "2026-13-45"), "is not valid YAML: month must be in 1..12"),
    (("2026-12-01", "2026-12-01 10:00:00"), "date must be a day (YYYY-MM-DD)"),
    (("    fix: f\n", "    fix: f\n    measurements: [{label: x, reported: .nan, source: s}]\n"),
     "reported must be a finite number"),
    (("    fix: f\n", "    fix: f\n    measurements: [{label: x, reported: .inf, source: s}]\n"),
     "reported must be a finite number"),
])
def test_an_odd_journal_entry_is_a_config_error(change: tuple[str, str], expected: str,
                                                tmp_path: Path) -> None:
    entry = ("journal:\n  - date: 2026-12-01\n    block: mlops\n    title: t\n    problem: p\n"
             "    evidence: []\n    fix: f\n    status: open\n")
    for name in ("checklist", "decisions"):
        (tmp_path / f"{name}.yaml").write_text(f"{name}: []\n")
    (tmp_path / "journal.yaml").write_text(entry.replace(*change))
    with pytest.raises(ConfigError, match=re.escape(expected)):
        load_entries(str(tmp_path))


def test_a_ref_git_would_read_as_an_option_is_no_commit(tmp_path: Path) -> None:
    git, target = Git(REPO), tmp_path / "written"
    assert git.commit(f"--output={target}") is None and git.show(f"--output={target}", "x") is None
    assert git.commit(1234567) is None  # a context.json may hold a number
    assert list(tmp_path.iterdir()) == []


def test_careless_context_arguments_are_clear_errors(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    with pytest.raises(ArgumentError, match="junit must be a list of JUnit XML paths"):
        open_context(REPO, settings, junit=tmp_path / "junit.xml")
    with pytest.raises(ArgumentError, match="results_root must be a path"):
        open_context(REPO, settings, results_root=3)
    with pytest.raises(DataError, match="not a JUnit XML file"):
        open_context(REPO, settings, junit=[tmp_path])  # a folder
    ctx = open_context(str(REPO), settings, str(tmp_path / "results"), [])
    assert ctx.results_root == tmp_path / "results"
