"""Every step notebook executes against the mirror (nbclient, a fresh kernel each), so that
none silently rots; and they stay thin: text (jupytext percent), no functions of their own."""

from __future__ import annotations

from pathlib import Path

import pytest

from recsys.report.notebooks import execute, notebook_paths

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = notebook_paths(REPO / "notebooks")
CELL_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def notebook_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data dir for all notebooks: each release is ingested from the mirror once."""
    return tmp_path_factory.mktemp("notebook-data")


def test_the_six_steps_are_there() -> None:
    assert [p.stem for p in NOTEBOOKS] == [
        "01_data_integrity", "02_exploration", "03_tags_and_genome", "04_splits_and_leakage",
        "05_model_comparison", "06_ab_analysis",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_thin_percent_text(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "formats: py:percent" in text and "# %% [markdown]" in text
    logic = [line for line in text.splitlines() if line.startswith(("def ", "class "))]
    assert not logic, f"{path.name} defines {logic}: logic belongs in recsys"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path: Path, notebook_data: Path, mirror_dir: Path,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECSYS_DATA_DIR", str(notebook_data))
    monkeypatch.setenv("RECSYS_DATA_MIRROR", str(mirror_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    notebook = execute(path, timeout_s=CELL_TIMEOUT_S)
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "a step notebook plots"
