"""The logbook's hand-written inputs, typed: checklist steps, journal entries, decisions.

They live as YAML in ``docs/logbook/`` and say *what* was done or found and *where the proof
is*; they hold no result. Numbers come from the sources the proofs and measurements name
(test results, quality reports, benchmark results, MLflow, git). Unknown keys, a missing field
or an entry that contradicts itself (a fixed problem without its commit, an open one with one)
fail loudly with :class:`~recsys.errors.ConfigError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Literal

from recsys.arguments import check_path
from recsys.config import load_yaml
from recsys.errors import ConfigError

__all__ = [
    "BLOCKS",
    "Block",
    "ChecklistItem",
    "Decision",
    "Evidence",
    "JournalEntry",
    "LogbookEntries",
    "Measurement",
    "Proof",
    "load_entries",
]

Block = Literal["data", "recommenders", "mlops"]
BLOCKS: tuple[Block, ...] = ("data", "recommenders", "mlops")
PROOF_KINDS = ("test", "quality", "results", "goals", "compare", "champion")


@dataclass(frozen=True)
class Proof:
    """One thing that proves a step; exactly one kind is set.

    - ``test``: a pytest node id (file, test or parametrized test) that passed in the last run;
    - ``quality``: a dataset whose ``recsys data validate`` report exists and passes;
    - ``results``: a folder of ``benchmarks/results`` holding ``results.csv`` or ``results.json``;
    - ``goals``: a benchmark spec (``benchmarks/specs/NAME.yaml``) whose goals (those on
      ``metric`` when given) all hold on the committed results;
    - ``compare``: a results folder in which model ``better`` beats ``than`` on ``metric``
      (significantly after Holm correction when ``significant``);
    - ``champion``: a dataset whose registered MLflow model holds the champion alias.
    """

    test: str | None = None
    quality: str | None = None
    results: str | None = None
    goals: str | None = None
    compare: str | None = None
    champion: str | None = None
    metric: str | None = None
    better: str | None = None
    than: str | None = None
    significant: bool = False

    def __post_init__(self) -> None:
        kinds = [kind for kind in PROOF_KINDS if getattr(self, kind) is not None]
        if len(kinds) != 1:
            raise ConfigError(f"a proof names exactly one of {list(PROOF_KINDS)}, got {kinds}")
        comparing = (self.metric, self.better, self.than)
        if self.compare is not None and None in comparing:
            raise ConfigError(f"proof compare={self.compare!r} needs metric, better and than")
        if self.compare is None and (self.better, self.than) != (None, None):
            raise ConfigError("better and than belong to a compare proof only")
        if self.metric is not None and self.compare is None and self.goals is None:
            raise ConfigError("metric belongs to a compare or goals proof only")

    @property
    def kind(self) -> str:
        """Which kind of proof this is."""
        return next(kind for kind in PROOF_KINDS if getattr(self, kind) is not None)

    @property
    def target(self) -> str:
        """The test, dataset, results folder or spec the proof names."""
        return str(getattr(self, self.kind))


@dataclass(frozen=True)
class Evidence:
    """Where a problem or a decision shows: a repository file, an issue, or both."""

    text: str
    path: str | None = None
    issue: int | None = None


@dataclass(frozen=True)
class Measurement:
    """A number behind an entry, read from its source rather than typed.

    Either a committed benchmark result (``results`` folder, ``model`` label, ``metric``; as of
    ``commit`` when given, else the working tree), or a value ``reported`` by a measurement that
    is not yet a committed result, quoted with its ``source`` and shown as such.
    """

    label: str
    results: str | None = None
    model: str | None = None
    metric: str | None = None
    commit: str | None = None
    reported: float | None = None
    source: str | None = None

    def __post_init__(self) -> None:
        committed = None not in (self.results, self.model, self.metric)
        quoted = self.reported is not None and self.source is not None
        if committed == quoted:
            raise ConfigError(
                f"measurement {self.label!r}: give results+model+metric or reported+source"
            )
        if self.reported is not None and not math.isfinite(self.reported):
            raise ConfigError(f"measurement {self.label!r}: reported must be a finite number, "
                              f"got {self.reported!r}")


@dataclass(frozen=True)
class ChecklistItem:
    """A validated step of one block and the proofs that it holds."""

    block: Block
    step: str
    proofs: list[Proof]


@dataclass(frozen=True)
class JournalEntry:
    """A problem met while building the product, and its fix (or that it is still open)."""

    date: date
    block: Block
    title: str
    problem: str
    evidence: list[Evidence]
    fix: str
    status: Literal["fixed", "open"]
    commit: str | None = None
    proofs: list[Proof] = field(default_factory=list)
    measurements: list[Measurement] = field(default_factory=list)

    def __post_init__(self) -> None:
        if isinstance(self.date, datetime):  # YAML reads "2026-12-01 10:00" as a datetime
            raise ConfigError(f"journal entry {self.title!r}: date must be a day (YYYY-MM-DD), "
                              f"got {self.date.isoformat()}")
        if self.status == "fixed" and not self.commit:
            raise ConfigError(f"journal entry {self.title!r} is fixed: name the fixing commit")
        if self.status == "open" and self.commit:
            raise ConfigError(f"journal entry {self.title!r} is open: it has no fixing commit")


@dataclass(frozen=True)
class Decision:
    """An architecture decision: what, why, and the data it rests on."""

    block: Block
    what: str
    why: str
    evidence: list[Evidence] = field(default_factory=list)
    proofs: list[Proof] = field(default_factory=list)
    commit: str | None = None


@dataclass(frozen=True)
class LogbookEntries:
    """Everything hand-written in ``docs/logbook/``."""

    checklist: list[ChecklistItem]
    journal: list[JournalEntry]
    decisions: list[Decision]


@dataclass(frozen=True)
class _ChecklistFile:
    checklist: list[ChecklistItem]


@dataclass(frozen=True)
class _JournalFile:
    journal: list[JournalEntry]


@dataclass(frozen=True)
class _DecisionsFile:
    decisions: list[Decision]


def load_entries(folder: Path | str) -> LogbookEntries:
    """Read ``checklist.yaml``, ``journal.yaml`` and ``decisions.yaml`` from ``folder``."""
    folder = check_path(folder, "folder")
    return LogbookEntries(
        checklist=load_yaml(folder / "checklist.yaml", _ChecklistFile).checklist,
        journal=load_yaml(folder / "journal.yaml", _JournalFile).journal,
        decisions=load_yaml(folder / "decisions.yaml", _DecisionsFile).decisions,
    )
