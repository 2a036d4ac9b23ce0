"""Docs and code agree: every setting is documented, every documented one is read, and no file
cites a document that is not in the repository."""

from __future__ import annotations

import re
import subprocess
from dataclasses import fields
from pathlib import Path

from recsys.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
CODE_FOLDERS = ("recsys", "app", "pipelines", "benchmarks", "ops", "tests")


def test_readme_settings_table_matches_the_settings_class() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(RECSYS_[A-Z_]+)` \|", readme, flags=re.MULTILINE))
    read = {"RECSYS_" + f.name.upper() for f in fields(Settings)}
    assert documented == read


def _tracked() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", *CODE_FOLDERS], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return [ROOT / line for line in listed.stdout.splitlines()]


def test_cited_documents_exist() -> None:
    tracked = _tracked()
    names = {path.name for path in tracked}
    missing = [
        f"{path.relative_to(ROOT)} cites {cited}"
        for path in tracked
        if path.suffix in (".py", ".md", ".yaml", ".yml") and path.exists()
        for cited in re.findall(r"\b([A-Z][A-Z_]+\.md)\b", path.read_text(encoding="utf-8"))
        if cited not in names and not (ROOT / cited).exists()
    ]
    assert not missing, missing
