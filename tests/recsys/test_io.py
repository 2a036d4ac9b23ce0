"""Atomic writes: a failed write is a WriteError naming its target and leaves nothing behind."""

from __future__ import annotations

import errno
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from recsys.data.types import Interactions
from recsys.errors import RecsysError, WriteError
from recsys.io import atomic_dir, check_writable, write_json, write_text
from recsys.models import create_model


def _blocked(tmp_path: Path) -> Path:
    """A target whose parent folder cannot be made: a plain file sits where it should be."""
    (tmp_path / "a-file").write_text("not a folder")
    return tmp_path / "a-file" / "inside" / "out.json"


def test_a_target_under_a_file_is_a_write_error_naming_it(tmp_path: Path) -> None:
    target = _blocked(tmp_path)
    with pytest.raises(WriteError, match=r"cannot write .*a-file/inside/out\.json") as raised:
        write_json(target, {"a": 1})
    assert isinstance(raised.value, OSError)  # callers catching OSError keep working
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_a_full_disk_inside_a_folder_write_keeps_the_previous_folder(tmp_path: Path) -> None:
    target = tmp_path / "model"
    with atomic_dir(target) as tmp:
        (tmp / "weights").write_text("good")
    with pytest.raises(WriteError, match="No space left on device"), atomic_dir(target) as tmp:
        (tmp / "weights").write_text("half")
        raise OSError(errno.ENOSPC, "No space left on device")
    assert (target / "weights").read_text() == "good"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no temp folder left


def test_other_errors_pass_through_unchanged(tmp_path: Path) -> None:
    with pytest.raises(KeyError), atomic_dir(tmp_path / "x"):
        raise KeyError("not a write problem")
    write_text(tmp_path / "ok.txt", "fine")
    assert (tmp_path / "ok.txt").read_text() == "fine"


def test_saving_a_model_where_no_folder_can_be_made_is_a_recsys_error(tmp_path: Path) -> None:
    rows = np.array([0, 0, 1, 1, 2]), np.array([0, 1, 1, 2, 0])
    matrix = sp.csr_matrix((np.ones(5), rows), shape=(3, 3))
    model = create_model("most_popular").fit(Interactions(matrix, np.arange(3), np.arange(3)))
    with pytest.raises(RecsysError, match="cannot write .*a-file/inside"):
        model.save(_blocked(tmp_path).parent)


def test_a_folder_that_can_be_made_passes_the_check_and_nothing_is_made(tmp_path: Path) -> None:
    assert check_writable(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(WriteError, match="is a file, not a folder"):
        check_writable(_blocked(tmp_path).parent)


def test_a_folder_is_never_swapped_in_for_a_file(tmp_path: Path) -> None:
    target = tmp_path / "release"
    target.write_text("keep me")
    with pytest.raises(WriteError, match="it is a file, not a folder"), atomic_dir(target) as tmp:
        (tmp / "ratings.csv").write_text("x")
    assert target.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["release"]
