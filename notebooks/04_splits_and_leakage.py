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
# Every splitter of `recsys.data.split` checks its invariants before it returns (no pair on
# both sides, counts add up, time order where the protocol promises it). A split can pass them
# all and still leak. `recsys.evaluation.leakage` measures two channels on ml-latest-small:
#
# - **newer training ratings**: the share of the training part that is newer than a test
#   rating — the model learns from the future of the moment it is asked to predict; each
#   protocol states it in words (`FUTURE_POLICY`);
# - **tags of test pairs**: tags whose (user, movie) pair is a held-out rating — a content
#   feature built from them tells the model where the user went (the cold-items leak, #11);
#   counted on the whole tags table and on what the training-time `Catalog` keeps.

# %%
import matplotlib.pyplot as plt
import polars as pl

from recsys.data.load import ingest
from recsys.evaluation.leakage import leakage_summary
from recsys.evaluation.protocol import make_splits
from recsys.settings import get_settings

settings = get_settings()
small = ingest("ml-latest-small", settings=settings)

# The protocols of the committed benchmark specs (benchmarks/specs), through the one splitter
# registry, seed 42.
PROTOCOLS = {
    "random holdout 20%": ("random_holdout", {}),
    "stratified 75/25 (MS Recommenders)": ("stratified_split", {"ratio": 0.75}),
    "5-fold by rating (Surprise), fold 0": ("kfold", {"k": 5}),
    "leave last 5 per user": ("leave_last_n", {"n": 5}),
    "global temporal cut 20%": ("temporal_global", {}),
    "cold-start items 10%": ("cold_start_items", {"fraction": 0.1}),
    "cold-start users, 3 known": ("cold_start_users", {"n_known": 3}),
}
splits = {label: make_splits(kind, params, small.ratings, seed=42)[0]
          for label, (kind, params) in PROTOCOLS.items()}

# %%
summary = pl.DataFrame([
    {"split": label, **vars(leakage_summary(part, small.tags))}
    for label, part in splits.items()
]).with_columns((pl.col("test_pair_tags") / pl.col("test_item_tags")).alias("leaking_tag_share"))
summary.drop("policy")

# %%
summary.select("split", "policy")

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
# from the whole tags table (what the study committed before the fix did) see the answer. Every
# protocol has such tags; the training-time `Catalog` (`known_tags`) keeps none of them — only
# tags of training pairs, and for temporal protocols only those older than the cut.

# %%
cold = summary.filter(pl.col("split") == "cold-start items 10%").row(0, named=True)
print(f"cold-start items: {cold['test_pair_tags']} of the {cold['test_item_tags']} tags on the "
      f"held-out movies were written by the users whose held-out ratings are the targets "
      f"({cold['leaking_tag_share']:.1%}); the Catalog keeps {cold['catalog_test_pair_tags']}")

fig, ax = plt.subplots(figsize=(9, 3.5))
labels = summary["split"].to_list()
ax.barh(labels, summary["test_pair_tags"].to_list(), label="whole tags table")
ax.barh(labels, summary["catalog_test_pair_tags"].to_list(), label="training-time Catalog")
ax.set(xlabel="tags whose (user, movie) pair is a test rating")
ax.invert_yaxis()
ax.legend()
plt.show()
