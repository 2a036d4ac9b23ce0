"""Holm correction, paired tests, bootstrap intervals and the model comparison table."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from scipy import stats as scipy_stats

from recsys.errors import ArgumentError, ConfigError, DataError
from recsys.evaluation import stats
from recsys.evaluation.stats import bootstrap_ci, compare_models, holm, significance_matrix


def test_holm_hand_computed() -> None:
    # sorted: 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → running max 0.06
    adjusted = holm([0.01, 0.04, 0.03, 0.005])
    assert adjusted.tolist() == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_clips_at_one_and_skips_nan() -> None:
    # m = 2 (the NaN is not a test): 0.5·2 = 1.0, 0.6·1 = 0.6 → running max 1.0
    adjusted = holm([0.6, float("nan"), 0.5])
    assert adjusted[[0, 2]].tolist() == [1.0, 1.0]
    assert math.isnan(adjusted[1])
    assert holm([]).size == 0


def _long(values: dict[str, list[float]]) -> pl.DataFrame:
    return pl.concat(
        [
            pl.DataFrame({"model": name, "user_id": np.arange(len(v)), "ndcg@10": v})
            for name, v in values.items()
        ]
    )


def test_paired_tests_match_scipy_and_hand_values() -> None:
    a = [0.6, 0.8, 1.0, 1.2, 1.4]
    b = [0.5, 0.6, 0.7, 0.8, 0.9]  # differences 0.1, 0.2, 0.3, 0.4, 0.5
    row = compare_models(_long({"a": a, "b": b}), "ndcg@10").row(0, named=True)
    assert (row["model_a"], row["model_b"], row["n_users"]) == ("a", "b", 5)
    assert row["mean_diff"] == pytest.approx(0.3)
    # sd(diff, ddof=1) = √(0.1 / 4) = 0.158114 → d_z = 0.3 / 0.158114 = 1.897367
    assert row["effect_size_dz"] == pytest.approx(0.3 / math.sqrt(0.025))
    assert row["p_ttest"] == pytest.approx(scipy_stats.ttest_rel(a, b).pvalue)
    # exact Wilcoxon, all 5 differences positive: p = 2 · (1/2)^5 = 0.0625
    assert row["p_wilcoxon"] == pytest.approx(0.0625)
    assert row["p_wilcoxon"] == pytest.approx(scipy_stats.wilcoxon(a, b).pvalue)
    # one pair: Holm leaves p unchanged; t-test p = 0.0132 < 0.05
    assert row["p_ttest_holm"] == pytest.approx(row["p_ttest"])
    assert row["significant"] is True
    assert row["ci_low"] <= 0.3 <= row["ci_high"]


def test_holm_applies_across_all_pairs() -> None:
    rng = np.random.default_rng(0)
    base = rng.random(60)
    per_user = _long(
        {m: (base + shift + rng.normal(0, 0.05, 60)).tolist()
         for m, shift in [("x", 0.0), ("y", 0.02), ("z", 0.01)]}
    )
    result = compare_models(per_user, "ndcg@10")
    assert list(zip(result["model_a"], result["model_b"], strict=True)) == [
        ("x", "y"), ("x", "z"), ("y", "z")
    ]
    expected = holm(result["p_ttest"].to_numpy())
    assert result["p_ttest_holm"].to_list() == pytest.approx(expected.tolist())
    assert result["significant"].to_list() == (expected < 0.05).tolist()


def test_pairs_use_common_users_only() -> None:
    per_user = _long({"a": [0.1, 0.2, 0.3, 0.4], "b": [0.0, 0.1, 0.1, 0.2]})
    per_user = per_user.filter(~((pl.col("model") == "b") & (pl.col("user_id") == 3)))
    row = compare_models(per_user, "ndcg@10").row(0, named=True)
    # users 0..2 only: differences 0.1, 0.1, 0.2
    assert row["n_users"] == 3
    assert row["mean_diff"] == pytest.approx(0.4 / 3)
    assert row["mean_a"] == pytest.approx(0.2)


def test_identical_models_are_not_significant() -> None:
    row = compare_models(_long({"a": [0.1, 0.5, 0.9], "b": [0.1, 0.5, 0.9]}), "ndcg@10").row(
        0, named=True
    )
    assert (row["p_ttest"], row["p_wilcoxon"], row["effect_size_dz"]) == (1.0, 1.0, 0.0)
    assert row["significant"] is False


def test_duplicate_rows_and_single_model() -> None:
    doubled = pl.concat([_long({"a": [0.1], "b": [0.2]})] * 2)
    with pytest.raises(DataError, match="several"):
        compare_models(doubled, "ndcg@10")
    assert compare_models(_long({"a": [0.1, 0.2]}), "ndcg@10").is_empty()
    with pytest.raises(DataError, match="lacks"):
        compare_models(_long({"a": [0.1]}), "recall@10")


def test_bootstrap_ci_contains_true_mean() -> None:
    sample = np.random.default_rng(42).normal(loc=2.0, scale=1.0, size=400)
    low, high = bootstrap_ci(sample, n_boot=2000, alpha=0.05, seed=0)
    assert low < 2.0 < high
    # width ≈ 2 · 1.96 · σ/√n = 0.196
    assert 0.15 < high - low < 0.25
    assert (low, high) == bootstrap_ci(sample, n_boot=2000, alpha=0.05, seed=0)
    with pytest.raises(ConfigError):
        bootstrap_ci(sample, alpha=1.5)


def test_bootstrap_chunking_does_not_change_result(monkeypatch) -> None:
    sample = np.random.default_rng(1).random(101)
    whole = bootstrap_ci(sample, n_boot=300, seed=7)
    monkeypatch.setattr(stats, "_BOOT_CELLS", 250)  # two resamples per chunk
    assert bootstrap_ci(sample, n_boot=300, seed=7) == whole


def test_significance_matrix_is_symmetric() -> None:
    comparisons = pl.DataFrame(
        {"model_a": ["a", "a", "b"], "model_b": ["b", "c", "c"],
         "p_ttest_holm": [0.01, 0.2, 0.03]}
    )
    matrix = significance_matrix(comparisons)
    assert matrix.columns == ["model", "a", "b", "c"]
    assert matrix.rows() == [
        ("a", None, 0.01, 0.2),
        ("b", 0.01, None, 0.03),
        ("c", 0.2, 0.03, None),
    ]


def test_same_seed_same_ci_whatever_the_row_order() -> None:
    """Five shuffles of the same per-user values give one confidence interval (seed 0)."""
    rng = np.random.default_rng(3)
    n = 300
    frame = pl.DataFrame({
        "model": ["a"] * n + ["b"] * n,
        "user_id": np.tile(np.arange(n), 2),
        "ndcg@10": np.concatenate([rng.random(n), rng.random(n) * 0.9]),
    })
    results = {
        compare_models(frame.sample(fraction=1.0, shuffle=True, seed=s), "ndcg@10")
        .select("ci_low", "ci_high").row(0)
        for s in range(5)
    }
    assert len(results) == 1


@pytest.mark.parametrize(("call", "message"), [
    (lambda: holm([0.01, 2.0]), r"pvalues must lie in \[0, 1\] \(or be NaN\), got \[2\.0\]"),
    (lambda: holm([-0.1]), r"got \[-0\.1\]"),
    (lambda: holm(["x"]), "pvalues must be numbers"),
    (lambda: bootstrap_ci(["a", "b"]), "values must be numbers"),
    (lambda: bootstrap_ci([[1.0, 2.0]]), "values must be a flat sequence of numbers"),
    (lambda: compare_models(pl.DataFrame({"model": ["a"], "user_id": [1], "m": [0.5]})
                            .to_pandas(), "m"), "per-user must be a polars DataFrame"),
])
def test_p_values_and_scores_that_are_not_numbers_are_refused(call, message: str) -> None:
    with pytest.raises(ArgumentError, match=message):  # p = 2 used to come back as 1.0
        call()
