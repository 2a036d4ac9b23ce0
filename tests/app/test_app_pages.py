"""AppTest of every page on both releases: renders without exception, main interaction works."""

from __future__ import annotations

import re

import polars as pl
import pytest
from conftest import APP_MODELS
from streamlit.testing.v1 import AppTest

from recsys.ab.events import EventStore
from recsys.data.load import load_dataset
from recsys.settings import get_settings

DATASETS = ["ml-latest-small", "ml-100k"]
PAGES = ["home", "persona", "similarity", "ab", "lab", "insights", "monitoring"]


def open_page(app: AppTest, dataset: str, page: str) -> AppTest:
    """Run the app on ``dataset`` and switch to ``page``; fail on any exception."""
    app.session_state["dataset"] = dataset
    app.run()
    if page != "home":
        app.switch_page(f"app_pages/{page}.py").run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def texts(app: AppTest) -> str:
    """Every markdown, caption, info, error and title text of the rendered page."""
    parts = [*app.markdown, *app.caption, *app.info, *app.error, *app.title, *app.subheader]
    return "\n".join(str(p.value) for p in parts)


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("page", PAGES)
def test_page_renders(app: AppTest, dataset: str, page: str) -> None:
    open_page(app, dataset, page)
    assert not app.error, [e.value for e in app.error]


def test_home_shows_dataset_card_and_models(app: AppTest) -> None:
    open_page(app, "ml-100k", "home")
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Ratings"] == "100,000" and metrics["Users"] == "943"
    assert metrics["Quality"] in ("PASS", "FAIL")
    deployed = next(f.value for f in app.dataframe if "fit seconds" in f.value.columns)
    assert set(deployed["model"]) == {"most_popular", "item_knn", "content"}
    assert "official GroupLens checksum" in texts(app)


def sidebar_model(app: AppTest, model: str) -> None:
    """Serve the Persona view from the sidebar's ``model`` (the live experiment off)."""
    live = app.toggle(key="persona_live")
    if live.value:
        live.set_value(False).run()
    app.selectbox(key="model").set_value(model).run()


def reasons(app: AppTest) -> list[str]:
    """The reason line (in italics, last) of every recommendation card."""
    cards = [str(m.value) for m in app.markdown if str(m.value).startswith("**")]
    return [re.sub(r"^_|_$", "", card.rsplit("\n", 1)[-1]) for card in cards]


@pytest.mark.parametrize("dataset", DATASETS)
def test_persona_recommendations_appear(app: AppTest, dataset: str) -> None:
    open_page(app, dataset, "persona")
    app.selectbox(key="persona_name").set_value("Sci-fi fan").run()
    sidebar_model(app, "item_knn" if "item_knn" in APP_MODELS[dataset] else "content")
    titles = texts(app)
    assert "Top 10 from" in titles
    assert titles.count("Because you") >= 5  # each recommendation carries a reason
    assert len(app.button) >= 20  # thumbs up and down per movie


# What each model's own explanation says (never a genre heuristic, never a raw id).
MODEL_REASONS = {
    "most_popular": r"Popular with everyone: rated by [\d,]+ users",
    "item_knn": r"Because you (liked|rated) .+ \d(\.5)?★",
    "content": r"Because you (liked|rated) .+ · matches your taste for: .+",
}


@pytest.mark.parametrize("dataset", DATASETS)
def test_persona_reasons_are_each_models_own(app: AppTest, dataset: str) -> None:
    open_page(app, dataset, "persona")
    rated = set(app.dataframe[0].value["title"])  # the persona's movies
    for model in APP_MODELS[dataset]:
        sidebar_model(app, model)
        assert f"Top 10 from {model}" in texts(app)
        shown = reasons(app)
        assert len(shown) == 10 and all(re.fullmatch(MODEL_REASONS[model], r) for r in shown), (
            model, shown)
        if model != "most_popular":  # the cited movies are the persona's own
            assert all(any(title in r for title in rated) for r in shown), (model, shown)
        assert not re.search(r"\b(item|movie|user) \d+", texts(app))


def test_real_user_with_demographics(app: AppTest) -> None:
    open_page(app, "ml-100k", "persona")
    app.radio(key="persona_kind").set_value("Real user").run()
    app.selectbox(key="user:ml-100k").set_value(1).run()
    assert "Age 24 · gender M · technician" in texts(app)
    assert "Top 10 from" in texts(app)


