"""Who waits for a room to change, and who was heard lately: the live half of a room, kept in memory.

A page waits for its room's next change on the server (a long poll: `listening` gives it a future that
`notify` completes), so an idle class costs no work: nothing runs until the teacher acts. A write in any
of the server's threads calls `notify(code, everyone)`: everyone's waits end when the class's state
changes (a pushed view, a poll, a reveal, the end); only the teacher's when the teacher's counts change
(a join, an answer, a follow switch).

Presence is a student's page waiting now or heard within `present_s` seconds (a page asks again at least
every `Limits.wait_s`). After a restart it is empty until the pages ask again, a few seconds later; the
database keeps everything else.
"""
from __future__ import annotations

import asyncio
import collections
import contextlib
import threading
import time


def _wake(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(True)


class RoomSignals:
    def __init__(self, present_s: float = 40.0, clock=time.monotonic):
        self.present_s = present_s
        self.clock = clock
        self._lock = threading.Lock()
        self._waiters: dict[str, dict[asyncio.Future, tuple[asyncio.AbstractEventLoop, bool]]] = {}
        self._heard: dict[str, dict[int, float]] = {}  # room -> member id -> when last heard
        self._waiting: dict[str, collections.Counter] = {}  # room -> member id -> open waits

    @contextlib.contextmanager
    def listening(self, code: str, member: int | None):
        """A future completed by the room's next change that concerns this page (`member` None: the teacher)."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        with self._lock:
            self._waiters.setdefault(code, {})[future] = (loop, member is None)
            if member is not None:
                self._waiting.setdefault(code, collections.Counter())[member] += 1
                self._heard.setdefault(code, {})[member] = self.clock()
        try:
            yield future
        finally:
            with self._lock:
                self._waiters.get(code, {}).pop(future, None)
                if not self._waiters.get(code):
                    self._waiters.pop(code, None)
                if member is not None and code in self._waiting:
                    self._waiting[code][member] -= 1
                    if self._waiting[code][member] <= 0:
                        del self._waiting[code][member]
                    self._heard.setdefault(code, {})[member] = self.clock()

    def notify(self, code: str, everyone: bool = True) -> int:
        """End the waits on room `code` (all, or only the teacher's); returns how many were woken."""
        with self._lock:
            targets = [(loop, f) for f, (loop, teacher) in self._waiters.get(code, {}).items() if everyone or teacher]
        for loop, future in targets:
            with contextlib.suppress(RuntimeError):  # a loop that has closed (the server stopped)
                loop.call_soon_threadsafe(_wake, future)
        return len(targets)

    def heard(self, code: str, member: int) -> None:
        with self._lock:
            self._heard.setdefault(code, {})[member] = self.clock()

    def present(self, code: str) -> set[int]:
        """The members of room `code` whose page waits now or was heard within `present_s` seconds."""
        now = self.clock()
        with self._lock:
            heard = self._heard.get(code, {})
            for member in [m for m, t in heard.items() if now - t > self.present_s]:
                del heard[member]
            return set(heard) | set(self._waiting.get(code, ()))

    def waiting(self, code: str | None = None) -> int:
        """Open waits on room `code` (on every room when None)."""
        with self._lock:
            if code is not None:
                return len(self._waiters.get(code, ()))
            return sum(len(w) for w in self._waiters.values())

    def forget(self, code: str) -> None:
        """A room that ended: its presence goes, and its waits end."""
        self.notify(code)
        with self._lock:
            self._heard.pop(code, None)
            self._waiting.pop(code, None)
