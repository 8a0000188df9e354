"""The classroom's database: one SQLite file in WAL mode, written through this module only.

`RoomDB(path)` opens (or creates) the file, sets WAL, a busy timeout and foreign keys, and applies the
migrations it lacks, in order: `MIGRATIONS[k]` takes the schema from version k to k + 1, and the table
`schema_version` says where a file stands. A file that cannot serve (not a database, damaged, locked by
another program, written by a newer app, in a folder that cannot be written) raises `RoomsUnavailable`
with a sentence for the teacher; the rest of the app does not depend on it.

Tables (version 1): `rooms` (code, the teacher key's digest, times, the room's version and activity
counters, the pushed view, the current poll), `members` (a student's token digest, nickname, following),
`polls` (the poll as JSON, revealed or not), `answers` (one per member per poll). Deleting a room deletes
its members, polls and answers (foreign keys, ON DELETE CASCADE).
"""
from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from pathlib import Path

from diffusion_core.paths import ROOMS_DB_ENV, shown_path

log = logging.getLogger("diffusion_classroom")
BUSY_TIMEOUT_S = 2.0  # a write waits this long for another writer before it gives up
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE rooms (
        code TEXT PRIMARY KEY,
        key_digest BLOB NOT NULL,
        created REAL NOT NULL,
        touched REAL NOT NULL,
        version INTEGER NOT NULL DEFAULT 1,
        activity INTEGER NOT NULL DEFAULT 0,
        view TEXT NOT NULL DEFAULT '',
        view_version INTEGER NOT NULL DEFAULT 0,
        poll INTEGER
    );
    CREATE INDEX rooms_touched ON rooms(touched);
    CREATE TABLE members (
        id INTEGER PRIMARY KEY,
        room TEXT NOT NULL REFERENCES rooms(code) ON DELETE CASCADE,
        token_digest BLOB NOT NULL UNIQUE,
        nickname TEXT NOT NULL DEFAULT '',
        following INTEGER NOT NULL DEFAULT 1,
        joined REAL NOT NULL
    );
    CREATE INDEX members_room ON members(room);
    CREATE TABLE polls (
        id INTEGER PRIMARY KEY,
        room TEXT NOT NULL REFERENCES rooms(code) ON DELETE CASCADE,
        spec TEXT NOT NULL,
        opened REAL NOT NULL,
        revealed INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX polls_room ON polls(room);
    CREATE TABLE answers (
        poll INTEGER NOT NULL REFERENCES polls(id) ON DELETE CASCADE,
        member INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
        value REAL NOT NULL,
        at REAL NOT NULL,
        PRIMARY KEY (poll, member)
    );
    CREATE INDEX answers_member ON answers(member);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


class RoomsUnavailable(ValueError):
    """The database cannot serve; the message says why and what to do, in plain words."""


def unavailable(path: Path, exc: BaseException) -> RoomsUnavailable:
    """The teacher's sentence for a failure of the file at `path` (the log keeps the details)."""
    name, text = shown_path(path), str(exc).lower()
    log.warning("classroom database %s: %s", path, exc)
    if "locked" in text or "busy" in text:
        return RoomsUnavailable(f"The class database ({name}) is locked by another program: classes wait until it is "
                                "free. Everything else in the app works.")
    if "newer" in text:
        return RoomsUnavailable(f"The class database ({name}) was written by a newer version of this app: classes are off. "
                                "Everything else in the app works.")
    if isinstance(exc, sqlite3.DatabaseError) and ("not a database" in text or "malformed" in text or "corrupt" in text):
        return RoomsUnavailable(f"The class database ({name}) is damaged: classes are off. Move the file away, or set "
                                f"{ROOMS_DB_ENV} to another file, and restart the app. Everything else in the app works.")
    return RoomsUnavailable(f"The class database ({name}) cannot be opened ({type(exc).__name__}): classes are off. "
                            f"Set {ROOMS_DB_ENV} to a file in a folder the app can write. Everything else in the app works.")


class RoomDB:
    """One connection to the file, shared by the server's threads under a lock (each statement is short)."""

    def __init__(self, path, busy_timeout_s: float | None = None):
        self.path = Path(path)
        busy_timeout_s = BUSY_TIMEOUT_S if busy_timeout_s is None else busy_timeout_s
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise unavailable(self.path, exc) from None
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
            self._conn.execute("PRAGMA journal_mode = WAL").fetchone()
            self._conn.execute("PRAGMA synchronous = NORMAL")  # WAL: durable at each checkpoint, never corrupt
            self._conn.execute("PRAGMA foreign_keys = ON")
            self.migrate()
        except (sqlite3.Error, RoomsUnavailable) as exc:
            self._conn.close()
            raise (exc if isinstance(exc, RoomsUnavailable) else unavailable(self.path, exc)) from None

    def schema_version(self) -> int:
        self._conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = self._conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return int(row[0] or 0)

    def migrate(self) -> None:
        """Apply the migrations this file lacks, each in its own transaction."""
        with self._lock:
            have = self.schema_version()
            if have > SCHEMA_VERSION:
                raise unavailable(self.path, RuntimeError(f"schema version {have} is newer than {SCHEMA_VERSION}"))
            for version in range(have, SCHEMA_VERSION):
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    for statement in MIGRATIONS[version].split(";"):
                        if statement.strip():
                            self._conn.execute(statement)
                    self._conn.execute("DELETE FROM schema_version")
                    self._conn.execute("INSERT INTO schema_version VALUES (?)", (version + 1,))
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._rollback()
                    raise

    def rows(self, sql: str, args=()) -> list[tuple]:
        """The rows of one read."""
        with self._lock:
            try:
                return self._conn.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise unavailable(self.path, exc) from None

    def one(self, sql: str, args=()) -> tuple | None:
        found = self.rows(sql, args)
        return found[0] if found else None

    @contextlib.contextmanager
    def writing(self):
        """A write transaction (BEGIN IMMEDIATE ... COMMIT); yields the connection. Any exception rolls back."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise unavailable(self.path, exc) from None
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise unavailable(self.path, exc) from None
            except BaseException:
                self._rollback()
                raise

    def _rollback(self) -> None:
        try:
            self._conn.execute("ROLLBACK")
        except sqlite3.Error:  # SQLite rolled back already (a full disk, a lost lock)
            pass

    def close(self) -> None:
        with self._lock:
            self._conn.close()
