"""`Classroom`: the rooms of one server, kept in the database (`room_db`), with their live half in memory
(`room_signals`) and their rate limits (`room_limits`).

- The teacher: `start` (a new room: its code and the teacher key), `push_view` (the view followers apply),
  `open_poll`, `reveal`, `end`. Each checks the key first: a page without it is refused (`NotTeacher`).
- A student: `join` (by code, with an optional nickname; a page's earlier token joins as the same member),
  `follow` (on or off; on returns the teacher's view: Catch up), `answer` (one per member per poll: a new
  answer replaces the old, until Reveal).
- Every page: `state` (what its panel shows), `next_change` (a long poll: the page's change token once it
  differs from the one it has; an idle class costs nothing).

Rooms nobody acted in for `Limits.idle_s` are deleted with their members, polls and answers (swept at most
once a minute, on use). A database that cannot serve raises `RoomsUnavailable` with a plain sentence and
is tried again every `RETRY_S` seconds; nothing else in the app depends on it.
"""
from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from diffusion_core.classroom.polls import Poll, Refused, Tally, plain, read_answer, tally
from diffusion_core.classroom.room_codes import digest, new_code, new_secret, read_code, same_secret
from diffusion_core.classroom.room_db import RoomDB, RoomsUnavailable
from diffusion_core.classroom.room_limits import Limits, RoomRates
from diffusion_core.classroom.room_signals import RoomSignals
from diffusion_core.paths import rooms_db_path

RETRY_S = 10.0  # a database that failed to open is tried again after this long
SWEEP_EVERY_S = 60.0
MAX_VIEW_CHARS = 32_768  # a pushed view (a share link's settings, a custom schedule's betas included)
MAX_NAMES_SHOWN = 40


class RoomGone(Refused):
    def __init__(self):
        super().__init__("This class has ended, or its code is wrong.")


class NotTeacher(Refused):
    def __init__(self):
        super().__init__("Only the teacher's page can do this.")


class NotMember(Refused):
    def __init__(self):
        super().__init__("This page is not in the class: join it again with its code.")


@dataclass(frozen=True)
class RoomState:
    """What one page of a room shows, read at one moment."""
    code: str
    teacher: bool
    nickname: str
    following: bool
    view: dict | None  # the teacher's last pushed view
    view_version: int
    poll: Poll | None  # the current poll
    poll_id: int | None
    revealed: bool
    my_answer: float | None
    tally: Tally | None  # the class's answers, once revealed
    joined: int  # students who joined (the database's members)
    present: int  # of them, whose page is open now
    followers: int  # of those, who follow the teacher
    answered: int  # answers to the current poll
    names: tuple[str, ...]  # the teacher's page: nicknames of the students present
    change: str  # the page's change token (see `next_change`)


