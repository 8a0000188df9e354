"""The Class panel, above the tabs so it is reachable from every one: a teacher starts a class (code, link,
QR code), sends their view, asks the lessons' questions as live polls and reveals the class's answers; a
student joins by code or link, follows the teacher (or explores and catches up) and answers. Layout and
wiring only: the handlers are in `classroom_ui`, the page's JavaScript in `room_page`.

The app wires the two things that span the tabs (`app.py`): `push_btn` sends the current tab's view
(a share link's view), and `view_events(view)` gives the events after which a follower's page applies the
teacher's view with the links' own code.
"""
from __future__ import annotations

from types import SimpleNamespace

import gradio as gr

from diffusion_core.app.classroom import classroom_ui as cui
from diffusion_core.app.classroom.lesson_polls import poll_titles
from diffusion_core.app.classroom.room_page import RECALL_JS, REMEMBER_JS, WAIT_JS
from diffusion_core.app.common import LATEX, guard, private
from diffusion_core.classroom.polls import MAX_CHOICE, MAX_CHOICES, MAX_QUESTION

room_api = dict(queue=False, api_visibility="public")  # cheap database calls: never a queue slot


def build_lobby() -> SimpleNamespace:
    with gr.Row(elem_id="class-lobby") as lobby:
        start_btn = gr.Button("Start a class (teacher)", elem_id="class-start", scale=1, min_width=160)
        join_code = gr.Textbox(label="Class code (student)", placeholder="7 letters and digits", max_length=20,
                               elem_id="class-join-code", scale=1, min_width=160)
        nickname = gr.Textbox(label="Nickname (optional)", max_length=24, elem_id="class-nick", scale=1, min_width=140)
        join_btn = gr.Button("Join", variant="primary", elem_id="class-join", scale=0, min_width=100)
    return SimpleNamespace(lobby=lobby, start_btn=start_btn, join_code=join_code, nickname=nickname, join_btn=join_btn)


def build_teacher_box() -> SimpleNamespace:
    titles = poll_titles()
    with gr.Column(visible=False, elem_id="class-teacher") as box:
        with gr.Row():
            invite = gr.HTML(elem_id="class-invite")
            qr = gr.Image(type="pil", format="png", interactive=False, show_label=False, height=190, width=190,
                          elem_id="class-qr", buttons=["fullscreen"], min_width=190, scale=0)
            presence = gr.HTML(elem_id="class-presence")
        with gr.Row():
            push_btn = gr.Button("Send my view to the class", variant="primary", elem_id="class-push")
            end_btn = gr.Button("End class", variant="stop", elem_id="class-end", scale=0, min_width=120)
        with gr.Row():
            pick = gr.Dropdown(titles, value=titles[0], label="Question to ask", elem_id="class-poll-pick", scale=3)
            open_btn = gr.Button("Open poll", elem_id="class-open-poll", scale=1, min_width=110)
            reveal_btn = gr.Button("Reveal", elem_id="class-reveal", scale=1, min_width=110)
        with gr.Accordion("A question of my own", open=False):
            own_q = gr.Textbox(label="Question", max_length=MAX_QUESTION, elem_id="class-own-question")
            own_choices = gr.Textbox(label=f"Choices, one per line (2 to {MAX_CHOICES}, up to {MAX_CHOICE} characters each)",
                                     lines=3, elem_id="class-own-choices")
    return SimpleNamespace(teacher_box=box, invite=invite, qr=qr, presence=presence, push_btn=push_btn, end_btn=end_btn,
                           pick=pick, open_btn=open_btn, reveal_btn=reveal_btn, own_q=own_q, own_choices=own_choices)


def build_student_box() -> SimpleNamespace:
    with gr.Row(visible=False, elem_id="class-student") as box:
        follow = gr.Checkbox(True, label="Follow the teacher (uncheck to explore)", elem_id="class-follow")
        catch_btn = gr.Button("Catch up", elem_id="class-catch-up", scale=0, min_width=120)
    with gr.Column(visible=False, elem_id="class-poll-box") as poll_box:
        poll_html = gr.HTML(elem_id="class-poll")
        choice = gr.Radio([], label="Your answer", visible=False, elem_id="class-choice")
        number = gr.Number(label="Your answer", visible=False, elem_id="class-number")
        send_btn = gr.Button("Send answer", visible=False, elem_id="class-send")
        results = gr.HTML(elem_id="class-results")
        answer_md = gr.Markdown(latex_delimiters=LATEX, elem_id="class-answer")
    return SimpleNamespace(student_box=box, follow=follow, catch_btn=catch_btn, poll_box=poll_box, poll_html=poll_html,
                           choice=choice, number=number, send_btn=send_btn, results=results, answer_md=answer_md)


