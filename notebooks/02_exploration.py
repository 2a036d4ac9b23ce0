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
# # 02 · Exploratory analysis: distributions, long tails, time
#
# The shape of the data decides the evaluation: a long popularity tail makes most-popular a
# strong baseline and coverage a metric worth reporting; bursts of activity over time make
# random splits optimistic. All frames come from `recsys.data.stats`.

# %%
import matplotlib.pyplot as plt
import polars as pl

from recsys.data import stats
from recsys.data.load import ingest
from recsys.data.validate import validate_dataset
from recsys.settings import get_settings

settings = get_settings()
NAMES = ("ml-latest-small", "ml-100k")
datasets = {name: ingest(name, settings=settings) for name in NAMES}

# %% [markdown]
# ## Rating values
#
# ml-latest-small uses half stars (0.5–5), ml-100k whole stars (1–5); both lean positive.

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
for ax, name in zip(axes, NAMES, strict=True):
    dist = stats.rating_distribution(datasets[name].ratings)
    ax.bar(dist["rating"].to_numpy(), dist["share"].to_numpy(), width=0.4)
    ax.set(title=name, xlabel="rating", ylabel="share of ratings")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Long tails: movies and users
#
# The cumulative share of ratings against the rank of the movie (or user): the first 20% of
# the movies carry most ratings.

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
for ax, by in zip(axes, ("item_id", "user_id"), strict=True):
    for name in NAMES:
        tail = stats.long_tail(datasets[name].ratings, by=by)
        ax.plot(tail["rank"] / tail.height, tail["cumulative_share"], label=name)
    ax.axvline(0.2, color="grey", linestyle=":")
    ax.set(title=f"long tail by {by}", xlabel="rank (share of ids)",
           ylabel="cumulative share of ratings")
    ax.legend()
fig.tight_layout()
plt.show()

# %%
pl.DataFrame([{"dataset": name, "share of ratings on the top 20% movies":
               validate_dataset(dataset).stats["top20_share"]}
              for name, dataset in datasets.items()])

# %% [markdown]
# ## Time
#
# Ratings per month: ml-100k covers seven months of 1997–98; ml-latest-small two decades, with
# bursts when a few heavy users joined. A random split mixes those periods; a temporal one does
# not (see notebook 04).

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
for ax, name in zip(axes, NAMES, strict=True):
    months = stats.ratings_over_time(datasets[name].ratings, every="1mo")
    ax.plot(months["period"].to_numpy(), months["ratings"].to_numpy())
    ax.set(title=name, ylabel="ratings per month")
    ax.tick_params(axis="x", rotation=45)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Genres over the years (ml-latest-small)

# %%
trends = stats.genre_trends(datasets["ml-latest-small"].ratings,
                               datasets["ml-latest-small"].movies, top=6)
fig, ax = plt.subplots(figsize=(10, 3.5))
for (genre,), frame in trends.group_by("genre", maintain_order=True):
    ax.plot(frame["year"].to_numpy(), frame["share"].to_numpy(), label=genre)
ax.set(xlabel="year", ylabel="share of the year's ratings")
ax.legend(ncols=3)
plt.show()
