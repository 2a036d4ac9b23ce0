"""The notebook runner: a failing cell is an error naming it; rendering keeps inline plots."""

from __future__ import annotations

from pathlib import Path

import pytest

from recsys.errors import NotebookError
from recsys.report.notebooks import execute, notebook_paths, render_html

HEADER = ("# ---\n# jupyter:\n#   kernelspec:\n#     display_name: Python 3\n"
          "#     language: python\n#     name: python3\n# ---\n\n")


def test_a_failing_cell_names_the_notebook_and_the_error(tmp_path: Path) -> None:
    path = tmp_path / "01_broken.py"
    path.write_text(HEADER + "# %%\nraise ValueError('the data moved')\n")
    with pytest.raises(NotebookError, match=r"^01_broken\.py: ") as raised:
        execute(path, timeout_s=60)
    assert "ValueError: the data moved" in str(raised.value)  # plain text, no colour codes


def test_render_html_keeps_the_plot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MPLBACKEND", "Agg")  # what importing streamlit does to the environment
    path = tmp_path / "02_plot.py"
    path.write_text(HEADER + "# %%\nimport matplotlib.pyplot as plt\nplt.plot([1, 2])\n"
                    "plt.show()\n")
    assert notebook_paths(tmp_path) == [path]
    html = render_html(path, tmp_path / "out", timeout_s=60).read_text()
    assert "data:image/png;base64" in html
