"""Light concurrent visitors: Streamlit sessions over the app's own websocket, no browser.

A :class:`Session` speaks the protocol of Streamlit's frontend on ``/_stcore/stream``: it
sends a ``BackMsg`` whose ``rerun_script`` carries the page name and the widget states (one
``WidgetState`` per widget it has set, by widget id; a button's ``trigger_value`` only in the
rerun it presses), and reads the ``ForwardMsg`` stream of that run (the page's elements as
deltas, toasts among them) until ``script_finished``. A run's latency is the time from sending
the ``BackMsg`` to its ``script_finished``: the server's whole answer, without a browser's
rendering. :func:`ws_visitors` runs N such sessions through the same journey as the Chromium
visitors of :mod:`app.journey` (open the Persona view, pick personas, thumbs up, rate a movie)
with a think time between a session's clicks, or all clicking at once (``burst``).
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

from app.journey import VisitorLog
from recsys.errors import RecsysError

__all__ = ["Run", "Session", "THINK_S", "page_runs", "ws_visitors"]

THINK_S = (1.0, 3.0)  # a visitor's pause before each click, uniform in this range (seconds)
_TIMEOUT_S = 300  # one script run on a loaded machine
_FINISHED = ForwardMsg.ScriptFinishedStatus.FINISHED_SUCCESSFULLY


@dataclass
class Run:
    """One script run as the server sent it: its elements in order and its latency."""

    seconds: float
    elements: list[tuple[str, Any]] = field(default_factory=list)  # (type, element proto)

    def widget_id(self, key: str) -> str:
        """The id of the widget created with ``key`` (Streamlit ends a keyed id with it)."""
        for _, element in self.elements:
            if getattr(element, "id", "").endswith(f"-{key}"):
                return element.id
        raise LookupError(f"no widget with key {key!r} in this run")

    def buttons(self, prefix: str) -> list[str]:
        """Ids of the buttons whose key starts with ``prefix``, in page order."""
        return [e.id for kind, e in self.elements
                if kind == "button" and re.search(rf"-{re.escape(prefix)}[^-]*$", e.id)]

    def texts(self) -> str:
        """Every text of the run: markdown bodies, labels, toasts, one a line."""
        parts = [getattr(e, name) for _, e in self.elements for name in ("body", "label")
                 if isinstance(getattr(e, name, None), str)]
        return "\n".join(parts)

    def tables(self) -> list[pa.Table]:
        """The run's dataframes, decoded from their Arrow bytes."""
        tables = []
        for kind, element in self.elements:
            if kind == "dataframe":
                data = element.arrow_data.data or element.lazy_data.initial_chunk.data
                tables.append(pa.ipc.open_stream(data).read_all())
        return tables


class Session:
    """One visitor's Streamlit session on a page of the app at ``url`` (``http://host:port``)."""

    def __init__(self, url: str, page: str) -> None:
        self.url, self.page = url, page
        self._socket: Any = None
        self._states: dict[str, WidgetState] = {}  # every value this visitor has set

    async def __aenter__(self) -> Session:
        stream = self.url.replace("http", "ws", 1) + "/_stcore/stream"
        self._socket = await websockets.connect(stream, subprotocols=["streamlit"],
                                                max_size=None, open_timeout=_TIMEOUT_S)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._socket.close()

    async def open(self) -> Run:
        """The page's first run (what a visitor's browser asks for on opening its URL)."""
        return await self.rerun()

    def set(self, widget_id: str, **value: Any) -> None:
        """Set a widget's value for the next runs, e.g. ``string_value="Build your own"``."""
        state = WidgetState(id=widget_id, **value)
        self._states[widget_id] = state

    async def rerun(self, trigger: str | None = None) -> Run:
        """Run the page with the widget values set so far (and the button ``trigger``
        pressed); the run that finishes successfully (a script's ``st.rerun`` is followed)."""
        message = BackMsg()
        message.rerun_script.page_name = self.page
        message.rerun_script.widget_states.widgets.extend(self._states.values())
        if trigger:
            message.rerun_script.widget_states.widgets.append(
                WidgetState(id=trigger, trigger_value=True))
        start = time.perf_counter()
        await self._socket.send(message.SerializeToString())
        elements: list[tuple[str, Any]] = []
        while True:
            forward = ForwardMsg()
            forward.ParseFromString(await asyncio.wait_for(self._socket.recv(), _TIMEOUT_S))
            kind = forward.WhichOneof("type")
            if kind == "delta" and forward.delta.WhichOneof("type") == "new_element":
                element = forward.delta.new_element
                element_type = element.WhichOneof("type")
                elements.append((element_type, getattr(element, element_type)))
            elif kind == "script_finished" and forward.script_finished == _FINISHED:
                return Run(time.perf_counter() - start, elements)
            elif kind == "script_finished":  # a rerun follows (st.rerun): keep only its run
                elements.clear()


