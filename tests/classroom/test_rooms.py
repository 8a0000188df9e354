"""Rooms of a class, as the library keeps them: the teacher key checked on every teacher action, students'
answers (one per poll), the bounds and rate limits of a public Space, and the long poll's wake-ups."""
import asyncio
import contextlib
import html
import sqlite3
import threading

import pytest

from diffusion_core.app.classroom import classroom_views as cv
from diffusion_core.classroom.polls import NUMBER_BINS, Poll, Refused, free_poll
from diffusion_core.classroom.room_codes import ALPHABET, CODE_LENGTH, read_code
from diffusion_core.classroom.room_limits import Limits
from diffusion_core.classroom.rooms import Classroom, NotMember, NotTeacher, RoomGone

CHOICES = Poll(question="Which?", choices=("a", "b", "c"))
HOSTILE = "<img src=x onerror=alert(1)>"


class Clock:
    def __init__(self, now=1_000_000.0):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def room(tmp_path):
    clock = Clock()
    c = Classroom(tmp_path / "rooms.sqlite3", limits=Limits(max_members=4, max_rooms=3), clock=clock)
    code, key = c.start("10.0.0.1")
    _, ann = c.join(code, "ann", "10.0.0.2")
    _, bob = c.join(code, HOSTILE, "10.0.0.2")
    yield c, code, key, ann, bob, clock
    c.close()


def test_codes_are_short_unambiguous_and_forgiving(room):
    c, code, *_ = room
    assert len(code) == CODE_LENGTH and set(code) <= set(ALPHABET) and not set("ILOU") & set(code)
    assert read_code(f" {code[:3].lower()}-{code[3:]} ") == code
    assert read_code("o1l2345") == "0112345"  # O reads as 0, I and L as 1
    for bad in ("", "ABC", "ABCDEFGH", "ABCDEF!", "<script>"):
        with pytest.raises(Refused, match="is not a class code"):
            read_code(bad)


def test_every_teacher_action_needs_the_teacher_key(room):
    c, code, key, ann, _, _ = room
    actions = (lambda k: c.push_view(code, k, {"tab": "forward"}), lambda k: c.open_poll(code, k, CHOICES),
               lambda k: c.reveal(code, k), lambda k: c.end(code, k))
    for act in actions:
        for forged in (ann, "", None, key[:-1] + ("A" if key[-1] != "A" else "B")):
            with pytest.raises(NotTeacher, match="Only the teacher's page"):
                act(forged)
    c.push_view(code, key, {"tab": "reverse", "steps": 3})
    assert c.state(code, ann).view == {"tab": "reverse", "steps": 3}
    with sqlite3.connect(c.path) as raw:  # the database holds digests of the secrets, never the secrets
        dump = "\n".join(raw.iterdump())
    assert key not in dump and ann not in dump
    with pytest.raises(RoomGone):
        c.reveal("ZZZZZZZ", key)


def test_one_answer_per_student_per_poll_until_reveal(room):
    c, code, key, ann, bob, _ = room
    with pytest.raises(Refused, match="No question is open"):
        c.answer(code, ann, None, "a")
    pid = c.open_poll(code, key, CHOICES)
    c.answer(code, ann, pid, "a")
    c.answer(code, ann, pid, "c")  # replaces
    c.answer(code, bob, pid, 1)
    teacher = c.state(code, key)
    assert teacher.answered == 2 and teacher.tally is None  # counts before Reveal, no histogram
    for bad in ("d", 3, -1, True, "", None):
        with pytest.raises(Refused):
            c.answer(code, ann, pid, bad)
    c.reveal(code, key)
    tally = c.state(code, ann).tally
    assert tally.counts == (0, 1, 1) and tally.total == 2 and c.state(code, ann).my_answer == 2
    with pytest.raises(Refused, match="revealed"):
        c.answer(code, ann, pid, "b")
    newer = c.open_poll(code, key, Poll(question="When?", low=0, high=999, whole=True))
    with pytest.raises(Refused, match="new question"):
        c.answer(code, bob, pid, "a")
    for value in (0, 99, 100, 999, 512.6):
        c.answer(code, bob, newer, value)
    with pytest.raises(Refused, match="from 0 to 999"):
        c.answer(code, bob, newer, 1000)
    c.reveal(code, key)
    tally = c.state(code, key).tally
    assert len(tally.counts) == NUMBER_BINS and tally.counts[5] == 1 and tally.labels[0] == "0–99"


def test_free_questions_are_plain_text_and_bounded():
    poll = free_poll("Is <b>this</b> bold?\x00", "yes\n\n<script>x</script>\nno\n")
    assert poll.question == "Is <b>this</b> bold?" and poll.choices == ("yes", "<script>x</script>", "no")
    for question, choices in (("", "a\nb"), ("q", "only one"), ("q", "\n".join("abcdefg")), ("q", "a\na"),
                              ("q" * 201, "a\nb"), ("q", "a\n" + "b" * 61)):
        with pytest.raises(Refused):
            free_poll(question, choices)


