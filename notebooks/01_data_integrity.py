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
# # 01 · Data integrity: checksums, missing values, duplicates, orphans, editions
#
# Every release goes through `recsys.data.load.ingest`: copied from the mirror (or downloaded),
# each raw file hashed into a manifest, parsed into canonical tables, then checked by
# `recsys.data.validate.validate_dataset` — the same report `recsys data validate` writes.
# This notebook shows what those steps found on the two releases of the mirror.

# %%
import json

import matplotlib.pyplot as plt
import polars as pl

from recsys.data.fetch import REFERENCE_DIR, raw_dir
from recsys.data.load import ingest
from recsys.data.manifest import read_manifest
from recsys.data.releases import get_release
from recsys.data.validate import validate_dataset
from recsys.settings import get_settings

settings = get_settings()
NAMES = ("ml-latest-small", "ml-100k")
datasets = {name: ingest(name, settings=settings) for name in NAMES}
reports = {name: validate_dataset(dataset) for name, dataset in datasets.items()}

# %% [markdown]
# ## Checksums: the files we read are the files GroupLens published
#
# The official archive's size and SHA-256 come from the release registry; the per-file hashes
# of the extracted archive are the reference manifests in `data/manifests/`. A copy whose files
# differ is refused (unless `--allow-unverified`, which the manifest records).

# %%
for name in NAMES:
    release = get_release(name)
    manifest = read_manifest(raw_dir(name, settings))
    reference = json.loads((REFERENCE_DIR / f"{name}.json").read_text())["files"]
    rows = [{"file": file, "bytes": entry.size, "sha256": entry.sha256[:16],
             "matches the official file": reference.get(file, {}).get("sha256") == entry.sha256}
            for file, entry in sorted(manifest.files.items())]
    print(f"{name}: archive {release.size:,} B, sha256 {release.sha256[:16]}…, "
          f"verified={manifest.verified}, source {manifest.source}")
    display(pl.DataFrame(rows))  # noqa: F821 (IPython)

# %% [markdown]
# ## Findings of the quality report
#
# Errors (missing values, off-scale ratings, duplicate pairs, duplicate movie ids, orphan
# ratings) fail the report; warnings (unrated movies, sparse users, timestamps, sparsity, long
# tail) describe the data.

# %%
findings = pl.DataFrame(
    [{"dataset": name, "level": f.level, "check": f.check, "rows": f.count, "message": f.message}
     for name, report in reports.items() for f in report.findings],
    schema={"dataset": pl.String, "level": pl.String, "check": pl.String, "rows": pl.Int64,
            "message": pl.String},
)
print({name: "PASS" if report.ok else "FAIL" for name, report in reports.items()})
findings

# %%
checks = ("duplicate_pairs", "orphan_ratings", "orphan_tags", "unrated_movies", "duplicate_movies")
counts = pl.DataFrame([{"dataset": name, **{c: reports[name].stats[c] for c in checks}}
                       for name in NAMES])
counts

# %% [markdown]
# ## Missing values per column
#
# The canonical tables keep nulls where a release has no value (e.g. a title without a year);
# the report counts them per table and column.

# %%
missing = pl.DataFrame([
    {"dataset": name, "table": table, "column": column, "nulls": nulls}
    for name, report in reports.items()
    for table, columns in report.stats["missing"].items() for column, nulls in columns.items()
]).filter(pl.col("nulls") > 0)
missing

# %% [markdown]
# ## Activity: how many ratings per user
#
# MovieLens keeps users with at least 20 ratings; the tail to the right is a few very heavy
# raters, which is why the evaluation reports per-activity segments.

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
for ax, name in zip(axes, NAMES, strict=True):
    per_user = datasets[name].ratings.group_by("user_id").len()["len"].to_numpy()
    ax.hist(per_user, bins=50, log=True)
    ax.set(title=name, xlabel="ratings per user", ylabel="users (log)")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Editions
#
# ml-latest-small is re-published over time; copies in the wild differ in counts and some
# (the 2016 edition) carry trailing empty CSV columns. The mirror holds the 2018-09-26 edition,
# which the reference manifest pins; the handling of older editions is an open entry in the
# logbook's journal (issue #10).

# %%
pl.DataFrame([{"dataset": name, **{k: v for k, v in datasets[name].summary().items()
                                   if k != "name"}} for name in NAMES])
