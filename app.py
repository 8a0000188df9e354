"""Diffusion Classroom: an interactive Gradio app for learning how diffusion models work.

Layout and wiring only: each tab lives in its folder of `diffusion_core/app/`, and every callback calls one function of
`diffusion_core`. This file puts the tabs together and wires the views that span them: the
shareable link (?tab=...&<that tab's settings>), the lessons' "Show me" buttons with the banner they
leave on the tab they open, presenter mode, the Class panel (the teacher's view sent to the students who
follow, applied like a link), and the server's limits (`diffusion_core.app.traffic`).

Run: `python app.py` (http://127.0.0.1:7860). Set GRADIO_SERVER_NAME=0.0.0.0 to serve on a network.
"""
from __future__ import annotations

import gc
import html
import json
import os
import sys

from diffusion_core.paths import UPLOAD_DIR, reset_work_dir

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1" if not os.environ.get("DIFFUSION_CLASSROOM_HUB_REPO") else "0")
os.environ.setdefault("GRADIO_TEMP_DIR", str(UPLOAD_DIR))  # uploads and outputs: this process's own folder

import gradio as gr  # noqa: E402

from diffusion_core.app.compare import compare_ui as cui  # noqa: E402
from diffusion_core.app.learn import lessons as ls  # noqa: E402
from diffusion_core.app.reverse import reverse_ui as rui  # noqa: E402
from diffusion_core.app import view_state as vs  # noqa: E402
from diffusion_core.app.compare import compare_tab  # noqa: E402
from diffusion_core.app.forward import forward_tab  # noqa: E402
from diffusion_core.app.learn import learn_tab  # noqa: E402
from diffusion_core.app.reverse import reverse_tab  # noqa: E402
from diffusion_core.app.race import race_tab  # noqa: E402
from diffusion_core.app.score import score_tab  # noqa: E402
from diffusion_core.app.text import text_tab  # noqa: E402
from diffusion_core.app.cost import cost_tab  # noqa: E402
from diffusion_core.app import tutor  # noqa: E402
from diffusion_core.app.classroom import classroom_tab  # noqa: E402
from diffusion_core.app.classroom import classroom_ui as room_ui  # noqa: E402
from diffusion_core.app.classroom.room_events import RoomEvents  # noqa: E402
from diffusion_core.app.common import CSS, guard, private  # noqa: E402
from diffusion_core.app.traffic import QUEUE_OPTIONS, launch_options  # noqa: E402


def link_note(notes: list[str]) -> str:
    """HTML for the notes on a link's ignored settings: escaped text (a link's values are never markup)."""
    if not notes:
        return ""
    return ('<div class="link-note" role="status">From the link: '
            + html.escape("; ".join(notes)) + ".</div>")


def view_from_url(request: gr.Request):
    """The view in the page's query string (validated) and a note on anything ignored (a class's `room` is the
    Class panel's)."""
    params = {k: v for k, v in (request.query_params if request else {}).items() if k != "room"}
    view, notes = vs.parse_query(params)
    if view and "tab" not in view:
        view["tab"] = "forward"
    return json.dumps(view), link_note(notes)


def view_of_lesson(i):
    """A lesson's view (JSON), the banner for the tab it opens and the back button (shown), and that tab's id
    (the banner shows on that tab only)."""
    view = ls.LESSONS[ls.lesson_index(i)].view
    return json.dumps(view), gr.update(value=ls.look_for_banner(i), visible=True), gr.update(visible=True), view["tab"]


