"""A/B comparison: two models side by side, offline replay, the live experiment, a planner."""

from __future__ import annotations

from functools import partial

import polars as pl
import streamlit as st

from app import charts, state, widgets
from app.charts import field
from recsys.ab.design import plan_proportions
from recsys.ab.events import arm_rates, live_results
from recsys.ab.replay import saved_replays
from recsys.bench.results import RESULTS_DIR
from recsys.errors import RecsysError
from recsys.service import RecommenderService


def side_by_side(dataset: str, svc: RecommenderService) -> None:
    """Two models' top 10 for one persona, and their overlap."""
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


def offline_replay(dataset: str, svc: RecommenderService) -> None:
    """A saved offline replay: verdict, metrics, sample-ratio check, power."""
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
        power = {"x": field("n_users", title="users", scale={"type": "log"}),
                 "y": field("power", title="power")}
        charts.draw(result.power, {
            "title": "Power by number of users (resampled)", "height": 320,
            "layer": [
                {"mark": {"type": "line", "point": True},
                 "encoding": {**power, "color": field("design", "n")}},
                {"mark": {"type": "rule", "strokeDash": [2, 2]}, "encoding": {"y": {"datum": 0.8}}},
                {"mark": {"type": "text", "align": "left", "dy": -6, "text": "80% power"},
                 "encoding": {"y": {"datum": 0.8}, "x": {"value": 4}}},
            ]})


def live_panel(dataset: str, svc: RecommenderService) -> None:
    """The live experiment of the Persona view: arms, CTR per arm, verdicts."""
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
        charts.draw(rates, {
            "title": "CTR per arm (95% Wilson CI)", "height": 320,
            "layer": [
                {"mark": "bar", "encoding": {"x": field("arm", "n"),
                                             "y": field("ctr", title="clicks / exposures")}},
                {"mark": "errorbar", "encoding": {"x": field("arm", "n"), "y": field("ci_low"),
                                                  "y2": {"field": "ci_high"}}},
            ]})
        srm = outcome.result.srm
        st.markdown(f"**Fixed-horizon analysis:** {outcome.result.conclusion}  \n"
                    f"**Sample-ratio check:** {srm.observed} (p = {srm.p_value:.3f}"
                    f"{', mismatch!' if srm.flagged else ', OK'})  \n"
                    f"**Sequential (always-valid) verdict:** {outcome.verdict}")
        daily = outcome.daily.select("day", "arm", "cum_ctr", "cum_subjects")
        charts.draw(daily, charts.spec(
            {"type": "line", "point": True}, "Cumulative CTR per arm",
            x=field("day", "t", title="day"), y=field("cum_ctr", title="CTR so far"),
            color=field("arm", "n")))


def sample_size_planner(dataset: str, svc: RecommenderService) -> None:
    """Users per arm to detect a lift in a rate."""
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
    except RecsysError as error:  # the lift (the mde) takes the treatment rate past 1
        st.error(f"No plan for these inputs: {error}. The treatment rate, baseline × (1 + "
                 "lift), must stay below 1: lower the lift or the baseline rate.")
    else:
        st.metric("Users per arm", f"{plan.n_per_arm:,}")
        st.write(plan.summary())


TABS = {"Side by side": side_by_side, "Offline replay": offline_replay,
        "Live experiment": live_panel, "Sample-size planner": sample_size_planner}

dataset = st.session_state["dataset"]
svc = state.get_service(dataset)

st.title(":material/balance: A/B comparison")
widgets.lazy_tabs({name: partial(panel, dataset, svc) for name, panel in TABS.items()},
                  key="ab_tab")