def build_class_panel() -> SimpleNamespace:
    """Lay out the panel and wire its own events; returns its parts, `load(demo)` and `view_events(view)`."""
    with gr.Accordion(cui.LOBBY_LABEL, open=False, elem_id="class-panel") as accordion:
        status = gr.HTML(elem_id="class-status")
        ns = SimpleNamespace(accordion=accordion, status=status, **vars(build_lobby()), **vars(build_teacher_box()),
                             **vars(build_student_box()))
        # The page's room (never in a link): code, secret (teacher key or student token), role, last drawn change.
        ns.code, ns.secret, ns.role, ns.change = (gr.Textbox(visible=False, label=n) for n in ("code", "secret", "role", "change"))
        ns.pushed = gr.Textbox(visible=False, label="pushed view")
        ns.seen = gr.State({})
        ns.sync_btn = gr.Button("sync", visible="hidden", elem_id="class-sync")
    panel = [getattr(ns, name) for name in cui.PANEL]
    keep = [ns.code, ns.secret, ns.role, ns.change]

    def remember(dep):
        return dep.then(None, keep, None, js=REMEMBER_JS, **private)

    remember(ns.start_btn.click(guard(cui.start_class), None, panel + [ns.invite, ns.qr], api_name="class_start", **room_api))
    ns.joined = ns.join_btn.click(guard(cui.join_class), [ns.join_code, ns.nickname, ns.code, ns.secret],
                                  panel + [ns.pushed], api_name="class_join", **room_api)
    ns.synced = ns.sync_btn.click(guard(cui.redraw_room), [ns.code, ns.secret, ns.seen], panel + [ns.pushed], api_name="class_sync",
                                  trigger_mode="always_last", show_progress="hidden", **room_api)
    ns.followed = ns.follow.input(guard(cui.set_following), [ns.code, ns.secret, ns.follow, ns.seen], panel + [ns.pushed],
                                  api_name="class_follow", **room_api)
    ns.caught_up = ns.catch_btn.click(guard(cui.catch_up), [ns.code, ns.secret, ns.seen], panel + [ns.pushed], **private,
                                      queue=False)
    for dep in (ns.joined, ns.synced, ns.followed, ns.caught_up):
        remember(dep)
    ns.open_btn.click(guard(cui.open_poll), [ns.code, ns.secret, ns.pick, ns.own_q, ns.own_choices, ns.seen], panel,
                      api_name="class_poll", **room_api)
    ns.reveal_btn.click(guard(cui.reveal_poll), [ns.code, ns.secret, ns.seen], panel, api_name="class_reveal", **room_api)
    remember(ns.end_btn.click(guard(cui.end_class), [ns.code, ns.secret], panel, api_name="class_end", **room_api))
    ns.send_btn.click(guard(cui.send_answer), [ns.code, ns.secret, ns.seen, ns.choice, ns.number], panel,
                      api_name="class_answer", **room_api)

    with accordion:  # API only: a script sends a view as JSON (each setting checked as a link's)
        view_json = gr.Textbox(visible=False, label="view (JSON)")
        gr.Button(visible=False).click(guard(cui.push_view_json), [ns.code, ns.secret, view_json], ns.status,
                                       api_name="class_push", **room_api)

    def load(demo):
        """On page load: the room this browser was in (or the link's), then the wait for its changes."""
        dep = demo.load(None, None, [ns.code, ns.secret], js=RECALL_JS, **private)
        ns.resumed = dep.then(guard(cui.resume_class), [ns.code, ns.secret], panel + [ns.invite, ns.qr, ns.pushed],
                              **private, queue=False)
        remember(ns.resumed)
        demo.load(None, None, None, js=WAIT_JS, **private)

    def view_events(view):
        """The events after which a following student's page applies the teacher's view (into `view`)."""
        return [dep.success(cui.pass_view, ns.pushed, view, **private, queue=False)
                for dep in (ns.joined, ns.synced, ns.followed, ns.caught_up, ns.resumed)]

    ns.load, ns.view_events = load, view_events
    return ns