def build_demo() -> gr.Blocks:
    with gr.Blocks(title="Diffusion Classroom") as demo:
        gr.Markdown("# Diffusion Classroom\nWatch an image dissolve into noise, a Transformer bring digits back, "
                    "and diffusion measured against a GAN and a VAE.", elem_id="title")
        notice = gr.Markdown(elem_id="startup-notice")  # empty unless a model's weights are broken
        url_note = gr.HTML(elem_id="url-note")  # plain, escaped text about a link's ignored settings
        with gr.Row(elem_id="lesson-banner-row"):
            banner = gr.Markdown(visible=False, elem_id="lesson-banner")
            back_btn = gr.Button("◀ Back to the lesson", visible=False, elem_id="back-to-lesson", scale=0, min_width=180)
        room = classroom_tab.build_class_panel()
        view = gr.Textbox(visible=False, label="view")  # JSON of the view to apply
        current_tab = gr.Textbox("forward", visible=False, label="current tab")
        with gr.Tabs(selected="forward", elem_id="tabs", overflow_behavior="wrap") as tabs:
            fwd = forward_tab.build_forward_tab()
            rev = reverse_tab.build_reverse_tab()
            cmp = compare_tab.build_compare_tab()
            score = score_tab.build_score_tab()
            race = race_tab.build_race_tab()
            text = text_tab.build_text_tab()
            cost = cost_tab.build_cost_tab()
            learn = learn_tab.build_learn_tab()
        with gr.Row():
            share_btn = gr.Button("Link to this view", scale=1, elem_id="share-btn")
            link = gr.Textbox(label="Shareable link", scale=4, elem_id="share-link", buttons=["copy"])

        by_tab = {"forward": fwd, "reverse": rev, "compare": cmp, "score": score, "race": race, "text": text, "cost": cost,
                  "learn": learn}
        for tab_id, ns in by_tab.items():
            ns.tab.select(lambda t=tab_id: t, None, current_tab, **private)
        banner_tab = gr.Textbox("", visible=False, label="the tab the lesson banner is for")
        for tab_id, ns in by_tab.items():  # the banner and its back button show on the lesson's tab only
            ns.tab.select(lambda on, t=tab_id: (gr.update(visible=bool(on) and on == t),) * 2, banner_tab, [banner, back_btn],
                          **private)

        # Applying a view: the tab it names and that tab's fields (the tab's other fields back to their defaults,
        # the other tabs left alone), then the forward tab's redraw, and a generation (reverse), SDEdit (a lesson's),
        # a recorded run (score lab, race) or samples (compare) when the view lands there.
        targets = [(tab_id, name, comp, convert) for tab_id, ns in by_tab.items() for name, (comp, convert) in ns.fields.items()]

        defaults = [comp.value for _, _, comp, _ in targets]  # each control as the page first shows it

        def apply(view_json):
            """The view's tab, with its fields as the view says and the tab's other fields back to their defaults
            (a view is the tab's whole view: a lesson never inherits what a later one set); other tabs untouched."""
            v = fwd.resolve(json.loads(view_json or "{}"))  # a forward view's schedule spec
            tab = v.get("tab")
            ups = [gr.skip() if tab_id != tab else gr.update(value=(convert(v[name]) if convert else v[name]) if name in v
                                                             else default)
                   for (tab_id, name, _, convert), default in zip(targets, defaults)]
            return (*ups, gr.update(selected=tab) if tab else gr.skip(), tab or gr.skip())

        def apply_chain(dep):
            dep = dep.then(guard(apply), view, [comp for _, _, comp, _ in targets] + [tabs, current_tab], **private)
            dep = fwd.refresh(dep)
            rev.sdedit_after(rev.generate_after(dep, view), view)
            score.applied_after(dep, view)
            race.applied_after(dep, view)
            text.applied_after(dep, view)
            cost.applied_after(dep, view)
            return cmp.sample_after(dep, view)

        apply_chain(demo.load(view_from_url, None, [view, url_note], **private))
        apply_chain(learn.show_btn.click(guard(view_of_lesson), learn.pick, [view, banner, back_btn, banner_tab], **private))
        room.load(demo)  # the room this browser was in, or the link's; then the wait for its changes
        for dep in room.view_events(view):  # a following student's page applies the teacher's view like a link
            apply_chain(dep)
        learn.pick.change(None, learn.pick, room.pick, js="(title) => title", **private)  # ask the lesson on the Learn tab
        back_btn.click(lambda: (gr.update(selected="learn"), "learn", gr.update(visible=False), gr.update(visible=False)),
                       None, [tabs, current_tab, banner, back_btn], **private)

        link_inputs = [c for ns in by_tab.values() for c in ns.link_inputs]
        spans, k = {}, 0
        for tab_id, ns in by_tab.items():
            spans[tab_id] = (k, k + len(ns.link_inputs))
            k += len(ns.link_inputs)

        def view_now(tab, values) -> dict:
            """The current tab's view (its own settings only), as a share link carries it."""
            tab = tab if tab in by_tab else "forward"
            lo, hi = spans[tab]
            return by_tab[tab].view_of(*values[lo:hi])

        def share(request: gr.Request, tab, *values):
            """The link of the current tab's view."""
            page = request.headers.get("referer") if request else None
            return vs.share_link(page, view_now(tab, values))

        def push(code, secret, tab, *values):
            """Send the current tab's view to the class (the teacher's key is checked by the library)."""
            return room_ui.push_view(code, secret, view_now(tab, values))

        share_btn.click(share, [current_tab] + link_inputs, link, api_name="share_link")
        room.push_btn.click(guard(push), [room.code, room.secret, current_tab] + link_inputs, room.status, queue=False, **private)
        demo.load(rui.model_status, None, rev.model_md, **private)
        demo.load(cui.startup_notice, None, notice, **private)
        demo.load(guard(cui.comparison_table), None, cmp.table, **private).then(guard(cui.loss_figures), None, cmp.losses, **private)
        learn.restore(demo)
        tutor.add_tools()
    tutor.only_tutor_tools_over_mcp(demo)
    return demo


def mcp_available() -> bool:
    """Whether the MCP server can run (the `gradio[mcp]` extra is installed); the app runs without it."""
    import importlib.util
    if importlib.util.find_spec("mcp") is None:
        return False
    return os.environ.get("DIFFUSION_CLASSROOM_MCP", "1") != "0"


def launch(demo: gr.Blocks, **overrides):
    """Queue and serve `demo` with the limits a public Space needs (`diffusion_core.app.traffic`) and the Class
    panel's long poll (`room_events`); `overrides` go to `launch()` (the tests pass a port and prevent_thread_lock)."""
    from starlette.middleware import Middleware

    sys.setswitchinterval(float(os.environ.get("DIFFUSION_CLASSROOM_SWITCH_S", sys.getswitchinterval())))
    reset_work_dir()
    demo.queue(**QUEUE_OPTIONS)
    gc.collect()
    gc.freeze()  # the objects of start-up (gradio, torch, the tabs) never garbage: full collections skip them
    options = dict(server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"), css=CSS, show_error=False,
                   max_threads=100, mcp_server=mcp_available(), **launch_options(demo))
    options["app_kwargs"]["middleware"].append(Middleware(RoomEvents))  # a class's long poll, beside the queue
    return demo.launch(**{**options, **overrides})


if __name__ == "__main__":
    from diffusion_core.networks import runtime
    from diffusion_core.pipelines import backends, serve_config

    # What runs the DiT: `--backend local|ray` or DIFFUSION_CLASSROOM_BACKEND (README, "Past one machine: Ray Serve").
    print(backends.use(serve_config.backend_flag(sys.argv[1:])), flush=True)
    try:  # the precision generations run at: DIFFUSION_CLASSROOM_SERVE_PRECISION (README, "Settings")
        runtime.serve_precision_setting()
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    if problem := cui.startup_notice():
        print(problem.replace("**", ""), flush=True)
    launch(build_demo())