def test_rate_movies_gives_new_recommendations(app: AppTest) -> None:
    open_page(app, "ml-latest-small", "persona")
    # a personalised model, not the live experiment's arm (its control arm is most-popular,
    # whose list one more rating may leave as it is)
    app.toggle(key="persona_live").set_value(False).run()
    app.selectbox(key="model").set_value("item_knn").run()
    app.radio(key="persona_kind").set_value("Build your own").run()
    assert "recommendations appear after the first rating" in texts(app)
    app.text_input(key="persona_search").set_value("toy story").run()
    app.button(key="persona_add").click().run()
    first = texts(app)
    assert "Top 10 from" in first
    app.text_input(key="persona_search").set_value("alien").run()
    app.slider(key="persona_stars").set_value(5.0).run()
    app.button(key="persona_add").click().run()
    assert not app.exception
    assert texts(app) != first  # the second rating changed the list or its reasons
    assert app.dataframe[0].value.shape[0] == 2


def test_feedback_is_stored_in_the_live_experiment(app: AppTest) -> None:
    open_page(app, "ml-100k", "persona")
    subject = app.session_state["subject_id"]
    assert app.toggle(key="persona_live").value is True
    thumbs = next(b for b in app.button if b.key and b.key.startswith("up_"))
    thumbs.click().run()
    store = EventStore(get_settings().events_url)
    feedback = store.events("app-live-ml-100k", "feedback")
    exposures = store.events("app-live-ml-100k", "exposures")
    assert subject in feedback["subject_id"].to_list()
    assert (exposures["subject_id"] == subject).sum() >= 10


def test_similarity_neighbours_appear(app: AppTest) -> None:
    open_page(app, "ml-100k", "similarity")
    app.text_input(key="similar_search").set_value("star wars").run()
    assert "Neighbours of Star Wars (1977)" in texts(app)
    assert len(app.dataframe) == 4  # one list per default method
    assert all(frame.value.shape[0] > 0 for frame in app.dataframe)
    assert len(app.get("vega_lite_chart")) == 1  # the overlap; the map waits for its expander
    app.session_state["similar_map"] = True
    app.run()
    assert not app.exception and len(app.get("vega_lite_chart")) == 2


def test_similarity_unknown_movie_is_explained(app: AppTest) -> None:
    open_page(app, "ml-100k", "similarity")
    app.text_input(key="similar_search").set_value("zzzz no such film").run()
    assert "No movie title contains" in texts(app)


def test_ab_live_results_and_planner(app: AppTest) -> None:
    store = EventStore(get_settings().events_url)
    for subject in range(40):  # both arms need subjects: hash sessions like the app does
        arm = "control" if subject % 2 else "treatment"
        store.log_exposures("app-live-ml-100k", f"s{subject}", arm, [1, 2, 3])
        if subject % 3 == 0:
            store.log_feedback("app-live-ml-100k", f"s{subject}", arm, 1, "thumbs_up", 1)
    open_page(app, "ml-100k", "ab")
    assert "Overlap of the two top-10 lists (Jaccard)" in [m.label for m in app.metric]
    assert "Sample-ratio check" not in texts(app)  # lazy tabs: only the open one runs
    app.session_state["ab_tab"] = "Live experiment"
    app.run()
    shown = texts(app)
    assert "Sequential (always-valid) verdict" in shown
    assert "Sample-ratio check" in shown
    app.session_state["ab_tab"] = "Sample-size planner"
    app.run()
    assert any(m.label == "Users per arm" for m in app.metric)
    app.number_input(key="plan_lift").set_value(0.2).run()
    assert not app.exception


def test_insights_tag_explorer(app: AppTest) -> None:
    open_page(app, "ml-latest-small", "insights")
    assert "Quality report" in texts(app)
    assert not app.text_input  # lazy tabs: the tag explorer runs once its tab is open
    app.session_state["insights_tab"] = "Tag explorer"
    app.run()
    app.text_input(key="tags_search").set_value("fight club").run()
    assert not app.exception and not app.info


def test_monitoring_shows_latency_after_recommendations(app: AppTest) -> None:
    open_page(app, "ml-100k", "persona")
    app.switch_page("app_pages/monitoring.py").run()
    assert not app.exception
    latency = app.dataframe[0].value
    assert "p95_ms" in latency.columns and latency["requests"].sum() >= 1


