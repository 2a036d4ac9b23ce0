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
# # 06 · A/B analysis walkthrough
#
# An experiment in four steps, with `recsys.ab`: plan its size, assign users deterministically,
# check the sample ratio, read the outcome with confidence intervals. The outcome is the
# committed offline replay (`recsys ab replay benchmarks/specs/ab-replay-ml-latest-small.yaml`:
# ALS as control, EASE as treatment, each ml-latest-small user served by one arm on a
# leave-last-5 split).

# %%
import matplotlib.pyplot as plt
import polars as pl

from recsys import insights
from recsys.ab.analysis import srm_test
from recsys.ab.assignment import assign_frame
from recsys.ab.design import sample_size_proportions
from recsys.ab.replay import load_replay_spec
from recsys.data.load import ingest
from recsys.settings import get_settings

REPO = insights.REPO_RESULTS.parents[1]
spec = load_replay_spec(REPO / "benchmarks" / "specs" / "ab-replay-ml-latest-small.yaml")
experiment = spec.experiment
replay = insights.replay_results()["ab-replay-ml-latest-small"]
primary = replay["ab"]["metrics"][0]
print(experiment.id, [arm.name for arm in experiment.arms], experiment.traffic,
      experiment.primary_metric)

# %% [markdown]
# ## 1. Plan: how many users does the planned effect need?
#
# Two-proportion z-test at the experiment's alpha and power, for its minimum detectable
# effect (relative) over the control's observed hit rate.

# %%
needed = sample_size_proportions(primary["control_value"], experiment.mde, experiment.alpha,
                                 experiment.power, relative=True)
print(f"control hit rate {primary['control_value']:.4f}; +{experiment.mde:.0%} relative needs "
      f"{needed:,} users per arm (the replay recorded {replay['ab']['required_n_per_arm']:,}); "
      f"ml-latest-small has {primary['n_control'] + primary['n_treatment']} users in all")

# %% [markdown]
# ## 2. Assign: a hash of (experiment, salt, user), never a coin flip at request time

# %%
users = ingest(spec.dataset, settings=get_settings()).ratings["user_id"].unique().sort()
assignment = assign_frame(experiment.id, experiment.salt, users.to_list(),
                          [arm.name for arm in experiment.arms], experiment.traffic)
observed = dict(assignment.group_by("arm").len().iter_rows())
observed

# %% [markdown]
# ## 3. Check the sample ratio before reading any metric
#
# A chi-square test of the arm sizes against the traffic split; a mismatch (p < 0.001) means
# the assignment or the logging is broken and the metrics must not be read.

# %%
srm = srm_test(observed, dict(zip([a.name for a in experiment.arms], experiment.traffic,
                                  strict=True)))
print(f"chi2 = {srm.chi2:.3f}, p = {srm.p_value:.3f}, flagged = {srm.flagged}; "
      f"the replay recorded p = {replay['ab']['srm']['p_value']:.3f}")

# %% [markdown]
# ## 4. Read the outcome: effects with their intervals, guardrails, power
#
# Relative lift of the treatment per metric with its 95% interval (delta method). The primary
# metric's interval straddles zero: no significant difference, and the sensitivity curve shows
# why — at this size the split test is badly underpowered.

# %%
metrics = pl.DataFrame([{k: m[k] for k in ("metric", "lift", "p_value", "significant")}
                        | {"low": m["lift_ci"][0], "high": m["lift_ci"][1]}
                        for m in replay["ab"]["metrics"]])
fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
y = range(metrics.height)
axes[0].errorbar(metrics["lift"], list(y), xerr=[metrics["lift"] - metrics["low"],
                 metrics["high"] - metrics["lift"]], fmt="o")
axes[0].axvline(0, color="grey", linestyle=":")
axes[0].set(yticks=list(y), yticklabels=metrics["metric"].to_list(),
            xlabel="relative lift of the treatment (95% CI)")
curve = pl.DataFrame(replay["sensitivity"])
for column in ("split_power", "paired_power", "interleaving_power"):
    axes[1].plot(curve["n_users"], curve[column], marker="o", label=column)
axes[1].axhline(0.8, color="grey", linestyle=":")
axes[1].set(xscale="log", xlabel="users", ylabel="power", title="sensitivity")
axes[1].legend()
fig.tight_layout()
plt.show()
print(replay["ab"]["conclusion"])
