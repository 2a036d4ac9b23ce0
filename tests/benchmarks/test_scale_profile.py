"""The scale report's "where the time goes": a step rerun under cProfile, own time first."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCALE = Path(__file__).resolve().parents[2] / "benchmarks" / "scale.py"


@pytest.fixture(scope="module")
def scale():  # noqa: ANN201  (the benchmark script as a module)
    spec = importlib.util.spec_from_file_location("scale_benchmark", SCALE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_profiled_step_names_its_hottest_function(scale, tmp_path: Path) -> None:  # noqa: ANN001
    script = tmp_path / "work.py"
    script.write_text("def hot_loop():\n    return sum(i * i for i in range(3_000_000))\n\n"
                      "def cold():\n    return 1\n\nhot_loop(); cold()\n")
    scale._profile("train", [sys.executable, str(script)], tmp_path)
    table = (tmp_path / "train.profile.md").read_text()
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert 0 < len(rows) <= scale.PROFILE_ROWS
    assert any("hot_loop" in row or "genexpr" in row for row in rows[:2])  # own time first
    assert not (tmp_path / "train.prof").exists()  # the raw profile is not kept
    section = "\n".join(scale._profiles(tmp_path))
    assert section.startswith("\n## Where the time goes") and "**train** under cProfile" in section


def test_a_step_that_is_not_a_python_file_is_not_profiled(scale, tmp_path: Path) -> None:  # noqa: ANN001
    scale._profile("polars_read_csv", [sys.executable, "-c", "print(1)"], tmp_path)
    assert not list(tmp_path.iterdir())
    assert scale._profiles(tmp_path) == []


def test_a_failing_step_stops_the_profile_with_its_log(scale, tmp_path: Path) -> None:  # noqa: ANN001
    script = tmp_path / "fails.py"
    script.write_text("raise SystemExit(3)\n")
    with pytest.raises(SystemExit, match="profiling 'serve' failed"):
        scale._profile("serve", [sys.executable, str(script)], tmp_path)
    with pytest.raises(SystemExit, match="profiling 'validate' failed"):  # a module, too
        scale._profile("validate", [sys.executable, "-m", "json.tool", "--no-such-flag"], tmp_path)
