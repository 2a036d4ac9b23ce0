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
# # 03 · User tags and the Tag Genome
#
# Content models read what people say about movies: free-text user tags (ml-latest-small) and,
# in ml-20m/ml-25m, the Tag Genome (a relevance score of 1,128 tags for every movie). Tags are
# written by the same users who rate, which makes them useful — and a leakage channel
# (notebook 04).

# %%
import matplotlib.pyplot as plt
import polars as pl

from recsys.data import stats
from recsys.data.load import ingest
from recsys.data.releases import RELEASES
from recsys.settings import get_settings

settings = get_settings()
small = ingest("ml-latest-small", settings=settings)
tags = small.tags
print(f"{tags.height:,} tags by {tags['user_id'].n_unique()} users on "
      f"{tags['item_id'].n_unique():,} of {small.n_items:,} movies")

# %% [markdown]
# ## Who tags, and how much
#
# A handful of users write most tags: the tag vocabulary reflects few people's taste.

# %%
per_user = stats.long_tail(tags, by="user_id")
per_movie = stats.long_tail(tags, by="item_id")
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
axes[0].bar(per_user["rank"].to_numpy()[:20], per_user["count"].to_numpy()[:20])
axes[0].set(title="tags per user (top 20 taggers)", xlabel="tagger rank", ylabel="tags")
axes[1].plot(per_movie["rank"].to_numpy(), per_movie["cumulative_share"].to_numpy())
axes[1].set(title="tags over movies", xlabel="movie rank", ylabel="cumulative share of tags")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## What a movie's tags look like
#
# The most tagged movie, with the tags its users applied (`stats.movie_tags`, the same view
# as the app's insights page).

# %%
top_movie = int(per_movie["id"][0])
title = small.movies.filter(pl.col("item_id") == top_movie)["title"][0]
print(title)
stats.movie_tags(small, top_movie, top=12)

# %% [markdown]
# ## Tags and ratings share their authors
#
# The share of tags whose (user, movie) pair is also a rating: a content feature built from a
# tag carries its author's rating event with it.

# %%
rated = tags.join(small.ratings.select("user_id", "item_id"), on=["user_id", "item_id"],
                  how="semi").height
print(f"{rated:,} of {tags.height:,} tags ({rated / tags.height:.1%}) are on a movie their "
      "author rated")

# %% [markdown]
# ## The Tag Genome
#
# Which releases carry a genome (release registry). The mirror holds ml-latest-small and
# ml-100k, neither of which has one; the genome code path (`recsys.features.genome`) is tested
# on generated files shaped exactly like ml-25m's (`tests/recsys/features/test_genome.py`).

# %%
pl.DataFrame([{"release": r.name, "has genome": r.has_genome, "user tags": r.table_file("tags")
               is not None} for r in RELEASES.values()])