def test_public_demo_disables_heavy_actions(app: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECSYS_PUBLIC_DEMO", "1")
    open_launch_tab(app)
    assert app.button(key="lab_run").disabled
    assert "disabled in the public demo" in texts(app)


def test_a_misspelt_setting_is_shown_not_a_traceback(
    app: AppTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECSYS_PUBLIC_DEMO", "ture")  # a typo must not switch the demo off
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    assert "cannot start with these settings: RECSYS_PUBLIC_DEMO='ture'" in app.error[0].value


def open_launch_tab(app: AppTest) -> None:
    """The Benchmark lab on ml-100k with its (lazy) launch tab open."""
    open_page(app, "ml-100k", "lab")
    assert not app.button  # the launch tab does not run while closed
    app.session_state["lab_tab"] = "Launch a benchmark"
    app.run()


def test_lab_launches_a_benchmark(app: AppTest) -> None:
    open_launch_tab(app)
    app.multiselect(key="lab_models").set_value(["most_popular"]).run()
    app.button(key="lab_run").click().run()
    assert not app.exception
    assert app.session_state["lab_job"]


def test_lab_marks_peer_rows(app: AppTest) -> None:
    open_page(app, "ml-100k", "lab")
    folders = app.selectbox(key="lab_folder").options
    app.selectbox(key="lab_folder").select_index(folders.index("peers-ml100k")).run()
    table = app.dataframe[0].value
    sides = dict(zip(table["model"], table["side"], strict=True))
    assert sides["ours: EASE tuned"] == "ours"
    assert sides["cornac BPR (k 200, 200 iterations)"].startswith("peer: cornac ")
    assert "Peer rows (shaded)" in texts(app)


def test_the_dataset_selector_lists_every_trained_release(app: AppTest) -> None:
    open_page(app, "ml-100k", "home")
    selector = app.selectbox(key="dataset")
    assert selector.options == ["ml-latest-small", "ml-100k", "synthetic-genome (synthetic)"]


@pytest.mark.parametrize("page", [*PAGES, "genome"])
def test_every_page_works_on_a_synthetic_genome_release(app: AppTest, page: str) -> None:
    open_page(app, "synthetic-genome", page)
    assert not app.error, [e.value for e in app.error]


def test_genome_explorer(app: AppTest) -> None:
    open_page(app, "synthetic-genome", "genome")
    assert "Tag Genome of synthetic-genome scores 200 movies against 63 tags" in texts(app)
    neighbours, genome, users = (frame.value for frame in app.dataframe[:3])
    assert neighbours.shape[0] == 10 and genome.shape[0] == 15 and users.shape[0] > 0
    assert "Spearman rank correlation" in texts(app)
    data = load_dataset("synthetic-genome", get_settings())
    covered = set(data.genome_scores["item_id"].to_list())
    outside = data.movies.filter(~pl.col("item_id").is_in(list(covered)),
                                 pl.col("item_id") >= 1000)["title"][0]  # a unique title
    app.text_input(key="genome_search").set_value(outside).run()
    assert "has no genome scores: the genome covers the 200 most-rated movies" in texts(app)
    assert not app.exception


def test_no_genome_page_without_a_genome(app: AppTest) -> None:
    open_page(app, "ml-100k", "home")
    with pytest.raises(Exception, match="genome"):
        app.switch_page("app_pages/genome.py").run()


ODD_SEARCHES = ['"toy story"', "toy (story", "[toy]", ".*", "%_?", "amélie", "\\", "x" * 300]


@pytest.mark.parametrize("query", ODD_SEARCHES)
def test_odd_searches_get_a_message_never_a_traceback(app: AppTest, query: str) -> None:
    open_page(app, "ml-latest-small", "similarity")
    app.text_input(key="similar_search").set_value(query).run()
    assert not app.exception
    shown = texts(app)
    assert "Neighbours of" in shown or "No movie title contains" in shown or (
        "at most 100 are allowed" in shown), shown


def test_a_persona_of_unknown_movies_is_explained(app: AppTest) -> None:
    open_page(app, "synthetic-genome", "persona")
    assert "No ready-made persona resolves on this catalogue" in texts(app)
    assert not app.exception


def test_an_empty_similarity_selection_is_explained(app: AppTest) -> None:
    open_page(app, "ml-100k", "similarity")
    app.multiselect(key="similar_methods").set_value([]).run()
    assert "Pick at least one similarity measure" in texts(app)