async def _journey(url: str, personas: list[tuple[str, str]], movie: str, clicks: int,
                   seed: int, opened: asyncio.Barrier, burst: asyncio.Barrier | None,
                   think_s: tuple[float, float]) -> VisitorLog:
    """One visitor: open the Persona view and read its arm; ``clicks`` times pick a persona
    (``(name, description)``) and give a thumbs up; last rate ``movie`` in "Build your own"
    and read its ratings table. Before each timed click it thinks ``think_s`` seconds, or,
    with ``burst``, waits until every visitor is ready and all click at once."""
    rng, log = random.Random(seed), VisitorLog(rated=movie)

    async def timed(trigger: str | None, expected: str) -> Run:
        if burst is None:
            await asyncio.sleep(rng.uniform(*think_s))
        else:
            await burst.wait()
        run = await session.rerun(trigger)
        if expected not in run.texts():
            raise AssertionError(f"session {seed}: {expected!r} not in the page after a click")
        log.latencies.append(run.seconds)
        return run

    async with Session(url, "persona") as session:
        run = await session.open()
        found = re.search(r"session (\w+) is in arm \*\*(\w+)\*\*", run.texts())
        if found is None:
            raise AssertionError(f"session {seed}: the live experiment is not on")
        log.subject, log.arm = found.groups()
        persona_box = run.widget_id("persona_name")
        await opened.wait()
        for click in range(clicks):
            name, description = personas[(seed + click + 1) % len(personas)]
            session.set(persona_box, string_value=name)
            run = await timed(None, description)
            position = rng.randrange(10)
            button = run.buttons("up_")[position]
            await timed(button, "Your feedback is recorded")
            log.liked.append(position + 1)
            log.liked_keys.append(button.rsplit("-", 1)[-1])  # the id ends with the key
        session.set(run.widget_id("persona_kind"), string_value="Build your own")
        run = await timed(None, "Search a movie")
        session.set(run.widget_id("persona_search"), string_value=movie)
        run = await timed(None, "Add rating")
        run = await timed(run.widget_id("persona_add"), "Clear my ratings")
        log.rated_table = "\n".join(str(table.to_pylist()) for table in run.tables())
    return log


def ws_visitors(url: str, n: int, clicks: int, personas: list[tuple[str, str]],
                movies: list[str], *, burst: bool = False, think_s: tuple[float, float] = THINK_S,
                seed: int = 0) -> list[VisitorLog]:
    """``n`` concurrent websocket sessions on the Persona view of the server at ``url``
    (warmed by one visit first); session ``i`` rates ``movies[i]`` and gives ``clicks``
    thumbs up, thinking ``think_s`` seconds before each click, or with ``burst`` all
    clicking at the same moment. The logs are :func:`app.journey.summarise`'s input."""
    if n < 1 or len(movies) < n:
        raise RecsysError(f"{n} sessions need at least {n} movies (got {len(movies)})")

    async def main() -> list[VisitorLog]:
        async with Session(url, "persona") as warm:
            await warm.open()
        opened = asyncio.Barrier(n)
        together = asyncio.Barrier(n) if burst else None
        return list(await asyncio.gather(*(
            _journey(url, personas, movies[i], clicks, seed + i, opened, together, think_s)
            for i in range(n))))

    return asyncio.run(main())


def page_runs(url: str, pages: dict[str, str], repeats: int = 3) -> dict[str, list[float]]:
    """Seconds of each page's first run in ``repeats`` fresh sessions of a server warmed by
    one visit of every page first: the server's share of a first paint (``pages``: title →
    URL path, as :data:`app.journey.PAGES` has them)."""

    async def main() -> dict[str, list[float]]:
        timings: dict[str, list[float]] = {title: [] for title in pages}
        for round_ in range(repeats + 1):  # round 0 warms the server's caches up
            for title, path in pages.items():
                async with Session(url, path) as session:
                    run = await session.open()
                if round_:
                    timings[title].append(run.seconds)
        return timings

    return asyncio.run(main())
