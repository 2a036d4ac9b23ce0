"""The Vega-Lite spec builders of the pages."""

from __future__ import annotations

import pytest

from app.charts import field, spec
from recsys.errors import ConfigError


def test_spec_holds_its_mark_title_and_encodings() -> None:
    chart = spec("bar", "Genres", height=200, x=field("weight", title="weight"),
                 y=field("genre", "n", sort=None))
    assert chart == {
        "mark": "bar", "title": "Genres", "height": 200,
        "encoding": {"x": {"field": "weight", "type": "quantitative", "title": "weight"},
                     "y": {"field": "genre", "type": "nominal", "sort": None}},
    }


def test_an_unknown_field_type_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown field type 'x'"):
        field("weight", "x")
