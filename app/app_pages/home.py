"""Home: what the product is, the dataset card and the deployed models."""

from __future__ import annotations

import polars as pl
import streamlit as st

from app import state
from recsys.bench.results import headline_metrics, is_metric

dataset = st.session_state["dataset"]
svc = state.get_service(dataset)
summary = svc.dataset.summary()
manifest = state.manifest(dataset, str(state.settings().data_dir))
quality = state.quality_report(dataset, svc.dataset.manifest_hash)

st.title(":material/movie: MovieLens recommender")
st.markdown(
    "Recommendations for real MovieLens users and for personas you build, explained; "
    "neighbours of any movie by several similarity measures; A/B tests of models offline and "
    "live; a benchmark lab; data quality and monitoring. Pick the **dataset** and the "
    "**model** in the sidebar."
)

st.subheader(f"Dataset: {dataset}")
cols = st.columns(5)
cols[0].metric("Ratings", f"{summary['ratings']:,}")
cols[1].metric("Users", f"{summary['users']:,}")
cols[2].metric("Movies", f"{summary['movies']:,}")
cols[3].metric("Tags", f"{summary['tags']:,}")
cols[4].metric("Quality", "PASS" if quality["ok"] else "FAIL",
               help="Error-level findings fail the quality report; warnings do not")
checksum = (":material/verified: matches the official GroupLens checksum" if manifest["verified"]
            else ":material/warning: not verified against an official checksum")
st.markdown(
    f"**Checksum:** {checksum}; raw files re-verified against the manifest on every load.  \n"
    f"**Source:** `{manifest['source']}` · ingested {manifest['created']} · "
    f"manifest `{summary['manifest_hash'][:12]}`"
    + ("  \n**Demographics:** age, gender and occupation of every user" if summary[
        "users_with_demographics"] else "")
)
findings = quality["findings"]
with st.expander(f"Quality report: {len(findings)} finding(s)"):
    if findings:
        st.dataframe(pl.DataFrame(findings), hide_index=True, width="stretch")
    else:
        st.write("No finding: every check passed.")

st.subheader("Deployed models")
cards = pl.DataFrame([
    {"model": c.name, "trained": c.trained_at, "fit seconds": c.fit_seconds,
     "trained on": f"{c.dataset} ({c.manifest_hash[:12]})",
     "current data": c.manifest_hash == svc.dataset.manifest_hash,
     "params": ", ".join(f"{k}={v}" for k, v in c.params.items() if k != "seed")}
    for c in svc.cards.values()
])
st.dataframe(cards, hide_index=True, width="stretch")
headline = headline_metrics(dataset, state.benchmark_folders(), svc.model_names)
if headline.is_empty():
    st.info(f"No benchmark of these models on {dataset} yet: launch one from the Benchmark lab "
            f"or run `recsys bench run benchmarks/specs/<spec>.yaml`.")
else:
    st.caption("Headline metrics from the benchmarks of these models on this dataset "
               "(protocol in each benchmark's report).")
    st.dataframe(headline, hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(format="%.4f")
                                for c in headline.columns if is_metric(c)})
