"""Execute and render the step notebooks (``notebooks/*.py``, jupytext percent format).

The notebooks are stored as text so that diffs read; :func:`execute` runs one with nbclient
(what ``make test`` does, so they never silently rot) and :func:`render_html` writes the
executed notebook as HTML (``make notebooks``; the output is git-ignored). These helpers need
the dev requirements (jupytext, nbclient, nbconvert, ipykernel).
"""

from __future__ import annotations

import logging
import os
import re
import time
from pathlib import Path
from typing import Any

from recsys.errors import ConfigError, NotebookError
from recsys.io import write_text

__all__ = ["INLINE_BACKEND", "notebook_paths", "execute", "render_html"]

log = logging.getLogger(__name__)
# Plots go inline into the notebook even when the caller set another backend (Streamlit sets
# MPLBACKEND=Agg in the process that imports it, and the kernel inherits the environment).
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # the kernel colours its tracebacks


def notebook_paths(folder: Path) -> list[Path]:
    """The step notebooks of ``folder``, in their numbered order."""
    return sorted(folder.glob("[0-9][0-9]_*.py"))


def _libraries() -> tuple[Any, Any]:
    try:
        import jupytext
        import nbclient
    except ImportError as error:
        raise ConfigError(
            f"executing notebooks needs the dev requirements ({error.name} is missing): "
            "pip install -r requirements-dev.txt"
        ) from error
    return jupytext, nbclient


def execute(path: Path, timeout_s: int = 300, workdir: Path | None = None) -> Any:
    """Run every cell of the notebook at ``path`` in a fresh kernel; the executed notebook.

    Cells run with ``workdir`` (default: the notebook's folder) as the working directory and the
    caller's environment (``RECSYS_DATA_DIR``, ``RECSYS_DATA_MIRROR``, ...), plots inline.
    """
    jupytext, nbclient = _libraries()
    notebook = jupytext.read(path)
    client = nbclient.NotebookClient(
        notebook, timeout=timeout_s, kernel_name="python3",
        resources={"metadata": {"path": str(workdir or path.parent)}},
    )
    started = time.perf_counter()
    try:
        client.execute(env={**os.environ, "MPLBACKEND": INLINE_BACKEND})
    except nbclient.exceptions.CellExecutionError as error:
        raise NotebookError(f"{path.name}: {_ANSI.sub('', str(error))}") from error
    except TimeoutError as error:
        raise NotebookError(f"{path.name}: a cell ran past {timeout_s} s") from error
    log.info("executed %s in %.1f s", path.name, time.perf_counter() - started)
    return notebook


def render_html(path: Path, out_dir: Path, timeout_s: int = 300) -> Path:
    """Execute the notebook and write ``out_dir/<name>.html``; the path written."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(execute(path, timeout_s))
    target = write_text(out_dir / f"{path.stem}.html", body)
    target.chmod(0o644)  # temp files are private; the page is meant to be read
    return target
