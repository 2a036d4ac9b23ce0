"""Readers of the logbook's real sources: test results, quality reports, MLflow and git.

Benchmark results are read with :mod:`recsys.bench.results`, replays with
:class:`recsys.ab.replay.SavedReplay`, pipeline runs with :mod:`recsys.runs`. Every reader is
read-only and answers ``None`` (or an empty value) when its source is missing, so that the
logbook can say so.
"""

from __future__ import annotations

import logging
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from recsys.data.fetch import reports_dir
from recsys.errors import DataError
from recsys.io import read_json_object
from recsys.settings import Settings
from recsys.tracking import existing_client, registered_versions, store_exists

__all__ = [
    "Commit",
    "Git",
    "MlflowSource",
    "TestRun",
    "read_junit",
    "read_quality",
]

log = logging.getLogger(__name__)
_WORST = ("passed", "skipped", "failed")  # a test case's outcome is its worst record
QUALITY_KEYS = ("ok", "findings", "stats", "manifest_hash")


# -- pytest's JUnit XML -------------------------------------------------------------------------
@dataclass(frozen=True)
class TestRun:
    """Outcomes of the last test run, keyed by dotted test address (``tests.x.test_y.test_z``)."""

    __test__ = False  # not a pytest test class

    paths: tuple[Path, ...]
    outcomes: dict[str, str]
    timestamp: str
    commit: str

    def select(self, node_id: str) -> dict[str, str]:
        """Outcomes of the tests under a pytest node id (a file, a test, a parametrized test)."""
        key = _dotted(node_id)
        return {name: outcome for name, outcome in self.outcomes.items()
                if name == key or name.startswith((key + ".", key + "["))}

    def totals(self) -> dict[str, int]:
        """How many tests passed, failed and were skipped."""
        counts = dict.fromkeys(_WORST, 0)
        for outcome in self.outcomes.values():
            counts[outcome] += 1
        return counts


def _dotted(node_id: str) -> str:
    """``tests/a/test_b.py::C::d[x]`` -> ``tests.a.test_b.C.d[x]`` (JUnit's classname.name)."""
    module, _, rest = node_id.partition("::")
    dotted = module.removesuffix(".py").replace("/", ".")
    return f"{dotted}.{rest.replace('::', '.')}" if rest else dotted


def _outcome(case: ET.Element) -> str:
    if case.find("failure") is not None or case.find("error") is not None:
        return "failed"
    return "skipped" if case.find("skipped") is not None else "passed"


def read_junit(paths: Sequence[Path]) -> TestRun | None:
    """Merge the JUnit XML files that exist (``make test``, ``make test-slow``); None if none."""
    present = tuple(p for p in paths if p.exists())
    if not present:
        return None
    outcomes: dict[str, str] = {}
    stamps, commits = [], []
    for path in present:
        try:
            root = ET.parse(path).getroot()
        except (ET.ParseError, OSError) as error:
            raise DataError(f"{path}: not a JUnit XML file ({error})") from error
        for suite in root.iter("testsuite"):
            stamps.append(suite.get("timestamp", ""))
            commits += [p.get("value", "") for p in suite.iter("property")
                        if p.get("name") == "git_commit"]
            for case in suite.iter("testcase"):
                key = f"{case.get('classname', '')}.{case.get('name', '')}"
                previous = outcomes.get(key, "passed")
                outcomes[key] = max(previous, _outcome(case), key=_WORST.index)
    return TestRun(present, outcomes, max(stamps, default=""), commits[0] if commits else "")


# -- data quality reports -----------------------------------------------------------------------
def read_quality(dataset: str, settings: Settings) -> dict[str, Any] | None:
    """The report ``recsys data validate DATASET`` wrote (``quality.json``), or None; DataError
    when it is unreadable or lacks a part the logbook shows."""
    path = reports_dir(dataset, settings) / "quality.json"
    return read_json_object(path, QUALITY_KEYS) if path.exists() else None


