"""The Logbook page shows every section of the logbook, built from the real sources."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from recsys.report import ENTRIES_DIR
from recsys.report.entries import load_entries


def test_logbook_page_shows_every_section(app: AppTest) -> None:
    app.run()
    app.switch_page("app_pages/logbook.py").run()
    assert not app.exception, [e.message for e in app.exception]
    labels = [tab.label for tab in app.tabs]
    for title in ("Overview", "Data", "Recommenders", "MLOps", "Journal of problems and fixes",
                  "Architecture decisions", "Versions"):
        assert any(label.startswith(title) for label in labels), labels
    shown = "\n".join(str(m.value) for m in app.markdown)
    for entry in load_entries(ENTRIES_DIR).journal:
        assert f"{entry.block} · {entry.title} (" in shown
    assert "recommenders-ml100k" in shown
    assert ":green[✔]" in shown or ":red[✘]" in shown
    assert "🔴" not in shown and "🟢" not in shown  # Streamlit colours, no emoji font needed
