"""Widgets shared by the pages: first-start progress, the movie picker, recommendation cards.

Each widget draws and returns what the visitor chose; the rules behind it (search, bounds,
reasons, what to log) come from :mod:`recsys.service`.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import streamlit as st

from app import state
from recsys.service import MAX_QUERY_CHARS, MovieCatalog

__all__ = ["first_start", "lazy_tabs", "pick_movie", "recommendation_cards"]

Feedback = Callable[[int, int, str], None]  # (item_id, position, event)


def lazy_tabs(panels: dict[str, Callable[[], None]], key: str) -> None:
    """Tabs of which only the open one runs its panel: the others cost nothing, and a chart in
    a hidden tab (never drawn there) is not sent. Choosing a tab reruns the page."""
    tabs = st.tabs(list(panels), key=key, on_change="rerun")
    for tab, panel in zip(tabs, panels.values(), strict=True):
        if tab.open:
            with tab:
                panel()


def first_start(dataset: str) -> None:
    """Start ``dataset``'s background first start if needed and follow it; stops the page
    until every default model is trained (the whole app reruns then)."""
    jobs = state.first_starts()
    jobs.ensure(dataset)

    @st.fragment(run_every=1.0)
    def progress() -> None:
        """Poll the shared job once a second (only this fragment reruns)."""
        status = jobs.status(dataset)
        if status.ready:
            st.rerun(scope="app")
        if status.state == "failed":
            st.error(f"The first start of {dataset} failed: {status.error}")
            st.button("Retry the first start", icon=":material/refresh:", key="first_start_retry",
                      on_click=jobs.retry, args=(dataset,))
            return
        st.info(f"First start of {dataset}: fetching it and training the default models, once "
                "for every visitor (a minute or two). You can keep browsing; this page fills "
                "in when it is done.")
        st.progress(status.progress, text=status.message)
        st.caption(f"Still training: {', '.join(status.missing)}")

    progress()
    st.stop()


def pick_movie(
    catalog: MovieCatalog, search_label: str, pick_label: str, key: str, default: str = "",
    placeholder: str | None = None,
) -> tuple[int, str] | None:
    """Search box + picker: the chosen movie's id and label, None while nothing matches.

    A search that matches no title says so, an empty one asks for a title (widget keys:
    ``{key}_search``, ``{key}_pick``).
    """
    query = st.text_input(search_label, value=default, max_chars=MAX_QUERY_CHARS,
                          key=f"{key}_search", placeholder=placeholder)
    found = catalog.search(query)
    if found.is_empty():
        if query.strip():
            st.info(f"No movie title contains “{query}”: try another word.")
        else:
            st.caption("Type a word of a movie title above to pick a movie.")
        return None
    labels = catalog.label(found["item_id"].to_list())
    pick = st.selectbox(pick_label, range(found.height), format_func=lambda i: labels[i],
                        key=f"{key}_pick")
    return int(found["item_id"][pick]), labels[pick]


def recommendation_cards(recs: pl.DataFrame, on_feedback: Feedback) -> None:
    """One card per recommendation: rank, title, genres, score, the model's reason, thumbs."""
    for row in recs.iter_rows(named=True):
        with st.container(border=True):
            text, up, down = st.columns([8, 1, 1])
            year = f" ({row['year']})" if row["year"] else ""
            text.markdown(f"**{row['rank']}. {row['title']}{year}**  \n"
                          f"{', '.join(row['genres'] or [])} · score {row['score']:.3g}  \n"
                          f"_{row['why']}_")
            up.button("", icon=":material/thumb_up:", key=f"up_{row['item_id']}",
                      on_click=on_feedback, args=(row["item_id"], row["rank"], "thumbs_up"),
                      help="I'd watch this")
            down.button("", icon=":material/thumb_down:", key=f"down_{row['item_id']}",
                        on_click=on_feedback, args=(row["item_id"], row["rank"], "thumbs_down"),
                        help="Not for me")
