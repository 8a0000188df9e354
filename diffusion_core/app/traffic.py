"""What keeps one public Space usable for everyone: limits on the server's traffic.

- `StreamGuard` (ASGI middleware) counts the open result streams of each session (the browser's and
  gradio_client's `/queue/data?session_hash=...`, the REST API's `/call/<api>/<event_id>`), and answers
  an over-long URL with a short 414 instead of a server error.
- `drop_unheard` (a background task of the server) removes from the queue every job whose session has
  had no open stream for `GRACE_S`: a flood of fire-and-forget POSTs costs nothing.
- `SessionRuns` keeps at most one generation per session: a newer one replaces the older, which stops
  at its next step; a run whose session stops listening stops too. `TRAININGS` does the same for the
  live trainings (the race, the score lab): one per session, whichever tab.
- `TrainingSlices`: trainings share what the generations leave. One training slice runs at a time across
  all sessions, and a slice waits while a generation is running (up to `SLICE_PATIENCE_S`), so six races
  started at once slow each other, not a student's Generate.
- `launch_options()` and `QUEUE_OPTIONS`: the queue's size, upload size, session capacity; `prune_work_dir`
  keeps the scratch folder (uploads, outputs, exports) within a size and an age.

The figures behind each limit are in `benchmarks/abuse.py`.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import re
import threading
import time
from dataclasses import dataclass

from diffusion_core.paths import WORK_DIR, prune
from diffusion_core.pipelines.generation import generating

GRACE_S = 2.0  # a job waits this long for its session to open a stream before it is dropped
MAX_URL = 16_384  # characters of path + query (a share link with a custom schedule fits)
QUEUE_MAX = 256  # jobs waiting in the queue, all sessions together
SESSIONS_KEPT = 200  # Gradio keeps ~0.35 MB per session: at most this many (a class is 30)
WORK_MAX_BYTES = 768 * 2**20  # this process's scratch folder: Gradio's cache of uploads and outputs, and exports
WORK_MAX_AGE_S = 1800  # a file older than this is gone (the page that showed it has it already)
UPLOAD_LIMIT = "20mb"
SLICE_PATIENCE_S = 0.5  # a training slice waits at most this long for the running generations, then takes its turn
_STREAM_PATH = re.compile(r"/gradio_api/(?:queue/data|call/(?:v2/)?[^/]+/(?P<event>[0-9a-f]{32}))/?$")


class StreamRegistry:
    """Open result streams per session hash or event id (thread-safe counters)."""

    def __init__(self):
        self._open: dict[str, int] = {}
        self._lock = threading.Lock()

    def opened(self, key: str) -> None:
        with self._lock:
            self._open[key] = self._open.get(key, 0) + 1

    def closed(self, key: str) -> None:
        with self._lock:
            n = self._open.get(key, 0) - 1
            if n > 0:
                self._open[key] = n
            else:
                self._open.pop(key, None)

    def listening(self, *keys: str | None) -> bool:
        with self._lock:
            return any(k in self._open for k in keys if k)


STREAMS = StreamRegistry()


class StreamGuard:
    """ASGI middleware: keeps `STREAMS` up to date and refuses URLs longer than `MAX_URL`. A REST stream
    (`/call/<api>/<event_id>`) counts for its event and for the session its POST named (`demo`'s queue knows it), so
    a REST client that passes its own session hash is heard like a page."""

    def __init__(self, app, demo=None):
        self.app, self.demo = app, demo

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path, query = scope.get("path", ""), scope.get("query_string", b"")
        if len(path) + len(query) > MAX_URL:
            return await _too_long(send)
        m = _STREAM_PATH.search(path)
        event = m and m.group("event")
        keys = [event, self._session_of_event(event)] if event else [_session_of(query)] if m else []
        keys = list(dict.fromkeys(k for k in keys if k))
        if not keys:
            return await self.app(scope, receive, send)
        for key in keys:
            STREAMS.opened(key)
        try:
            return await self.app(scope, receive, send)
        finally:
            for key in keys:
                STREAMS.closed(key)

    def _session_of_event(self, event_id: str) -> str | None:
        event = getattr(getattr(self.demo, "_queue", None), "event_ids_to_events", {}).get(event_id)
        return getattr(event, "session_hash", None)


def _session_of(query: bytes) -> str | None:
    for part in query.decode("latin-1").split("&"):
        name, _, value = part.partition("=")
        if name == "session_hash":
            return value
    return None


async def _too_long(send) -> None:
    body = f"This link is too long (over {MAX_URL} characters); ask for a new one.".encode()
    await send({"type": "http.response.start", "status": 414,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def drop_unheard(queue, every_s: float = 0.25) -> None:
    """Forever: remove queued jobs whose session has had no open stream for `GRACE_S` since they
    were queued (nobody will read their result)."""
    while True:
        await asyncio.sleep(every_s)
        now = time.monotonic()
        stale = [ev for eq in list(queue.event_queue_per_concurrency_id.values()) for ev in list(eq.queue)
                 if now - ev.enqueue_time > GRACE_S and not STREAMS.listening(ev.session_hash, ev._id)]
        for ev in stale:
            await queue.clean_events(event_id=ev._id)


async def prune_work_dir(every_s: float = 30.0) -> None:
    """Forever: keep the scratch folder (Gradio's file cache and the exports) within `WORK_MAX_BYTES`
    and `WORK_MAX_AGE_S`."""
    while True:
        await asyncio.sleep(every_s)
        await asyncio.to_thread(prune, WORK_DIR, WORK_MAX_BYTES, WORK_MAX_AGE_S)


def lifespan_for(demo):
    """The server's lifespan: start the two janitors, stop them at shutdown."""

    @contextlib.asynccontextmanager
    async def lifespan(app):
        tasks = [asyncio.create_task(drop_unheard(demo._queue)), asyncio.create_task(prune_work_dir())]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()

    return lifespan


def launch_options(demo) -> dict:
    """`demo.launch(...)` arguments that bound uploads, sessions and the cache, and install the guard."""
    from starlette.middleware import Middleware

    one_http_parser()
    return dict(max_file_size=UPLOAD_LIMIT, state_session_capacity=int(os.environ.get("DIFFUSION_CLASSROOM_SESSIONS", SESSIONS_KEPT)),
                app_kwargs={"middleware": [Middleware(StreamGuard, demo=demo)], "lifespan": lifespan_for(demo)})


QUEUE_OPTIONS = dict(max_size=QUEUE_MAX, default_concurrency_limit=4)


def one_http_parser() -> None:
    """Serve with uvicorn's pure-Python h11 parser whatever else is installed. uvicorn's "auto" takes
    httptools when present (Ray Serve brings it), and httptools rejects an over-long URL itself with a bare
    400 before `StreamGuard` can answer its 414 and say why."""
    import uvicorn.config

    uvicorn.config.HTTP_PROTOCOLS["auto"] = uvicorn.config.HTTP_PROTOCOLS["h11"]


# ---------------------------------------------------------------------------- one generation per session
@dataclass(eq=False)
class Run:
    session: str
    replaced: bool = False  # this session started a newer run
    stopped: bool = False  # this session pressed Stop
    heard_at: float = 0.0

    def wait_for_audience(self, poll_s: float = 0.05) -> bool:
        """Before any work: wait up to GRACE_S for the session to open its result stream; False when it
        never does (a fire-and-forget call: nothing is computed for it)."""
        deadline = time.monotonic() + GRACE_S
        while not STREAMS.listening(self.session):
            if time.monotonic() > deadline:
                return False
            time.sleep(poll_s)
        self.heard_at = time.monotonic()
        return True

    def audience_gone(self) -> bool:
        """True once the session has had no open stream for GRACE_S (checked between steps)."""
        now = time.monotonic()
        if STREAMS.listening(self.session):
            self.heard_at = now
        return now - self.heard_at > GRACE_S


class SessionRuns:
    """The current generation of each session; starting one marks the session's older one replaced."""

    def __init__(self):
        self._current: dict[str, Run] = {}
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def claim(self, session: str | None):
        run = Run(session or "", heard_at=time.monotonic())
        with self._lock:
            old = self._current.get(run.session)
            if old is not None:
                old.replaced = True
            self._current[run.session] = run
        try:
            yield run
        finally:
            with self._lock:
                if self._current.get(run.session) is run:
                    del self._current[run.session]

    def stop(self, session: str | None) -> bool:
        """Ask the session's current run to stop at its next step; False when it has none."""
        with self._lock:
            run = self._current.get(session or "")
            if run is not None:
                run.stopped = True
            return run is not None

    def running(self) -> int:
        with self._lock:
            return len(self._current)


TRAININGS = SessionRuns()  # the live training of each session (race or score lab): a newer one stops the older


class TrainingSlices:
    """Turns for the live trainings' slices of steps: one slice at a time across every session, each after
    the running generations (`busy()`), waiting at most `patience_s` for them so a training still creeps on
    under a steady stream of generations."""

    def __init__(self, busy=generating, patience_s: float = SLICE_PATIENCE_S, poll_s: float = 0.01):
        self.busy, self.patience_s, self.poll_s = busy, patience_s, poll_s
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def turn(self):
        deadline = time.monotonic() + self.patience_s
        while self.busy() and time.monotonic() < deadline:
            time.sleep(self.poll_s)
        with self._lock:
            yield


TRAINING_SLICES = TrainingSlices()
