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
# # 04 · Splitting and leakage: what each protocol keeps from the future
#
# Every splitter of `recsys.data.split` is checked for its invariants (no pair on both sides,
# counts add up, time order where the protocol promises it). A split can pass them all and
# still leak. `recsys.data.leakage` measures two channels on ml-latest-small:
#
# - **newer training ratings**: the share of the training part that is newer than a test
#   rating — the model learns from the future of the moment it is asked to predict;
# - **tags of test pairs**: tags whose (user, movie) pair is a held-out rating — a content
#   feature built from them tells the model where the user went (the cold-items leak, #11).

# %%
import matplotlib.pyplot as plt
import polars as pl

from recsys.data import split
from recsys.data.leakage import leakage_summary
from recsys.data.load import ingest
from recsys.settings import get_settings

settings = get_settings()
small = ingest("ml-latest-small", settings=settings)
ratings = small.ratings

# The protocols of the committed benchmark specs (benchmarks/specs), seed 42; every splitter
# checks its invariants (split.check_split) before it returns.
splits = {
    "random holdout 20%": split.random_holdout(ratings, 0.2, seed=42),
    "stratified 75/25 (MS Recommenders)": split.stratified_split(ratings, 0.75, seed=42),
    "5-fold by rating (Surprise), fold 0": split.kfold(ratings, k=5, seed=42)[0],
    "leave last 5 per user": split.leave_last_n(ratings, n=5),
    "global temporal cut 20%": split.temporal_global(ratings, test_fraction=0.2),
    "cold-start items 10%": split.cold_start_items(ratings, 0.1, seed=42),
    "cold-start users, 3 known": split.cold_start_users(ratings, n_known=3, seed=42),
}

# %%
summary = pl.DataFrame([
    {"split": label, **vars(leakage_summary(part, small.tags))}
    for label, part in splits.items()
]).with_columns((pl.col("test_pair_tags") / pl.col("test_item_tags")).alias("leaking_tag_share"))
summary

# %% [markdown]
# ## Newer training ratings
#
# Only the global temporal cut trains on nothing newer than the test ratings. Leave-last-5
# holds out each user's latest ratings but keeps everybody else's later ones: about half of
# the training part is newer than a given test rating, as with a random split.

# %%
fig, ax = plt.subplots(figsize=(9, 3.5))
ax.barh(summary["split"].to_list(), summary["newer_training_share"].to_list())
ax.set(xlabel="mean share of training ratings newer than a test rating", xlim=(0, 1))
ax.invert_yaxis()
plt.show()

# %% [markdown]
# ## Tags on test pairs
#
# In the cold-start items split the held-out movies have no training rating, yet most of their
# tags were written by the users whose held-out ratings are the targets. Content features built
# from the whole tags table (what the committed study did) see the answer; the fix keeps only
# the tags of training pairs (open journal entry, issue #11). Every protocol has such tags, so
# the rule holds for all of them — and a temporal protocol must also drop tags written after
# its cut.

# %%
cold = summary.filter(pl.col("split") == "cold-start items 10%").row(0, named=True)
print(f"cold-start items: {cold['test_pair_tags']} of the {cold['test_item_tags']} tags on the "
      f"held-out movies were written by the users whose held-out ratings are the targets "
      f"({cold['leaking_tag_share']:.1%})")

fig, ax = plt.subplots(figsize=(9, 3.5))
ax.barh(summary["split"].to_list(), summary["test_pair_tags"].to_list())
ax.set(xlabel="tags whose (user, movie) pair is a test rating")
ax.invert_yaxis()
plt.show()
