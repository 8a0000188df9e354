"""A bounded, server-side home for the reverse tab's recorded runs.

A session keeps only a handle (an unguessable string) in its state; the `Trajectory` behind it lives
here, least recently used first out once the total passes `max_bytes`, or once unused for
`max_idle_s`. So memory stays bounded however many sessions (browser tabs, API clients that never
close) have ever generated: a session whose run was let go is asked to press Generate again.
"""
from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict


class TrajectoryStore:
    def __init__(self, max_bytes: int = 256 * 2**20, max_idle_s: float = 1800.0):
        self.max_bytes = int(max_bytes)
        self.max_idle_s = float(max_idle_s)
        self._items: OrderedDict[str, tuple[object, float]] = OrderedDict()  # handle -> (trajectory, last use)
        self._lock = threading.Lock()

    def put(self, traj) -> str:
        """Keep `traj` (anything with `nbytes`, which may grow later); returns its handle."""
        handle = secrets.token_urlsafe(16)
        with self._lock:
            self._items[handle] = (traj, time.monotonic())
            self._evict(keep=handle)
        return handle

    def get(self, handle):
        """The trajectory behind `handle`, or None when it was let go (or never existed)."""
        if not isinstance(handle, str):
            return None
        with self._lock:
            item = self._items.get(handle)
            if item is None:
                return None
            self._items[handle] = (item[0], time.monotonic())
            self._items.move_to_end(handle)
            self._evict(keep=handle)
            return item[0]

    def nbytes(self) -> int:
        with self._lock:
            return sum(t.nbytes for t, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def _evict(self, keep: str) -> None:
        now = time.monotonic()
        for handle in [h for h, (_, used) in self._items.items() if now - used > self.max_idle_s and h != keep]:
            del self._items[handle]
        total = sum(t.nbytes for t, _ in self._items.values())
        for handle in list(self._items):
            if total <= self.max_bytes or handle == keep:
                break
            total -= self._items.pop(handle)[0].nbytes
