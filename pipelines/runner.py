"""The pipeline runner: steps in order, each idempotent, resumable and atomic.

A step writes its outputs into a temporary folder that replaces ``<run_dir>/<step>/`` only on
success, together with a done-marker ``_done.json`` holding the hash of its inputs (the config
and the output hashes of the steps it reads). Re-running a run folder skips every step whose
marker matches and redoes the rest, so a run that failed half-way is resumed by running it
again; a failed step's partial outputs are kept in ``<run_dir>/<step>.failed/`` for inspection.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines import steps
from pipelines.config import MARKER, RunContext
from recsys.errors import ConfigError, RecsysError
from recsys.io import atomic_dir, sha256_file, write_json

__all__ = ["STEPS", "StepSpec", "input_hash", "report_failure", "run_pipeline", "run_step"]

log = logging.getLogger(__name__)

StepFunction = Callable[[RunContext, Path], dict[str, Any]]


@dataclass(frozen=True)
class StepSpec:
    """A step: the steps whose outputs it reads, the config sections it reads, its function."""

    needs: tuple[str, ...]
    reads: tuple[str, ...]
    run: StepFunction


# In execution order. Every step also reads the dataset name.
STEPS: dict[str, StepSpec] = {
    "ingest": StepSpec((), ("ingest",), steps.ingest_step),
    "validate": StepSpec(("ingest",), ("validate",), steps.validate_step),
    "split": StepSpec(("ingest", "validate"), ("split",), steps.split_step),
    "select": StepSpec(("ingest", "split"), ("models", "evaluate", "gate"), steps.select_step),
    "train": StepSpec(("ingest", "split"), ("models", "evaluate"), steps.train_step),
    "evaluate": StepSpec(("split", "train", "select"), ("evaluate", "gate"), steps.evaluate_step),
    "gate": StepSpec(("split", "evaluate"), ("evaluate", "gate", "registry"), steps.gate_step),
    "drift": StepSpec(("split", "evaluate", "gate"), ("drift", "gate"), steps.drift_step),
    "register": StepSpec(("ingest", "train", "evaluate", "gate", "drift"), ("registry",),
                         steps.register_step),
    "publish": StepSpec(("ingest", "evaluate", "gate", "drift", "register"), ("publish",),
                        steps.publish_step),
}


def _hash(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def input_hash(ctx: RunContext, step: str) -> str:
    """Hash of what ``step`` reads: its config sections and its upstream steps' outputs."""
    spec = STEPS[step]
    upstream = {}
    for need in spec.needs:
        marker = ctx.marker(need)
        if marker is None:
            ctx.output(need)  # raises: run that step first
        if marker["input_hash"] != input_hash(ctx, need):  # type: ignore[index]
            raise RecsysError(f"step {need!r} in {ctx.run_dir} is out of date (its inputs "
                              f"changed): run it again before {step!r}")
        upstream[need] = marker["output_hash"]  # type: ignore[index]
    config = ctx.config.to_dict()
    reads = {key: config[key] for key in ("dataset", *spec.reads)}
    return _hash({"step": step, "config": reads, "upstream": upstream})


def _output_hash(folder: Path) -> str:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return _hash([(p.relative_to(folder).as_posix(), sha256_file(p)) for p in files])


def _keep_failed(tmp: Path, failed: Path) -> None:
    shutil.rmtree(failed, ignore_errors=True)
    shutil.copytree(tmp, failed)


def run_step(ctx: RunContext, step: str) -> dict[str, Any]:
    """Run ``step`` unless its done-marker matches its inputs; return its summary."""
    if step not in STEPS:
        raise ConfigError(f"unknown step {step!r}; steps are {', '.join(STEPS)}")
    expected = input_hash(ctx, step)
    marker = ctx.marker(step)
    if marker is not None and marker["input_hash"] == expected:
        log.info("step %s: done already (inputs unchanged), skipped", step)
        return marker["summary"]
    log.info("step %s: running in %s", step, ctx.run_dir)
    for stale in ctx.run_dir.glob(f".{step}.*.tmp"):  # left by a killed earlier attempt
        shutil.rmtree(stale, ignore_errors=True)
    start = time.perf_counter()
    with atomic_dir(ctx.run_dir / step) as tmp:
        try:
            summary = STEPS[step].run(ctx, tmp)
        except BaseException:
            _keep_failed(tmp, ctx.run_dir / f"{step}.failed")
            raise
        seconds = time.perf_counter() - start
        write_json(tmp / MARKER, {
            "step": step, "input_hash": expected, "output_hash": _output_hash(tmp),
            "seconds": round(seconds, 3), "finished_at": time.time(), "summary": summary,
        })
    shutil.rmtree(ctx.run_dir / f"{step}.failed", ignore_errors=True)
    log.info("step %s: done in %.2f s", step, seconds)
    return summary


def run_pipeline(ctx: RunContext, names: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Run ``steps`` (default: all) in order; a failure is pushed as status 0, then re-raised."""
    write_json(ctx.run_dir / "config.json", ctx.config.to_dict())
    results = {}
    for step in names or list(STEPS):
        try:
            results[step] = run_step(ctx, step)
        except Exception as error:
            report_failure(ctx, step, error)
            raise
    return results


def report_failure(ctx: RunContext, step: str, error: BaseException) -> None:
    """Push status 0 for a failed run (the RetrainingFailed alert); never masks ``error``."""
    log.error("step %s failed: %s", step, error)
    try:
        steps.push_metrics(ctx, steps.pipeline_metrics(ctx, status=False))
    except RecsysError as push_error:
        log.warning("could not report the failure: %s", push_error)
