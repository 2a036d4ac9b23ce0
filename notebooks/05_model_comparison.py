# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 05 · Model comparison, from the committed benchmark results
#
# Nothing is retrained here: the benchmark runner (`recsys bench run SPEC`) wrote
# `benchmarks/results/<spec>/` with the per-model summary, per-user values, significance and
# provenance (commit, MLflow runs); this notebook reads them with `recsys.bench.results` and checks
# each spec's goals with `recsys.bench.report.evaluate_goals`.

# %%
import matplotlib.pyplot as plt
import polars as pl

from recsys.bench import results
from recsys.bench.report import evaluate_goals
from recsys.bench.spec import load_spec

RESULTS = results.RESULTS_DIR
SPECS = RESULTS.parent / "specs"
runs = {folder.name: results.load_benchmark(folder)
        for folder in results.benchmark_folders(RESULTS)}
pl.DataFrame([{"benchmark": name, "dataset": run.dataset,
               "protocol": run.context.get("protocol", {}).get("kind"),
               "models": run.summary.height, "commit": run.context.get("git_commit", "")[:7]}
              for name, run in runs.items()])

# %% [markdown]
# ## Top-N on ml-100k (Microsoft Recommenders' protocol)
#
# Quality against cost: nDCG@10 against fit time. The blend sits top right; EASE gets most of
# the way in a fraction of a second.

# %%
ml100k = runs["recommenders-ml100k"].summary
ml100k.select("model", "ndcg@10", "precision@10", "recall@10", "fit_s", "peak_mb").sort(
    "ndcg@10", descending=True)

# %%
fig, ax = plt.subplots(figsize=(8, 4))
ax.scatter(ml100k["fit_s"], ml100k["ndcg@10"])
for row in ml100k.iter_rows(named=True):
    ax.annotate(row["model"], (row["fit_s"], row["ndcg@10"]), fontsize=7)
ax.set(xscale="log", xlabel="fit time (s, log)", ylabel="nDCG@10")
plt.show()

# %% [markdown]
# ## Which differences are real
#
# Paired tests over users with Holm correction (`significance.csv`): the best model against
# every other.

# %%
significance = runs["recommenders-ml100k"].significance
best = ml100k.sort("ndcg@10", descending=True)["model"][0]
significance.filter((pl.col("metric") == "ndcg@10")
                    & ((pl.col("model_a") == best) | (pl.col("model_b") == best))).select(
    "model_a", "model_b", "mean_diff", "ci_low", "ci_high", "p_ttest_holm", "significant")

# %% [markdown]
# ## Goals of each spec, checked on the committed results

# %%
goals = [
    {"benchmark": name, "goal": outcome.goal.description, "met": outcome.met,
     "value": outcome.text}
    for name, run in runs.items() if (SPECS / f"{name}.yaml").exists()
    for outcome in evaluate_goals(load_spec(SPECS / f"{name}.yaml"), run.summary)
]
pl.DataFrame(goals)

# %% [markdown]
# ## Rating prediction on ml-100k (Surprise's protocol)

# %%
surprise = runs["surprise-ml100k"].summary.sort("rmse")
fig, ax = plt.subplots(figsize=(8, 4))
ax.barh(surprise["model"].to_list(), surprise["rmse"].to_list())
ax.set(xlabel="RMSE (5-fold)", xlim=(0.85, 1.0))
ax.invert_yaxis()
plt.show()

# %% [markdown]
# ## What shrinkage does to neighbourhood models (ml-latest-small)

# %%
similarity = runs["similarity-ml-latest-small"].summary.select("model", "ndcg@10", "rmse")
similarity.with_columns(pl.col("model").str.ends_with("shrunk").alias("shrunk")).sort("model")
