"""Persona view: a real user, a ready-made persona or your own; top-N with reasons; feedback."""

from __future__ import annotations

import plotly.express as px
import polars as pl
import streamlit as st

from app import service
from recsys.monitoring.metrics import record_feedback
from recsys.service import MAX_QUERY_CHARS, MAX_RATINGS, history_frame, taste_profile

dataset = st.session_state["dataset"]
svc = service.get_service(dataset)
custom_key = f"custom_ratings:{dataset}"
st.session_state.setdefault(custom_key, {})

st.title(":material/person: Persona view")
kind = st.radio("Who is watching?", ["Ready-made persona", "Real user", "Build your own"],
                horizontal=True, key="persona_kind")

user_id = None
history = None
if kind == "Real user":
    users = svc.user_ids()
    user_id = int(st.selectbox("MovieLens user", users, key=f"user:{dataset}"))
    shown = svc.user_history(user_id)
    person = svc.demographics(user_id)
    if person:
        st.caption(f"Age {person['age']} · gender {person['gender']} · {person['occupation']}")
    st.caption(f"{shown.height} ratings; the best and newest first")
    st.dataframe(shown.head(15).select("title", "year", "rating"), hide_index=True, height=220)
    history = shown.select("item_id", "rating")
elif kind == "Ready-made persona":
    personas = service.personas(dataset)
    if not personas:
        st.info("No ready-made persona resolves on this catalogue: build your own below.")
        st.stop()
    names = [p.name for p in personas]
    chosen = personas[names.index(st.selectbox("Persona", names, key="persona_name"))]
    st.caption(chosen.description)
    st.dataframe(chosen.ratings.select("title", "rating"), hide_index=True, height=220)
    history = chosen.ratings.select("item_id", "rating")
else:
    ratings: dict[int, float] = st.session_state[custom_key]
    query = st.text_input("Search a movie", max_chars=MAX_QUERY_CHARS, key="persona_search",
                          placeholder="e.g. matrix")
    found = svc.search(query)
    if query and found.is_empty():
        st.info(f"No movie title contains “{query}”. Try a shorter word.")
    if not found.is_empty():
        labels = svc.label(found["item_id"].to_list())
        pick = st.selectbox("Movie", range(found.height), format_func=lambda i: labels[i],
                            key="persona_pick")
        stars = st.slider("Your rating", 0.5 if svc.dataset.rating_scale[0] < 1 else 1.0,
                          5.0, 4.0, 0.5, key="persona_stars")
        full = len(ratings) >= MAX_RATINGS
        if st.button("Add rating", disabled=full, key="persona_add",
                     help=f"At most {MAX_RATINGS} ratings" if full else None):
            ratings[int(found["item_id"][pick])] = float(stars)
    if ratings:
        rated = history_frame(ratings)
        st.dataframe(rated.with_columns(pl.Series("title", svc.label(rated["item_id"].to_list())))
                     .select("title", "rating"), hide_index=True)
        if st.button("Clear my ratings", key="persona_clear"):
            ratings.clear()
            st.rerun()
        history = rated
    else:
        st.info("Search for a few movies you know and rate them: recommendations appear "
                "after the first rating.")
        st.stop()

st.divider()
experiment = service.live_experiment(dataset)
arms = {arm.name: arm.model for arm in experiment.arms}
in_test = all(model in svc.model_names for model in arms.values())
live = st.toggle("Let the live A/B experiment choose the model", value=in_test,
                 disabled=not in_test, key="persona_live",
                 help="Your session is hashed into an arm; your thumbs feed the live A/B test")
if live:
    arm = experiment.assign([st.session_state["subject_id"]])[0]
    model_name = arms[arm]
    st.caption(f"Experiment `{experiment.id}`: your session is in arm **{arm}** → `{model_name}`")
else:
    arm = None
    model_name = st.session_state["model"]
    st.caption(f"Model `{model_name}` (sidebar)" + (
        "" if in_test else f" · the live experiment needs {sorted(arms.values())} trained"))
k = st.slider("How many recommendations", 5, 20, 10, key="persona_k")

if user_id is not None:
    recs = svc.recommend(model_name, user_id=user_id, k=k)
else:
    recs = svc.recommend(model_name, history=history, k=k)

if recs.is_empty():
    st.info("This model has nothing new to recommend here: try another model or persona.")
    st.stop()

shown_key = (experiment.id, arm, model_name, tuple(recs["item_id"].to_list()))
if live and st.session_state.get("logged_exposure") != shown_key:
    service.event_store().log_exposures(experiment.id, st.session_state["subject_id"], arm,
                                        recs["item_id"].to_list(), model_version=model_name)
    record_feedback(experiment.id, arm, "exposure")
    st.session_state["logged_exposure"] = shown_key


def send_feedback(item_id: int, position: int, event: str) -> None:
    """Store a thumbs up/down in the event store (live A/B only) and count it."""
    if not live:
        st.toast("Feedback counts in the live A/B test only: switch it on above.")
        return
    service.event_store().log_feedback(experiment.id, st.session_state["subject_id"], arm,
                                       item_id, event, position, model_version=model_name)
    record_feedback(experiment.id, arm, event)
    st.toast("Thanks! Your feedback is recorded.")


left, right = st.columns([3, 2])
with left:
    st.subheader(f"Top {recs.height} from {model_name}")
    for row in recs.iter_rows(named=True):
        with st.container(border=True):
            text, up, down = st.columns([8, 1, 1])
            year = f" ({row['year']})" if row["year"] else ""
            text.markdown(f"**{row['rank']}. {row['title']}{year}**  \n"
                          f"{', '.join(row['genres'] or [])} · score {row['score']:.3g}  \n"
                          f"_{row['why']}_")
            up.button("", icon=":material/thumb_up:", key=f"up_{row['item_id']}",
                      on_click=send_feedback,
                      args=(row["item_id"], row["rank"], "thumbs_up"), help="I'd watch this")
            down.button("", icon=":material/thumb_down:", key=f"down_{row['item_id']}",
                        on_click=send_feedback,
                        args=(row["item_id"], row["rank"], "thumbs_down"), help="Not for me")
with right:
    st.subheader("Taste profile")
    profile = taste_profile(history, svc.dataset.movies)
    figure = px.bar(profile, x="weight", y="genre", orientation="h",
                    labels={"weight": "preference (sum of rating − 2.5)", "genre": "genre"},
                    hover_data=["movies"], title="Genres in the ratings")
    figure.update_layout(yaxis={"autorange": "reversed"}, height=420, margin={"t": 40})
    st.plotly_chart(figure, width="stretch")
