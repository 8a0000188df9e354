"""How often a client, a member or a room may act, and how big a room may grow.

`Window(limit, per_s)` counts the acts of each key (a client's address, a member, a room) in fixed windows of
`per_s` seconds, in memory: an act over the limit is refused before it reaches the database, so a flood
costs a dictionary lookup and never slows the other rooms. The windows forget keys whose window has
passed, and hold at most `max_keys` keys.

`Limits` gathers the bounds a public Space needs; `Limits.from_env()` reads the idle time from
`DIFFUSION_CLASSROOM_ROOM_IDLE_MIN` (minutes; 180 by default).
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass

IDLE_ENV = "DIFFUSION_CLASSROOM_ROOM_IDLE_MIN"


class Window:
    """At most `limit` acts per key in each window of `per_s` seconds."""

    def __init__(self, limit: int, per_s: float, max_keys: int = 20_000):
        self.limit, self.per_s, self.max_keys = limit, per_s, max_keys
        self._seen: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def _current(self, key: str, now: float) -> tuple[float, int]:
        start, n = self._seen.get(key, (now, 0))
        return (now, 0) if now - start >= self.per_s else (start, n)

    def full(self, key: str, now: float) -> bool:
        """Whether `key` has used its acts of this window (nothing is counted)."""
        with self._lock:
            return self._current(key, now)[1] >= self.limit

    def take(self, key: str, now: float) -> bool:
        """Count one act of `key`; False (and nothing counted) when its window is full."""
        with self._lock:
            start, n = self._current(key, now)
            if n >= self.limit:
                return False
            if key not in self._seen and len(self._seen) >= self.max_keys:
                self._forget_old(now)
                if len(self._seen) >= self.max_keys:
                    return False
            self._seen[key] = (start, n + 1)
            return True

    def _forget_old(self, now: float) -> None:
        for key in [k for k, (start, _) in self._seen.items() if now - start >= self.per_s]:
            del self._seen[key]


@dataclass(frozen=True)
class Limits:
    idle_s: float = 3 * 3600  # a room nobody has acted in for this long ends, with everything in it
    max_rooms: int = 200  # rooms at once on the server
    max_members: int = 100  # students in one room
    max_polls: int = 100  # polls kept per room (the oldest go first)
    nickname_chars: int = 24
    wrong_codes_per_client: int = 20  # wrong class codes one client may try ...
    wrong_codes_window_s: float = 300.0  # ... in this many seconds
    wrong_codes_total: int = 300  # wrong class codes the whole server takes per minute
    rooms_per_client: int = 10  # classes one client may start per 10 minutes
    member_acts: int = 20  # answers and follow switches one student may send per 10 s
    room_acts: int = 300  # students' acts (joins, answers, follow switches) one room takes per 10 s
    teacher_acts: int = 60  # a teacher's acts (push, poll, reveal) per 10 s
    waits_per_page: int = 60  # long polls one page may open per 10 s (a live page: one per change, or per 25 s)
    bad_waits_per_client: int = 120  # long polls refused per client per minute (a page not in the room)
    waiters_per_room: int = 110  # pages waiting on one room's changes at once (its students and teacher tabs)
    waiters_total: int = 3000
    wait_s: float = 25.0  # a page's wait for a change ends after this long (it asks again)
    present_s: float = 40.0  # a student heard within this long is in the room

    @staticmethod
    def from_env() -> "Limits":
        raw = os.environ.get(IDLE_ENV, "").strip()
        try:
            minutes = float(raw) if raw else 180.0
        except ValueError:
            minutes = 180.0
        return Limits(idle_s=max(1.0, minutes) * 60)


class RoomRates:
    """The windows of one server, built from `Limits`."""

    def __init__(self, limits: Limits):
        self.wrong_by_client = Window(limits.wrong_codes_per_client, limits.wrong_codes_window_s)
        self.wrong_total = Window(limits.wrong_codes_total, 60.0, max_keys=1)
        self.rooms_by_client = Window(limits.rooms_per_client, 600.0)
        self.member = Window(limits.member_acts, 10.0)
        self.room = Window(limits.room_acts, 10.0)
        self.teacher = Window(limits.teacher_acts, 10.0)
        self.waits = Window(limits.waits_per_page, 10.0)
        self.bad_waits = Window(limits.bad_waits_per_client, 60.0)
