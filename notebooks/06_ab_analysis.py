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

from recsys.ab.analysis import srm_test
from recsys.ab.assignment import assign_frame
from recsys.ab.design import sample_size_proportions
from recsys.ab.replay import SavedReplay, load_replay_spec
from recsys.bench.results import RESULTS_DIR
from recsys.data.load import ingest
from recsys.settings import get_settings

NAME = "ab-replay-ml-latest-small"
spec = load_replay_spec(RESULTS_DIR.parent / "specs" / f"{NAME}.yaml")
experiment = spec.experiment
replay = SavedReplay.load(RESULTS_DIR / NAME)
primary = replay.metrics.row(0, named=True)
print(experiment.id, [arm.name for arm in experiment.arms], experiment.traffic,
      experiment.primary_metric)

# %% [markdown]
# ## 1. Plan: how many users does the planned effect need?
#
# Two-proportion z-test at the experiment's alpha and power, for its minimum detectable
# effect (relative) over the control's observed hit rate.

# %%
needed = sample_size_proportions(primary["control"], experiment.mde, experiment.alpha,
                                 experiment.power, relative=True)
print(f"control {primary['metric']} {primary['control']:.4f}; +{experiment.mde:.0%} relative "
      f"needs {needed:,} users per arm; the replay had {replay.replayed_users} users in all")

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
      f"the replay recorded p = {replay.srm.p_value:.3f}")

# %% [markdown]
# ## 4. Read the outcome: effects with their intervals, guardrails, power
#
# Relative lift of the treatment per metric with its 95% interval (delta method). The primary
# metric's interval straddles zero: no significant difference, and the sensitivity curve shows
# why — at this size the split test is badly underpowered.

# %%
metrics = replay.metrics
fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
y = list(range(metrics.height))
axes[0].errorbar(metrics["lift"], y, xerr=[metrics["lift"] - metrics["lift_low"],
                 metrics["lift_high"] - metrics["lift"]], fmt="o")
axes[0].axvline(0, color="grey", linestyle=":")
axes[0].set(yticks=y, yticklabels=metrics["metric"].to_list(),
            xlabel="relative lift of the treatment (95% CI)")
for (design,), curve in replay.power.group_by("design", maintain_order=True):
    axes[1].plot(curve["n_users"], curve["power"], marker="o", label=design)
axes[1].axhline(0.8, color="grey", linestyle=":")
axes[1].set(xscale="log", xlabel="users", ylabel="power", title="sensitivity")
axes[1].legend()
fig.tight_layout()
plt.show()
print(replay.conclusion)
