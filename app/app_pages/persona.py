"""Persona view: a real user, a ready-made persona or your own; top-N with the model's reasons."""

from __future__ import annotations

import polars as pl
import streamlit as st

from app import charts, state, widgets
from app.charts import field
from recsys.service import MAX_RATINGS, history_frame, taste_profile
from recsys.service.live import LiveSession, arm_models, can_run

dataset = st.session_state["dataset"]
svc = state.get_service(dataset)
custom_key = f"custom_ratings:{dataset}"
st.session_state.setdefault(custom_key, {})

st.title(":material/person: Persona view")
kind = st.radio("Who is watching?", ["Ready-made persona", "Real user", "Build your own"],
                horizontal=True, key="persona_kind")

user_id = None
if kind == "Real user":
    user_id = int(st.selectbox("MovieLens user", svc.users.ids(), key=f"user:{dataset}"))
    shown = svc.users.history(user_id)
    person = svc.users.demographics(user_id)
    if person:
        st.caption(f"Age {person['age']} · gender {person['gender']} · {person['occupation']}")
    st.caption(f"{shown.height} ratings; the best and newest first")
    st.dataframe(shown.head(15).select("title", "year", "rating"), hide_index=True, height=220)
    history = shown.select("item_id", "rating")
elif kind == "Ready-made persona":
    personas = state.personas(dataset)
    if not personas:
        st.info("No ready-made persona resolves on this catalogue (their movies are not in "
                f"{dataset}): choose “Build your own” above.")
        st.stop()
    names = [p.name for p in personas]
    chosen = personas[names.index(st.selectbox("Persona", names, key="persona_name"))]
    st.caption(chosen.description)
    st.dataframe(chosen.ratings.select("title", "rating"), hide_index=True, height=220)
    history = chosen.history
else:
    ratings: dict[int, float] = st.session_state[custom_key]
    picked = widgets.pick_movie(svc.catalog, "Search a movie", "Movie", "persona",
                                placeholder="e.g. matrix")
    if picked is not None:
        low, high = (float(v) for v in svc.dataset.rating_scale)
        stars = st.slider("Your rating", low, high, 4.0, 0.5, key="persona_stars")
        full = len(ratings) >= MAX_RATINGS
        if st.button("Add rating", disabled=full, key="persona_add",
                     help=f"At most {MAX_RATINGS} ratings" if full else None):
            ratings[picked[0]] = float(stars)
    if not ratings:
        st.info("Search for a few movies you know and rate them: recommendations appear "
                "after the first rating.")
        st.stop()
    history = history_frame(ratings)
    st.dataframe(history.with_columns(pl.Series("title", svc.catalog.label(history["item_id"])))
                 .select("title", "rating"), hide_index=True)
    if st.button("Clear my ratings", key="persona_clear"):
        ratings.clear()
        st.rerun()

st.divider()
experiment = state.live_experiment(dataset)
in_test = can_run(experiment, svc.model_names)
live = st.toggle("Let the live A/B experiment choose the model", value=in_test,
                 disabled=not in_test, key="persona_live",
                 help="Your session is hashed into an arm; your thumbs feed the live A/B test")
session = LiveSession.start(experiment, st.session_state["subject_id"]) if live else None
if session:
    model_name = session.model
    st.caption(f"Experiment `{experiment.id}`: your session {session.subject_id} is in arm "
               f"**{session.arm}** → `{model_name}`")
else:
    model_name = st.session_state["model"]
    st.caption(f"Model `{model_name}` (sidebar)" + (
        "" if in_test else f" · the live experiment needs {sorted(arm_models(experiment).values())}"
        " trained"))
k = st.slider("How many recommendations", 5, 20, 10, key="persona_k")

if user_id is not None:
    recs = state.recommendations(dataset, model_name, k, user_id=user_id)
else:
    recs = state.recommendations(dataset, model_name, k, history=history)
if recs.is_empty():
    st.info("This model has nothing new to recommend here: try another model or persona.")
    st.stop()
if session:
    st.session_state["shown_list"] = session.log_exposures(
        state.event_store(), recs["item_id"].to_list(), st.session_state.get("shown_list"))


def send_feedback(item_id: int, position: int, event: str) -> None:
    """Thumbs up/down: stored in the live A/B test (only there)."""
    if session is None:
        st.toast("Feedback counts in the live A/B test only: switch it on above.")
        return
    session.log_feedback(state.event_store(), item_id, position, event)
    st.toast("Thanks! Your feedback is recorded.")


left, right = st.columns([3, 2])
with left:
    st.subheader(f"Top {recs.height} from {model_name}")
    widgets.recommendation_cards(recs, send_feedback)
with right:
    st.subheader("Taste profile")
    profile = taste_profile(history, svc.dataset.movies)
    charts.draw(profile, charts.spec(
        "bar", "Genres in the ratings", height=380,
        x=field("weight", title="preference (sum of rating − 2.5)"),
        y=field("genre", "n", title="genre", sort=None),
        tooltip=[field("genre", "n"), field("weight"), field("movies", title="movies")]))
