"""The Class panel's handlers: each calls `Classroom` (the server's one, `shared_classroom()`) and draws
the panel from the room's state (`render`), in the order of `PANEL`.

A page keeps its room in four hidden boxes: the code, its secret (the teacher key, or this student's
token; never in a link), its role and the change token it last drew, plus `seen` (the poll, reveal and
view it has shown). A student who follows gets the teacher's newer view in `pushed` (a view's JSON, as a
share link gives it), which the app applies with the links' own code; "" applies nothing.
"""
from __future__ import annotations

import json
from urllib.parse import parse_qsl

import gradio as gr

from diffusion_core.app import view_state as vs
from diffusion_core.app.classroom import classroom_views as cv
from diffusion_core.app.classroom.lesson_polls import after_reveal_sentence, answer_markdown, poll_for, right_choice
from diffusion_core.classroom.polls import Refused
from diffusion_core.classroom.rooms import NotMember, RoomGone, RoomState, shared_classroom

# The panel's parts every handler draws, in this order (`classroom_tab` lays them out).
PANEL = ("accordion", "status", "lobby", "teacher_box", "student_box", "presence", "follow", "poll_box", "poll_html",
         "choice", "number", "send_btn", "results", "answer_md", "code", "secret", "role", "change", "seen")
ENDED = "The class has ended."
LOBBY_LABEL = "Class: start one, or join with a code"


def client_of(request: gr.Request | None) -> str:
    """The client's address as the server sees it (the key of the per-client limits)."""
    client = getattr(request, "client", None) if request else None
    return str(getattr(client, "host", None) or "unknown")


def page_of(request: gr.Request | None) -> str | None:
    return request.headers.get("referer") if request else None


def render(state: RoomState | None, seen: dict, message: str | None = "", warn: bool = False, opening: bool = False) -> tuple:
    """Every part of the panel (`PANEL`) for `state` (None: not in a class). `seen` is what the page showed
    before; parts that did not change are skipped (a student's half-chosen answer stays), and so is the
    panel's line when `message` is None (a redraw keeps the last action's words)."""
    seen = dict(seen or {})
    if state is None:
        hidden = gr.update(visible=False)
        return (gr.update(label=LOBBY_LABEL, **({"open": True} if opening else {})), cv.note_html(message, warn), gr.update(visible=True), hidden,
                hidden, "", gr.skip(), hidden, "", gr.update(visible=False, value=None), gr.update(visible=False, value=None),
                hidden, "", "", "", "", "", "", {})
    student, poll = not state.teacher, state.poll
    new_poll = seen.get("poll") != state.poll_id or seen.get("revealed") != state.revealed
    asking = student and poll is not None and not state.revealed
    mine = None if state.my_answer is None or poll is None else cv.answer_text(poll, state.my_answer)
    choice = gr.update(choices=list(poll.choices), value=mine, visible=asking and not poll.numeric) \
        if new_poll and poll is not None else gr.update(visible=False) if poll is None else gr.skip()
    number = gr.update(value=state.my_answer, minimum=poll.low, maximum=poll.high, visible=asking and poll.numeric,
                       label=f"Your answer ({poll.range_text()})") if new_poll and poll is not None else \
        gr.update(visible=False) if poll is None else gr.skip()
    answer = answer_markdown(poll, state.tally) if new_poll and poll is not None else "" if poll is None else gr.skip()
    who = "You are the teacher of class" if state.teacher else "You are in class"
    nick = f" as {state.nickname}" if state.nickname and student else ""
    line = gr.skip() if message is None else cv.note_html(message or f"{who} {state.code}{nick}.", warn)
    seen.update(poll=state.poll_id, revealed=state.revealed, numeric=bool(poll and poll.numeric))
    label = f"Your class {state.code}" if state.teacher else f"Class {state.code}"
    unfold = opening or (student and new_poll and poll is not None)  # a new question or a reveal: open the panel
    return (gr.update(label=label, **({"open": True} if unfold else {})),
            line, gr.update(visible=False), gr.update(visible=state.teacher), gr.update(visible=student),
            cv.presence_html(state) if state.teacher else "", gr.update(value=state.following) if opening else gr.skip(),
            gr.update(visible=poll is not None), cv.poll_html(state, after_reveal_sentence(poll)) if poll else "", choice,
            number, gr.update(visible=asking), cv.histogram_html(state.tally, right_choice(poll) if poll else None),
            answer, state.code, gr.skip(), "teacher" if state.teacher else "student", state.change, seen)


def with_view(state: RoomState, panel: tuple, force: bool = False) -> tuple:
    """`panel` and the view a following student applies now (its JSON; "" for none): the teacher's view when
    newer than the one this page applied, or whenever `force` (Catch up)."""
    seen = panel[-1]
    due = (not state.teacher and state.following and state.view is not None
           and (force or state.view_version > seen.get("view", 0)))
    if not state.teacher and state.following:
        seen["view"] = state.view_version
    return panel + (json.dumps(state.view) if due else "",)


def gone(message: str = ENDED) -> tuple:
    """The panel of a page whose class is over (or never was), with nothing to apply."""
    return render(None, {}, message, warn=True)


