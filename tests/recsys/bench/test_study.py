"""The content/hybrid study's report logic on a hand-written significance table."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from recsys.bench import study
from recsys.errors import DataError


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    pl.DataFrame({
        "metric": ["ndcg@10", "ndcg@10"], "model_a": ["ease", "ease"],
        "model_b": ["hybrid-switch", "most-popular"], "mean_diff": [-0.02, 0.1],
        "p_ttest_holm": [0.01, 0.5], "p_wilcoxon_holm": [0.02, 0.6], "significant": [True, False],
    }).write_csv(tmp_path / "significance.csv")
    return tmp_path


def test_pair_test_orients_the_difference(folder: Path) -> None:
    assert study.pair_test(folder, "ndcg@10", "hybrid-switch", "ease") == {
        "diff": 0.02, "p_t": 0.01, "p_w": 0.02, "significant": True}
    assert study.pair_test(folder, "ndcg@10", "ease", "most-popular")["diff"] == 0.1
    assert study.pair_test(folder, "recall@10", "ease", "most-popular") == {}


def test_versus_sentence_has_values_difference_and_verdict(folder: Path) -> None:
    frame = pl.DataFrame({"model": ["ease", "hybrid-switch"], "ndcg@10": [0.30, 0.32]})
    text = study._versus(frame, folder, "ndcg@10", "hybrid-switch", "ease")
    assert text == ("**hybrid-switch** 0.3200 vs **ease** 0.3000 (+0.0200; Holm-corrected "
                    "paired t-test p = 0.01, Wilcoxon p = 0.02, significant)")


@pytest.mark.parametrize(("table", "expected"), [
    (None, "significance.csv is not a benchmark's results table (FileNotFoundError"),
    ("", "significance.csv is not a benchmark's results table (NoDataError"),
    ("metric,model_a,model_b\nndcg@10,a,b\n", "no mean_diff, p_ttest_holm"),
])
def test_a_missing_or_damaged_significance_table_is_a_clear_error(
    table: str | None, expected: str, tmp_path: Path
) -> None:
    if table is not None:
        (tmp_path / "significance.csv").write_text(table)
    with pytest.raises(DataError, match=re.escape(expected)):
        study.pair_test(str(tmp_path), "ndcg@10", "a", "b")
