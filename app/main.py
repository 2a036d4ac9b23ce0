"""Entry script: page config, the shared sidebar (dataset and model), first start, the router.

The first start of a dataset is a background job shared by every session
(:class:`recsys.service.FirstStarts`): a page shows its progress until it is done.

Run with ``streamlit run app/main.py``. Expected failures (``RecsysError``) of any page are
shown here, at the page boundary, as a message with the next step, never as a traceback.
"""

from __future__ import annotations

import uuid

import streamlit as st

from app import state, widgets
from recsys.errors import RecsysError
from recsys.service import DEMO_DATASET, dataset_label, has_genome
from recsys.tracking import CHAMPION_ALIAS

st.set_page_config(page_title="MovieLens recommender", page_icon=":material/movie:", layout="wide")

GENOME_PAGE = st.Page("app_pages/genome.py", title="Tag Genome explorer",
                      icon=":material/genetics:")  # where the release has a genome
PAGES = [
    st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("app_pages/persona.py", title="Persona view", icon=":material/person:"),
    st.Page("app_pages/similarity.py", title="Similarity explorer", icon=":material/hub:"),
    GENOME_PAGE,
    st.Page("app_pages/ab.py", title="A/B comparison", icon=":material/balance:"),
    st.Page("app_pages/lab.py", title="Benchmark lab", icon=":material/science:"),
    st.Page("app_pages/insights.py", title="Data insights", icon=":material/bar_chart:"),
    st.Page("app_pages/monitoring.py", title="Monitoring", icon=":material/monitoring:"),
    st.Page("app_pages/logbook.py", title="Logbook", icon=":material/menu_book:"),
]


def sidebar() -> None:
    """Dataset and model choice shared by every page (kept in session state)."""
    settings = state.settings()
    with st.sidebar:
        st.selectbox("Dataset", state.datasets(), key="dataset", format_func=dataset_label,
                     help="MovieLens release the whole app works on: every release fetched "
                          "and trained here")
        if settings.public_demo:
            st.caption(":material/public: Public demo: heavy actions are disabled and inputs "
                       "are bounded.")
    dataset = st.session_state["dataset"]
    if not state.first_starts().status(dataset).ready:
        widgets.first_start(dataset)
    models = state.get_service(dataset).model_names
    preferred = next((m for m in (CHAMPION_ALIAS, "item_knn", "ease") if m in models), models[0])
    if st.session_state.get("model") not in models:
        st.session_state["model"] = preferred
    with st.sidebar:
        st.selectbox("Model", models, key="model", help="Model used by the Persona view")


st.session_state.setdefault("dataset", DEMO_DATASET)
st.session_state.setdefault("subject_id", uuid.uuid4().hex[:16])
try:
    settings = state.settings()  # RECSYS_* variables, checked
except RecsysError as error:
    st.error(f"The app cannot start with these settings: {error}")
    st.stop()
state.metrics_port(settings.metrics_port)
genome = has_genome(st.session_state["dataset"], settings)
page = st.navigation([p for p in PAGES if p is not GENOME_PAGE or genome])
try:
    sidebar()
    page.run()
except RecsysError as error:
    st.error(str(error))
