"""The Logbook page shows every section of the logbook, built from the real sources."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def test_logbook_page_shows_every_section(app: AppTest) -> None:
    app.run()
    app.switch_page("app_pages/logbook.py").run()
    assert not app.exception, [e.message for e in app.exception]
    labels = [tab.label for tab in app.tabs]
    for title in ("Overview", "Data", "Recommenders", "MLOps", "Journal of problems and fixes",
                  "Architecture decisions", "Versions"):
        assert any(label.startswith(title) for label in labels), labels
    shown = "\n".join(str(m.value) for m in app.markdown)
    assert "Tag leak in the cold-items content study (open)" in shown
    assert "recommenders-ml100k" in shown and ":red[✘]" in shown and "🔴" not in shown