class Classroom:
    def __init__(self, path, limits: Limits | None = None, clock=time.time):
        self.path = Path(path)
        self.limits = limits or Limits.from_env()
        self.clock = clock
        self.rates = RoomRates(self.limits)
        self.signals = RoomSignals(self.limits.present_s)
        self._db: RoomDB | None = None
        self._problem: RoomsUnavailable | None = None
        self._retry_at = 0.0
        self._swept_at = float("-inf")
        self._lock = threading.Lock()

    # ------------------------------------------------------------------------ the database
    def db(self) -> RoomDB:
        """The open database (opened on first use; a failure is remembered for `RETRY_S`)."""
        with self._lock:
            if self._db is None:
                if self._problem is not None and time.monotonic() < self._retry_at:
                    raise self._problem
                try:
                    self._db = RoomDB(self.path)
                except RoomsUnavailable as exc:
                    self._problem, self._retry_at = exc, time.monotonic() + RETRY_S
                    raise
                self._problem = None
            db = self._db
        self.sweep(db)
        return db

    def problem(self) -> str | None:
        """Why classes are off (a sentence), or None when the database serves."""
        try:
            self.db()
        except RoomsUnavailable as exc:
            return str(exc)
        return None

    def sweep(self, db: RoomDB, force: bool = False) -> int:
        """Delete the rooms idle for longer than `Limits.idle_s` (at most once a minute); returns how many."""
        now = self.clock()
        if not force and now - self._swept_at < SWEEP_EVERY_S:
            return 0
        self._swept_at = now
        with db.writing() as c:
            old = [code for (code,) in c.execute("SELECT code FROM rooms WHERE touched < ?", (now - self.limits.idle_s,))]
            c.execute("DELETE FROM rooms WHERE touched < ?", (now - self.limits.idle_s,))
        for code in old:
            self.signals.forget(code)
        return len(old)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    # ------------------------------------------------------------------------ the teacher
    def start(self, client: str) -> tuple[str, str]:
        """A new room: (its code, the teacher key)."""
        if not self.rates.rooms_by_client.take(client, self.clock()):
            raise Refused("This network has started many classes in the last 10 minutes: wait a few minutes.")
        db, now, key = self.db(), self.clock(), new_secret()
        with db.writing() as c:
            if c.execute("SELECT COUNT(*) FROM rooms").fetchone()[0] >= self.limits.max_rooms:
                raise Refused(f"The server holds as many classes as it can ({self.limits.max_rooms}): try again later.")
            code = new_code()
            while c.execute("SELECT 1 FROM rooms WHERE code = ?", (code,)).fetchone():
                code = new_code()
            c.execute("INSERT INTO rooms (code, key_digest, created, touched) VALUES (?, ?, ?, ?)", (code, digest(key), now, now))
        return code, key

    def _teacher_act(self, code, key) -> tuple[RoomDB, str]:
        code, db = self._known(code), self.db()
        row = db.one("SELECT key_digest FROM rooms WHERE code = ?", (code,))
        if row is None:
            raise RoomGone()
        if not same_secret(row[0], key):
            raise NotTeacher()
        if not self.rates.teacher.take(code, self.clock()):
            raise Refused("Too many actions at once: wait a few seconds.")
        return db, code

    def _changed(self, c, code: str, sets: str = "", args=()) -> None:
        """Bump the room's version (the class's state changed) and its idle clock."""
        c.execute(f"UPDATE rooms SET {sets}version = version + 1, touched = ? WHERE code = ?", (*args, self.clock(), code))

    def push_view(self, code, key, view: dict) -> int:
        """Send `view` (a share link's view dict) to the followers; returns the view's version."""
        db, code = self._teacher_act(code, key)
        text = json.dumps(view)
        if len(text) > MAX_VIEW_CHARS:
            raise Refused("This view is too big to send (a custom schedule of many steps?).")
        with db.writing() as c:
            self._changed(c, code, "view = ?, view_version = view_version + 1, ", (text,))
            version = c.execute("SELECT view_version FROM rooms WHERE code = ?", (code,)).fetchone()[0]
        self.signals.notify(code)
        return version

    def open_poll(self, code, key, poll: Poll) -> int:
        """Ask `poll` in the room (it replaces the current one); returns its id."""
        poll = poll.checked()
        db, code = self._teacher_act(code, key)
        with db.writing() as c:
            pid = c.execute("INSERT INTO polls (room, spec, opened) VALUES (?, ?, ?)", (code, poll.to_json(), self.clock())).lastrowid
            self._changed(c, code, "poll = ?, ", (pid,))
            c.execute("DELETE FROM polls WHERE room = ? AND id NOT IN (SELECT id FROM polls WHERE room = ? ORDER BY id DESC "
                      "LIMIT ?)", (code, code, self.limits.max_polls))
        self.signals.notify(code)
        return pid

    def reveal(self, code, key) -> None:
        """Show the class's answers to the current poll on every page (the poll then takes no answers)."""
        db, code = self._teacher_act(code, key)
        with db.writing() as c:
            pid = c.execute("SELECT poll FROM rooms WHERE code = ?", (code,)).fetchone()[0]
            if pid is None:
                raise Refused("Open a poll first.")
            c.execute("UPDATE polls SET revealed = 1 WHERE id = ?", (pid,))
            self._changed(c, code)
        self.signals.notify(code)

    def end(self, code, key) -> None:
        """End the class: the room, its members, polls and answers are deleted."""
        db, code = self._teacher_act(code, key)
        with db.writing() as c:
            c.execute("DELETE FROM rooms WHERE code = ?", (code,))
        self.signals.forget(code)

    # ------------------------------------------------------------------------ students
    def _wrong(self, client: str) -> None:
        now = self.clock()
        self.rates.wrong_by_client.take(client, now)
        self.rates.wrong_total.take("all", now)

    def join(self, code_text, nickname, client: str, token: str | None = None) -> tuple[str, str]:
        """Join the room `code_text` names: (its code, this page's token). A token this room knows joins as
        the same member (a page reloaded), with a new nickname if one is given."""
        now = self.clock()
        if self.rates.wrong_by_client.full(client, now):
            raise Refused("Too many wrong class codes came from your network: wait 5 minutes, then try again.")
        if self.rates.wrong_total.full("all", now):
            raise Refused("The server is taking no class codes for a minute (too many wrong ones): try again soon.")
        try:
            code = read_code(code_text)
        except Refused:
            self._wrong(client)
            raise
        db, nickname = self.db(), plain(nickname, self.limits.nickname_chars)
        if db.one("SELECT 1 FROM rooms WHERE code = ?", (code,)) is None:
            self._wrong(client)
            raise Refused(f"No class has the code {code}: check it with your teacher.")
        self._room_act(code)
        with db.writing() as c:
            row = c.execute("SELECT id FROM members WHERE room = ? AND token_digest = ?", (code, digest(token))).fetchone() \
                if token else None
            if row is None:
                if c.execute("SELECT COUNT(*) FROM members WHERE room = ?", (code,)).fetchone()[0] >= self.limits.max_members:
                    raise Refused(f"This class is full ({self.limits.max_members} students).")
                token = new_secret()
                row = (c.execute("INSERT INTO members (room, token_digest, nickname, joined) VALUES (?, ?, ?, ?)",
                                 (code, digest(token), nickname, now)).lastrowid,)
            elif nickname:
                c.execute("UPDATE members SET nickname = ? WHERE id = ?", (nickname, row[0]))
            c.execute("UPDATE rooms SET activity = activity + 1, touched = ? WHERE code = ?", (now, code))
        self.signals.heard(code, row[0])
        self.signals.notify(code, everyone=False)
        return code, token

    def _room_act(self, code: str) -> None:
        if not self.rates.room.take(code, self.clock()):
            raise Refused("This class is very busy right now: send it again in a few seconds.")

    def _member_act(self, code, token) -> tuple[RoomDB, str, int]:
        code, db = self._known(code), self.db()
        member = self._member(db, code, token)
        if not self.rates.member.take(f"{code}/{member}", self.clock()):
            raise Refused("You are sending too fast: wait a few seconds.")
        self._room_act(code)
        return db, code, member

    def _member(self, db: RoomDB, code: str, token) -> int:
        row = db.one("SELECT id FROM members WHERE room = ? AND token_digest = ?", (code, digest(token))) if token else None
        if row is None:
            raise RoomGone() if db.one("SELECT 1 FROM rooms WHERE code = ?", (code,)) is None else NotMember()
        return row[0]

    def follow(self, code, token, on: bool) -> dict | None:
        """Follow the teacher (returns the teacher's last view, to apply now: Catch up) or stop (None)."""
        db, code, member = self._member_act(code, token)
        with db.writing() as c:
            c.execute("UPDATE members SET following = ? WHERE id = ?", (int(bool(on)), member))
            c.execute("UPDATE rooms SET activity = activity + 1, touched = ? WHERE code = ?", (self.clock(), code))
            view = c.execute("SELECT view FROM rooms WHERE code = ?", (code,)).fetchone()[0]
        self.signals.notify(code, everyone=False)
        return json.loads(view) if on and view else None

    def answer(self, code, token, poll_id, raw) -> float:
        """This member's answer to poll `poll_id` (it must be the open one); returns the stored value."""
        db, code, member = self._member_act(code, token)
        with db.writing() as c:
            row = c.execute("SELECT p.id, p.spec, p.revealed FROM rooms r JOIN polls p ON p.id = r.poll WHERE r.code = ?",
                            (code,)).fetchone()
            if row is None:
                raise Refused("No question is open right now.")
            if poll_id not in (None, "") and int(poll_id) != row[0]:
                raise Refused("The teacher has asked a new question: answer that one.")
            if row[2]:
                raise Refused("The answers have been revealed: this question is closed.")
            value = read_answer(Poll.from_json(row[1]), raw)
            c.execute("INSERT INTO answers (poll, member, value, at) VALUES (?, ?, ?, ?) ON CONFLICT (poll, member) "
                      "DO UPDATE SET value = excluded.value, at = excluded.at", (row[0], member, value, self.clock()))
            c.execute("UPDATE rooms SET activity = activity + 1, touched = ? WHERE code = ?", (self.clock(), code))
        self.signals.notify(code, everyone=False)
        return value

    # ------------------------------------------------------------------------ every page
    @staticmethod
    def _known(code) -> str:
        try:
            return read_code(code)
        except Refused:
            raise RoomGone() from None

    def whose(self, code, secret) -> int | None:
        """The member `secret` proves a page is (None: the teacher), or `RoomGone` / `NotMember`."""
        code, db = self._known(code), self.db()
        row = db.one("SELECT key_digest FROM rooms WHERE code = ?", (code,))
        if row is None:
            raise RoomGone()
        return None if same_secret(row[0], secret) else self._member(db, code, secret)

    def change_token(self, code: str, teacher: bool) -> str:
        """What a page compares to know the room changed: the class's version (and, for the teacher, its
        activity and how many students are present)."""
        row = self.db().one("SELECT version, activity FROM rooms WHERE code = ?", (code,))
        if row is None:
            raise RoomGone()
        return f"{row[0]}.{row[1]}.{len(self.signals.present(code))}" if teacher else str(row[0])

    def state(self, code, secret) -> RoomState:
        """What the page holding `secret` (the teacher key or a student's token) shows of room `code`."""
        member = self.whose(code, secret)
        code, db = self._known(code), self.db()
        version, activity, view, view_version, pid = db.one(
            "SELECT version, activity, view, view_version, poll FROM rooms WHERE code = ?", (code,))
        members = {m: (name, bool(f)) for m, name, f in db.rows("SELECT id, nickname, following FROM members WHERE room = ?", (code,))}
        present = self.signals.present(code) & set(members)
        poll_row = db.one("SELECT spec, revealed FROM polls WHERE id = ?", (pid,)) if pid is not None else None
        poll, revealed = (Poll.from_json(poll_row[0]), bool(poll_row[1])) if poll_row else (None, False)
        answers = dict(db.rows("SELECT member, value FROM answers WHERE poll = ?", (pid,))) if poll else {}
        name, following = members.get(member, ("", False))
        names = sorted(members[m][0] for m in present if members[m][0])[:MAX_NAMES_SHOWN] if member is None else ()
        return RoomState(code=code, teacher=member is None, nickname=name, following=following,
                         view=json.loads(view) if view else None, view_version=view_version, poll=poll,
                         poll_id=pid if poll else None, revealed=revealed, my_answer=answers.get(member),
                         tally=tally(poll, answers.values()) if poll and revealed else None, joined=len(members),
                         present=len(present), followers=sum(members[m][1] for m in present), answered=len(answers),
                         names=tuple(names),
                         change=f"{version}.{activity}.{len(present)}" if member is None else str(version))

    async def next_change(self, code_text, secret, since: str, client: str) -> str:
        """A long poll: the page's change token as soon as it differs from `since`, or after `Limits.wait_s`.
        A page that cannot prove it is in the room gets `NotMember` whether or not the room exists (no answer
        tells a guesser that a code is live), and its client only so many of those a minute."""
        now = self.clock()
        if self.rates.bad_waits.full(client, now):
            raise Refused("Too many refused requests came from your network: wait a minute.")
        try:
            code = self._known(code_text)
            member = await asyncio.to_thread(self.whose, code, secret)
        except (RoomGone, NotMember):
            self.rates.bad_waits.take(client, now)
            raise NotMember() from None
        if not self.rates.waits.take(f"{code}/{member}", now):
            raise Refused("This page asks too often: wait a few seconds.")
        if self.signals.waiting(code) >= self.limits.waiters_per_room or self.signals.waiting() >= self.limits.waiters_total:
            raise Refused("Too many pages are waiting on this server: try again in a few seconds.")
        with self.signals.listening(code, member) as change:
            token = await asyncio.to_thread(self.change_token, code, member is None)
            if token == since:
                try:
                    await asyncio.wait_for(change, self.limits.wait_s)
                except asyncio.TimeoutError:
                    pass
                token = await asyncio.to_thread(self.change_token, code, member is None)
        return token


_SHARED: dict[str, Classroom] = {}
_SHARED_LOCK = threading.Lock()


def shared_classroom() -> Classroom:
    """The server's one `Classroom` for the database its settings name (`paths.rooms_db_path()`)."""
    path = str(rooms_db_path())
    with _SHARED_LOCK:
        if path not in _SHARED:
            _SHARED[path] = Classroom(path)
        return _SHARED[path]
