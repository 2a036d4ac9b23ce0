"""The Logbook page shows every section of the logbook, built from the real sources."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from recsys.report import ENTRIES_DIR
from recsys.report.entries import load_entries


def _shown(app: AppTest) -> str:
    return "\n".join(str(m.value) for m in app.markdown)


def test_logbook_page_shows_every_section(app: AppTest) -> None:
    app.run()
    app.switch_page("app_pages/logbook.py").run()
    assert not app.exception, [e.message for e in app.exception]
    section = app.radio(key="logbook_section")
    assert section.options[:1] == ["Overview"] and any(
        o.startswith("Journal of problems and fixes") for o in section.options), section.options
    assert "Generated" in _shown(app) and "| part | status |" in _shown(app)

    section.set_value("journal").run()
    shown = _shown(app)
    for entry in load_entries(ENTRIES_DIR).journal:
        assert f"{entry.block} · {entry.title} (" in shown
    assert ":green[✔]" in shown or ":red[✘]" in shown
    assert "🔴" not in shown and "🟢" not in shown  # Streamlit colours, no emoji font needed

    app.radio(key="logbook_section").set_value("recommenders").run()
    assert "recommenders-ml100k" in _shown(app)
