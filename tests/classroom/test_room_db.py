"""The classroom's database: a restart keeps a room, its polls and answers; idle rooms are deleted with
everything in them; a damaged, locked or newer file gives a sentence a teacher can act on."""
import sqlite3

import pytest

from diffusion_core.classroom import room_db
from diffusion_core.classroom.polls import Poll
from diffusion_core.classroom.room_db import SCHEMA_VERSION, RoomDB, RoomsUnavailable
from diffusion_core.classroom.room_limits import Limits
from diffusion_core.classroom.rooms import Classroom, RoomGone
from diffusion_core.paths import ROOMS_DB_ENV

CHOICES = Poll(question="Which?", choices=("a", "b"), lesson="forward", after_reveal="the answer")


def counts(path) -> dict:
    with sqlite3.connect(path) as raw:
        return {t: raw.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("rooms", "members", "polls", "answers")}


def test_a_restart_keeps_the_room_its_poll_and_answers(tmp_path):
    path = tmp_path / "rooms.sqlite3"
    before = Classroom(path)
    code, key = before.start("t")
    tokens = [before.join(code, f"s{k}", "s")[1] for k in range(3)]
    before.push_view(code, key, {"tab": "forward", "t": 600})
    pid = before.open_poll(code, key, CHOICES)
    for k, token in enumerate(tokens):
        before.answer(code, token, pid, k % 2)
    before.close()  # the process ends ...
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    after = Classroom(path)  # ... and a new one serves the same class
    assert after.state(code, key).answered == 3 and after.state(code, tokens[0]).view == {"tab": "forward", "t": 600}
    after.reveal(code, key)
    state = after.state(code, tokens[2])
    assert state.poll == CHOICES and state.tally.counts == (2, 1) and state.my_answer == 0
    after.close()


def test_idle_rooms_expire_with_their_members_polls_and_answers(tmp_path):
    path, now = tmp_path / "rooms.sqlite3", [1e6]
    c = Classroom(path, limits=Limits(idle_s=3600), clock=lambda: now[0])
    old, old_key = c.start("t")
    _, token = c.join(old, "", "s")
    c.answer(old, token, c.open_poll(old, old_key, CHOICES), "a")
    now[0] += 1800
    kept, kept_key = c.start("t")
    c.join(kept, "", "s")
    now[0] += 1801  # `old` idle for over an hour, `kept` for half an hour
    with pytest.raises(RoomGone):
        c.state(old, old_key)
    assert counts(path) == {"rooms": 1, "members": 1, "polls": 0, "answers": 0}
    assert c.state(kept, kept_key).joined == 1
    c.close()


def test_a_damaged_file_says_so_and_what_to_do(tmp_path):
    path = tmp_path / "rooms.sqlite3"
    path.write_bytes(b"this is not a database, just bytes " * 200)
    c = Classroom(path)
    problem = c.problem()
    assert "damaged" in problem and ROOMS_DB_ENV in problem and "Everything else in the app works" in problem
    assert str(tmp_path) not in problem  # the server's folders stay private
    with pytest.raises(RoomsUnavailable, match="damaged"):
        c.start("t")


def test_a_locked_file_says_so_and_serves_again_once_free(tmp_path, monkeypatch):
    monkeypatch.setattr(room_db, "BUSY_TIMEOUT_S", 0.2)
    path = tmp_path / "rooms.sqlite3"
    c = Classroom(path)
    code, key = c.start("t")
    other = sqlite3.connect(path, isolation_level=None)  # another program holds the write lock
    other.execute("BEGIN EXCLUSIVE")
    with pytest.raises(RoomsUnavailable, match="locked by another program"):
        c.open_poll(code, key, CHOICES)
    other.execute("ROLLBACK")
    other.close()
    assert c.open_poll(code, key, CHOICES) > 0
    c.close()


def test_migrations_bring_an_old_file_up_and_a_newer_file_is_refused(tmp_path):
    path = tmp_path / "rooms.sqlite3"
    sqlite3.connect(path).close()  # an empty file: version 0
    db = RoomDB(path)
    assert db.schema_version() == SCHEMA_VERSION
    db.close()
    db = RoomDB(path)  # opening again applies nothing twice
    assert db.schema_version() == SCHEMA_VERSION
    db.close()
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    with pytest.raises(RoomsUnavailable, match="newer version"):
        RoomDB(path)


def test_a_folder_that_cannot_hold_the_file_says_which_setting_to_change(tmp_path):
    blocker = tmp_path / "a file"
    blocker.write_text("x")
    with pytest.raises(RoomsUnavailable, match=ROOMS_DB_ENV):
        RoomDB(blocker / "rooms.sqlite3")
