"""A/B comparison: two models side by side, offline replay, the live experiment, a planner."""

from __future__ import annotations

import plotly.express as px
import polars as pl
import streamlit as st

from app import state
from recsys.ab.design import plan_proportions
from recsys.ab.events import arm_rates, live_results
from recsys.ab.replay import saved_replays
from recsys.bench.results import RESULTS_DIR
from recsys.errors import RecsysError

dataset = st.session_state["dataset"]
svc = state.get_service(dataset)

st.title(":material/balance: A/B comparison")
side, replay, live, planner = st.tabs(
    ["Side by side", "Offline replay", "Live experiment", "Sample-size planner"])

with side:
    personas = state.personas(dataset)
    if len(svc.model_names) < 2 or not personas:
        st.info("Side by side needs two trained models and a persona: run "
                f"`recsys train {dataset}`.")
    else:
        names = [p.name for p in personas]
        persona = personas[names.index(st.selectbox("Persona", names, key="ab_persona"))]
        first, second = st.columns(2)
        model_a = first.selectbox("Model A", svc.model_names, index=0, key="ab_model_a")
        model_b = second.selectbox("Model B", svc.model_names, index=1, key="ab_model_b")
        recs_a, recs_b, overlap = svc.compare(model_a, model_b, history=persona.history, k=10)
        st.metric("Overlap of the two top-10 lists (Jaccard)", f"{overlap:.0%}")
        for column, recs, model in ((first, recs_a, model_a), (second, recs_b, model_b)):
            column.dataframe(recs.select("rank", "title", "year", "in_both"),
                             hide_index=True, width="stretch",
                             column_config={"in_both": st.column_config.CheckboxColumn("in both")})
            column.caption(f"{model}: top {recs.height}")

with replay:
    replays = saved_replays(RESULTS_DIR)
    if not replays:
        st.info("No offline replay yet: run `recsys ab replay benchmarks/specs/"
                "ab-replay-ml-latest-small.yaml`.")
    else:
        result = replays[st.selectbox("Replay", list(replays), key="ab_replay")]
        st.markdown(f"**Verdict:** {result.conclusion}")
        st.caption(f"Dataset {result.dataset} · {result.replayed_users} users replayed · "
                   f"control `{result.control}`, treatment `{result.treatment}`")
        st.dataframe(result.metrics, hide_index=True, width="stretch",
                     column_config={c: st.column_config.NumberColumn(format="%.4f")
                                    for c in ("control", "treatment", "p_value")}
                     | {c: st.column_config.NumberColumn(format="percent")
                        for c in ("lift", "lift_low", "lift_high")})
        srm = result.srm
        st.markdown(f"**Sample-ratio check:** observed {srm.observed}, p = {srm.p_value:.3f} → "
                    f"{'mismatch' if srm.flagged else 'OK'}  \n"
                    f"**Interleaving:** {result.interleaving}")
        figure = px.line(result.power, x="n_users", y="power", color="design", markers=True,
                         log_x=True, title="Power by number of users (resampled)",
                         labels={"n_users": "users", "power": "power"})
        figure.add_hline(y=0.8, line_dash="dot", annotation_text="80% power")
        st.plotly_chart(figure, width="stretch")

with live:
    experiment = state.live_experiment(dataset)
    arms = pl.DataFrame([{"arm": a.name, "model": a.model, "traffic": t}
                         for a, t in zip(experiment.arms, experiment.traffic, strict=True)])
    st.markdown(f"Experiment `{experiment.id}`: primary metric **{experiment.primary_metric}**, "
                f"guardrail {', '.join(g.metric for g in experiment.guardrails)}; visitors of "
                "the Persona view are assigned by a hash of their session id.")
    st.dataframe(arms, hide_index=True)
    try:
        outcome = live_results(experiment, state.event_store())
    except RecsysError as error:
        st.info(f"{error}. Open the Persona view and give thumbs up/down: each session is an "
                "experiment subject.")
    else:
        rates = arm_rates(outcome.daily)
        st.dataframe(rates, hide_index=True, width="stretch",
                     column_config={c: st.column_config.NumberColumn(format="%.3f")
                                    for c in ("ctr", "ci_low", "ci_high")})
        figure = px.bar(rates.to_pandas(), x="arm", y="ctr", title="CTR per arm (95% Wilson CI)",
                        error_y=(rates["ci_high"] - rates["ctr"]).to_list(),
                        error_y_minus=(rates["ctr"] - rates["ci_low"]).to_list(),
                        labels={"ctr": "clicks / exposures"})
        st.plotly_chart(figure, width="stretch")
        srm = outcome.result.srm
        st.markdown(f"**Fixed-horizon analysis:** {outcome.result.conclusion}  \n"
                    f"**Sample-ratio check:** {srm.observed} (p = {srm.p_value:.3f}"
                    f"{', mismatch!' if srm.flagged else ', OK'})  \n"
                    f"**Sequential (always-valid) verdict:** {outcome.verdict}")
        daily = outcome.daily.select("day", "arm", "cum_ctr", "cum_subjects")
        st.plotly_chart(px.line(daily, x="day", y="cum_ctr", color="arm", markers=True,
                                title="Cumulative CTR per arm",
                                labels={"cum_ctr": "CTR so far", "day": "day"}),
                        width="stretch")

with planner:
    st.markdown("How many users per arm does a test need to detect a lift in a rate?")
    first, second = st.columns(2)
    baseline = first.number_input("Baseline rate (control)", 0.001, 0.99, 0.10, 0.01,
                                  format="%.3f", key="plan_baseline")
    lift = second.number_input("Relative lift to detect", 0.01, 2.0, 0.10, 0.01,
                               format="%.2f", key="plan_lift")
    alpha = first.select_slider("Significance level α", [0.01, 0.05, 0.1], 0.05,
                                key="plan_alpha")
    power_goal = second.select_slider("Power", [0.7, 0.8, 0.9, 0.95], 0.8, key="plan_power")
    try:
        plan = plan_proportions(baseline, lift, alpha, power_goal, relative=True)
    except RecsysError as error:
        st.error(str(error))
    else:
        st.metric("Users per arm", f"{plan.n_per_arm:,}")
        st.write(plan.summary())
