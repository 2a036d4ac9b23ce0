"""Entry script: page config, the shared sidebar (dataset and model), first start, the router.

Run with ``streamlit run app/main.py``. Expected failures (``RecsysError``) of any page are
shown here, at the page boundary, as a message with the next step, never as a traceback.
"""

from __future__ import annotations

import uuid

import streamlit as st

from app import state, widgets
from recsys.errors import RecsysError
from recsys.service import DATASETS
from recsys.tracking import CHAMPION_ALIAS

st.set_page_config(page_title="MovieLens recommender", page_icon=":material/movie:", layout="wide")

PAGES = [
    st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("app_pages/persona.py", title="Persona view", icon=":material/person:"),
    st.Page("app_pages/similarity.py", title="Similarity explorer", icon=":material/hub:"),
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
        st.selectbox("Dataset", DATASETS, key="dataset",
                     help="MovieLens release the whole app works on")
        if settings.public_demo:
            st.caption(":material/public: Public demo: heavy actions are disabled and inputs "
                       "are bounded.")
    dataset = st.session_state["dataset"]
    if not state.is_ready(dataset):
        st.info(f"First start: fetching {dataset} and training the default models. "
                "This happens once and takes a minute or two.")
        widgets.prepare(dataset)
    models = state.get_service(dataset).model_names
    preferred = next((m for m in (CHAMPION_ALIAS, "item_knn", "ease") if m in models), models[0])
    if st.session_state.get("model") not in models:
        st.session_state["model"] = preferred
    with st.sidebar:
        st.selectbox("Model", models, key="model", help="Model used by the Persona view")


st.session_state.setdefault("dataset", DATASETS[0])
st.session_state.setdefault("subject_id", uuid.uuid4().hex[:16])
state.metrics_port(state.settings().metrics_port)
page = st.navigation(PAGES)
try:
    sidebar()
    page.run()
except RecsysError as error:
    st.error(str(error))
