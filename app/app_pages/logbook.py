"""Logbook: each block's checklist with its proofs, comparative results, the journal of problems
and fixes, the architecture decisions and the versions — regenerated from the real sources."""

from __future__ import annotations

import streamlit as st

from app import state
from recsys.report import ENTRIES_DIR, REPO_ROOT
from recsys.report.entries import load_entries
from recsys.report.logbook import Logbook, build_logbook, open_context


@st.cache_data(ttl=300, show_spinner="Reading the test results, benchmark results, MLflow…")
def logbook() -> Logbook:
    """The logbook as ``recsys report logbook`` builds it (paths shown as text, not links)."""
    ctx = open_context(REPO_ROOT, state.settings())
    return build_logbook(ctx, load_entries(ENTRIES_DIR), link_base=None, style="streamlit")


st.title(":material/menu_book: Logbook")
book = logbook()
st.caption(f"Generated {book.generated} from the last test run, the data quality reports, the "
           "committed benchmark results, MLflow and git; `recsys report logbook` writes the same "
           "to docs/logbook/. A step whose proof fails or is missing is red.")
if st.button("Regenerate", icon=":material/refresh:"):
    logbook.clear()
    st.rerun()
titles = {s.key: s.title + (f" · :red[✘ {s.red}]" if s.red else "") for s in book.sections}
key = st.radio("Section", list(titles), format_func=titles.get, horizontal=True,
               key="logbook_section", label_visibility="collapsed")
st.markdown(book.section(key).markdown)
