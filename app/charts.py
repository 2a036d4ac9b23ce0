"""Vega-Lite charts of the pages: small spec builders drawn with ``st.vega_lite_chart``.

The pages draw Vega-Lite rather than plotly: a fresh browser session fetches and compiles
Streamlit's plotly chunk (4.7 MB of JavaScript) before it draws the first chart, ~1 s of a
page's first paint on the demo machine, against ~0.8 MB for Vega. A spec is a plain dict
(:func:`spec`, built from :func:`field` encodings); :func:`draw` shows one over a frame.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from recsys.errors import ConfigError

__all__ = ["draw", "field", "spec"]

_TYPES = {"q": "quantitative", "n": "nominal", "o": "ordinal", "t": "temporal"}


def field(name: str, kind: str = "q", title: str | None = None, **options: Any) -> dict:
    """One encoding channel: column ``name`` of type ``kind`` (``q``uantitative,
    ``n``ominal, ``o``rdinal, ``t``emporal) with an axis/legend ``title`` and any other
    Vega-Lite channel ``options`` (``scale``, ``sort``, ``format``...)."""
    if kind not in _TYPES:
        raise ConfigError(f"unknown field type {kind!r}: one of {sorted(_TYPES)}")
    channel = {"field": name, "type": _TYPES[kind], **options}
    if title is not None:
        channel["title"] = title
    return channel


def spec(mark: str | dict, title: str, height: int = 320, **encoding: Any) -> dict:
    """A single-view Vega-Lite spec: ``mark`` (``"bar"`` or ``{"type": "line", ...}``),
    a chart ``title``, a height in pixels and its encoding channels (``x=field(...)``)."""
    return {"mark": mark, "title": title, "height": height, "encoding": encoding}


def draw(frame: pl.DataFrame, chart: dict, where: Any = st) -> None:
    """Draw ``chart`` (a spec, or a layered ``{"layer": [...]}``) over ``frame`` in
    ``where`` (a column or container; the page by default), as wide as it."""
    where.vega_lite_chart(frame, chart, width="stretch")