# ---------------------------------------------------------------------------- the teacher
def start_class(request: gr.Request):
    """A new class: the panel, the invitation (code and link) and the QR code of the link."""
    classroom = shared_classroom()
    code, key = classroom.start(client_of(request))
    link = cv.join_link(page_of(request), code)
    panel = list(render(classroom.state(code, key), {}, f"Your class is open. Students join with the code {code}.",
                        opening=True))
    panel[PANEL.index("secret")] = key
    return (*panel, cv.invite_html(code, link), cv.qr_image(link))


def as_link_view(view: dict) -> dict:
    """`view` exactly as its share link carries it: through the link's query and back, each value checked by
    `view_state` (one that fails is left out, as a link leaves it out)."""
    return vs.parse_query(dict(parse_qsl(vs.to_query(view))))[0]


def push_view(code, secret, view: dict) -> str:
    """Send the teacher's current view (a tab's `view_of`) to the class; the panel's line says so."""
    view = as_link_view(view)
    shared_classroom().push_view(code, secret, view)
    return cv.note_html(f"Sent: the {view.get('tab', 'forward')} tab and its settings, to everyone who follows.")


def push_view_json(code, secret, view_json) -> str:
    """`push_view` for API clients: the view as JSON (a dict of a share link's settings, each checked)."""
    try:
        view = json.loads(str(view_json or "")[:65536])
    except ValueError:
        raise Refused("The view is not JSON: send a dict such as {\"tab\": \"forward\", \"t\": 600}.") from None
    if not isinstance(view, dict):
        raise Refused("The view is not a dict of settings.")
    return push_view(code, secret, view)


def open_poll(code, secret, title, question, choices_text, seen):
    classroom = shared_classroom()
    classroom.open_poll(code, secret, poll_for(title, question, choices_text))
    return render(classroom.state(code, secret), seen, "The question is open: answers arrive below.")


def reveal_poll(code, secret, seen):
    classroom = shared_classroom()
    classroom.reveal(code, secret)
    return render(classroom.state(code, secret), seen, "Revealed on every page.")


def end_class(code, secret):
    shared_classroom().end(code, secret)
    return render(None, {}, ENDED)


# ---------------------------------------------------------------------------- students
def join_class(code_text, nickname, code, secret, request: gr.Request):
    """Join by code; a page that was in this class already (its token) joins as the same student."""
    classroom = shared_classroom()
    room, token = classroom.join(code_text, nickname, client_of(request), secret if secret and code else None)
    state = classroom.state(room, token)
    panel = list(render(state, {}, opening=True))
    panel[PANEL.index("secret")] = token
    return with_view(state, tuple(panel))


def resume_class(code, secret, request: gr.Request):
    """On page load: join the class in the link (`?room=CODE`), or come back to the one this browser was in
    (the teacher stays the teacher); otherwise say why classes are off, if they are. Returns the panel, the
    teacher's invitation and QR code, and the view to apply."""
    classroom = shared_classroom()
    linked = request.query_params.get("room") if request else None
    keep = (gr.skip(), gr.skip())
    try:
        if linked and not (code and secret and linked.strip().upper() == code):
            joined = join_class(linked, "", code, secret, request)
            return joined[:-1] + keep + joined[-1:]
        if not (code and secret):
            problem = classroom.problem()
            return render(None, {}, problem or "", warn=bool(problem)) + keep + ("",)
        state = classroom.state(code, secret)
    except (RoomGone, NotMember):
        return gone() + keep + ("",)
    except Refused as exc:
        return render(None, {}, str(exc), warn=True, opening=True) + keep + ("",)
    panel = with_view(state, render(state, {}, opening=True))
    if not state.teacher:
        return panel[:-1] + keep + panel[-1:]
    link = cv.join_link(page_of(request), state.code)
    return panel[:-1] + (cv.invite_html(state.code, link), cv.qr_image(link)) + panel[-1:]


def redraw_room(code, secret, seen):
    """The room changed (the page's long poll said so): draw it again; a follower gets the new view."""
    if not code:
        return gone("") + ("",)
    try:
        state = shared_classroom().state(code, secret)
    except (RoomGone, NotMember):
        return gone() + ("",)
    return with_view(state, render(state, seen, None))


def set_following(code, secret, on, seen):
    """Follow the teacher again (their view applies now: Catch up) or stop and explore."""
    classroom = shared_classroom()
    classroom.follow(code, secret, bool(on))
    state = classroom.state(code, secret)
    line = "You follow the teacher." if on else "You explore on your own: Catch up brings back the teacher's view."
    return with_view(state, render(state, seen, line), force=bool(on))


def catch_up(code, secret, seen):
    panel = list(set_following(code, secret, True, seen))
    panel[PANEL.index("follow")] = True
    return tuple(panel)


def send_answer(code, secret, seen, choice, number):
    """This student's answer to the question the page shows (a choice, or a number for a number question)."""
    seen = seen or {}
    classroom = shared_classroom()
    numeric = seen.get("numeric") or (choice in (None, "") and number is not None)  # an API call has no `seen`
    classroom.answer(code, secret, seen.get("poll"), number if numeric else choice)
    return render(classroom.state(code, secret), seen, "Answer sent. You can change it until Reveal.")


def pass_view(pushed: str) -> str:
    """The view to apply, or a silent stop of the chain when there is none."""
    if not pushed:
        raise gr.Error("no view to apply", visible=False, print_exception=False)
    return pushed