def test_a_hostile_nickname_is_stored_as_text_and_shown_escaped(room):
    c, code, key, *_ = room
    state = c.state(code, key)
    assert any(name.startswith("<img src=x") for name in state.names)
    shown = cv.presence_html(state)
    assert "<img" not in shown and html.escape("<img src=x") in shown


def test_a_page_that_is_not_in_the_room_is_refused(room):
    c, code, key, ann, *_ = room
    with pytest.raises(NotMember):
        c.state(code, "someone-else")
    with pytest.raises(NotMember):
        c.answer(code, "someone-else", None, "a")
    c.end(code, key)
    for act in (lambda: c.state(code, ann), lambda: c.follow(code, ann, True), lambda: c.state(code, key)):
        with pytest.raises(RoomGone, match="has ended"):
            act()


def test_sizes_are_bounded(room):
    c, code, key, ann, _, _ = room
    _, again = c.join(code, "ann again", "10.0.0.2", token=ann)  # a reloaded page is the same student
    assert again == ann and c.state(code, key).joined == 2
    c.join(code, "", "10.0.0.3")
    c.join(code, "", "10.0.0.3")
    with pytest.raises(Refused, match="class is full"):
        c.join(code, "", "10.0.0.3")
    c.start("10.0.0.9")
    c.start("10.0.0.9")
    with pytest.raises(Refused, match="as many classes as it can"):
        c.start("10.0.0.9")


def test_wrong_codes_are_limited_per_client_and_other_clients_go_on(room):
    c, code, *_ = room
    wrong = next(x for x in ("0000000", "1111111") if x != code)
    for _ in range(c.limits.wrong_codes_per_client):
        with pytest.raises(Refused, match="No class has the code"):
            c.join(wrong, "", "6.6.6.6")
    with pytest.raises(Refused, match="Too many wrong class codes"):
        c.join(code, "", "6.6.6.6")  # even the right code, from this client, for a while
    assert c.join(code, "", "10.0.0.5")[0] == code  # another client joins


def test_a_flood_of_answers_is_refused_with_a_message_and_other_rooms_go_on(room):
    c, code, key, ann, bob, clock = room
    pid = c.open_poll(code, key, CHOICES)
    refused = 0
    for k in range(200):
        try:
            c.answer(code, ann, pid, k % 3)
        except Refused as exc:
            assert "too fast" in str(exc)
            refused += 1
    assert refused == 200 - c.limits.member_acts
    c.answer(code, bob, pid, "b")  # another student of the same room
    other, other_key = c.start("10.0.0.7")
    _, cid = c.join(other, "", "10.0.0.8")
    c.answer(other, cid, c.open_poll(other, other_key, CHOICES), "a")  # another room
    clock.now += 11
    c.answer(code, ann, pid, "a")  # the window has passed


def test_long_polls_wake_on_a_change_and_only_whom_it_concerns(room):
    c, code, key, ann, bob, _ = room

    async def scenario():
        student = asyncio.create_task(c.next_change(code, ann, c.state(code, ann).change, "10.0.0.2"))
        teacher = asyncio.create_task(c.next_change(code, key, c.state(code, key).change, "10.0.0.1"))
        await asyncio.sleep(0.2)
        pid = await asyncio.to_thread(c.open_poll, code, key, CHOICES)
        await asyncio.wait_for(asyncio.gather(student, teacher), 2)
        student = asyncio.create_task(c.next_change(code, ann, c.state(code, ann).change, "10.0.0.2"))
        teacher = asyncio.create_task(c.next_change(code, key, c.state(code, key).change, "10.0.0.1"))
        await asyncio.sleep(0.2)
        await asyncio.to_thread(c.answer, code, bob, pid, "a")  # only the teacher's counts change
        await asyncio.wait_for(teacher, 2)
        await asyncio.sleep(0.3)
        assert not student.done()
        student.cancel()
        for wrong in (next(x for x in ("0000000", "1111111") if x != code), code):  # an unknown room, a wrong secret:
            with pytest.raises(NotMember):  # one answer, so a guesser learns nothing
                await c.next_change(wrong, "x" * 20, "", "10.0.0.4")
        for _ in range(c.limits.bad_waits_per_client - 2):  # the two above counted too
            with contextlib.suppress(NotMember):
                await c.next_change(code, "guess", "", "10.0.0.4")
        with pytest.raises(Refused, match="Too many refused requests"):
            await c.next_change(code, ann, "", "10.0.0.4")

    run_apart(scenario)
    assert c.signals.waiting() == 0


def run_apart(scenario) -> None:
    """asyncio.run(scenario()) in a thread of its own (a browser test's playwright may hold this thread's loop)."""
    failed = []
    worker = threading.Thread(target=lambda: failed.extend(catch(lambda: asyncio.run(scenario()))))
    worker.start()
    worker.join(30)
    if failed:
        raise failed[0]


def catch(fn) -> list:
    try:
        fn()
    except BaseException as exc:  # noqa: BLE001 - handed back to the test's thread
        return [exc]
    return []