# -- MLflow -------------------------------------------------------------------------------------
class MlflowSource:
    """Runs and registered models of the configured store; empty when the store does not exist."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.tracking_uri = settings.tracking_uri

    @cached_property
    def client(self) -> Any | None:
        """The store's client, made on first use (importing MLflow takes seconds)."""
        return existing_client(self.settings)  # never creates a store just to read it

    @property
    def available(self) -> bool:
        """True when a tracking store is there to read."""
        return store_exists(self.tracking_uri)

    def run(self, run_id: str) -> dict[str, Any] | None:
        """``{id, name, status, experiment}`` of a run, or None when this store lacks it."""
        if self.client is None or not run_id:
            return None
        from mlflow.exceptions import MlflowException

        try:
            run = self.client.get_run(run_id)
        except MlflowException:
            return None
        return {"id": run.info.run_id, "name": run.info.run_name, "status": run.info.status,
                "experiment": run.info.experiment_id}

    def versions(self, model_name: str) -> list[dict[str, Any]]:
        """Versions of a registered model, newest first (:func:`recsys.tracking.
        registered_versions`): ``{version, model, aliases, created, run, promote}``."""
        return registered_versions(self.settings, model_name).to_dicts()


# -- git ----------------------------------------------------------------------------------------
def _is_ref(ref: object) -> bool:
    """A text git can only read as a revision (``--output=x`` would write a file)."""
    return isinstance(ref, str) and not ref.startswith("-")


@dataclass(frozen=True)
class Commit:
    """One commit: full hash, ISO date and subject line."""

    sha: str
    date: str
    subject: str

    @property
    def short(self) -> str:
        """The abbreviated hash shown in tables."""
        return self.sha[:7]


@dataclass
class Git:
    """Read-only git queries in one checkout (answers None outside a repository).

    The checked-out history is read once (one ``git log``) and hashes are looked up in it;
    other refs (``HEAD``, ``abc123^``, a commit of another branch) cost one ``git show`` each,
    cached like file contents.
    """

    repo: Path
    _refs: dict[str, Commit | None] = field(default_factory=dict)
    _files: dict[tuple[str, str], bytes | None] = field(default_factory=dict)

    def _bytes(self, *args: str) -> bytes | None:
        try:
            done = subprocess.run(["git", *args], cwd=self.repo, capture_output=True, timeout=30,
                                  check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout if done.returncode == 0 else None

    def _run(self, *args: str) -> str | None:
        out = self._bytes(*args)
        return None if out is None else out.decode("utf-8", "replace")

    @cached_property
    def history(self) -> list[Commit]:
        """Every commit reachable from HEAD, newest first."""
        out = self._run("log", "--format=%H%x00%cs%x00%s") or ""
        return [Commit(*line.split("\x00")) for line in out.splitlines()
                if line.count("\x00") == 2]

    def commit(self, ref: str) -> Commit | None:
        """The commit a hash or ref names, or None when this repository does not hold it (or
        ``ref`` is not a string, or starts with ``-``: git would read it as an option)."""
        if not _is_ref(ref):
            return None
        if ref not in self._refs:
            hexadecimal = len(ref) >= 4 and all(c in "0123456789abcdef" for c in ref.lower())
            found = [c for c in self.history if c.sha.startswith(ref.lower())] if hexadecimal \
                else []
            self._refs[ref] = found[0] if len(found) == 1 else self._show_commit(ref)
        return self._refs[ref]

    def _show_commit(self, ref: str) -> Commit | None:
        out = self._run("show", "-s", "--format=%H%x00%cs%x00%s", f"{ref}^{{commit}}", "--")
        parts = out.strip().split("\x00") if out else []
        return Commit(*parts) if len(parts) == 3 else None

    def head(self) -> Commit | None:
        """The checked-out commit."""
        return self.commit("HEAD")

    def dirty(self) -> bool:
        """True when tracked files differ from HEAD."""
        return bool(self._run("status", "--porcelain", "--untracked-files=no"))

    def log(self, limit: int = 30) -> list[Commit]:
        """The latest commits, newest first."""
        return self.history[:limit]

    def show(self, ref: str, path: str) -> bytes | None:
        """A file's bytes as of ``ref`` (``git show ref:path``), or None (also for a ``ref``
        that is not one, as :meth:`commit` says)."""
        if not _is_ref(ref):
            return None
        if (ref, path) not in self._files:
            self._files[ref, path] = self._bytes("show", f"{ref}:{path}")
        return self._files[ref, path]

    def tags_at(self, ref: str) -> list[str]:
        """Tags pointing at ``ref`` (release versions)."""
        return (self._run("tag", "--points-at", ref) or "").split()

    @cached_property
    def remote(self) -> str:
        """Web address of ``origin`` when it is a GitHub remote, else empty."""
        url = (self._run("remote", "get-url", "origin") or "").strip().removesuffix(".git")
        if url.startswith("git@github.com:"):
            url = "https://github.com/" + url.removeprefix("git@github.com:")
        return url if url.startswith("https://github.com/") else ""
