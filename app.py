"""Diffusion Classroom: an interactive Gradio app for learning how diffusion models work.

Layout and wiring only: each tab lives in `ui/`, and every callback calls one function of
`diffusion_core`. This file puts the tabs together and wires the views that span them: the
shareable link (?tab=...&schedule=...&t=...&seed=...&sampler=...&label=...) and the lessons'
"Show me" buttons.

Run: `python app.py` (http://127.0.0.1:7860). Set GRADIO_SERVER_NAME=0.0.0.0 to serve on a network.
"""
from __future__ import annotations

import html
import json
import os

from diffusion_core.paths import UPLOAD_DIR, reset_work_dir

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1" if not os.environ.get("DIFFUSION_CLASSROOM_HUB_REPO") else "0")
os.environ.setdefault("GRADIO_TEMP_DIR", str(UPLOAD_DIR))  # uploads and outputs: this process's own folder

import gradio as gr  # noqa: E402

from diffusion_core import compare_ui as cui  # noqa: E402
from diffusion_core import lessons as ls  # noqa: E402
from diffusion_core import reverse_ui as rui  # noqa: E402
from diffusion_core import view_state as vs  # noqa: E402
from ui import compare_tab, forward_tab, learn_tab, reverse_tab  # noqa: E402
from ui.common import CSS, guard, private  # noqa: E402
from ui.traffic import QUEUE_OPTIONS, launch_options  # noqa: E402


def link_note(notes: list[str]) -> str:
    """HTML for the notes on a link's ignored settings: escaped text (a link's values are never markup)."""
    if not notes:
        return ""
    return ('<div class="link-note" role="status">⚠️ From the link: '
            + html.escape("; ".join(notes)) + ".</div>")


def view_from_url(request: gr.Request):
    """The view in the page's query string (validated) and a note on anything ignored."""
    view, notes = vs.parse_query(request.query_params if request else {})
    return json.dumps(view), link_note(notes)


def view_of_lesson(i):
    return json.dumps(ls.LESSONS[ls.lesson_index(i)].view)


def share(tab, schedule, T, t, fwd_seed, label, sampler, steps, guidance, guide_from, spacing, images, rev_seed, digit,
          cmp_seed, request: gr.Request):
    seed = {"forward": fwd_seed, "reverse": rev_seed, "compare": cmp_seed}.get(tab, fwd_seed)
    view = dict(tab=tab, schedule=schedule, T=T, t=t, seed=seed, sampler=sampler, label=label, steps=steps,
                guidance=guidance, guide_from=guide_from, spacing=spacing, images=images, digit=digit)
    page = request.headers.get("referer") if request else None
    return vs.share_link(page, view)


def build_demo() -> gr.Blocks:
    with gr.Blocks(title="Diffusion Classroom") as demo:
        gr.Markdown("# Diffusion Classroom\nWatch an image dissolve into noise, a Transformer bring digits back, "
                    "and diffusion measured against a GAN and a VAE.")
        notice = gr.Markdown(elem_id="startup-notice")  # empty unless a model's weights are broken
        url_note = gr.HTML(elem_id="url-note")  # plain, escaped text about a link's ignored settings
        view = gr.Textbox(visible=False, label="view")  # JSON of the view to apply
        current_tab = gr.Textbox("forward", visible=False, label="current tab")
        with gr.Tabs(selected="forward") as tabs:
            fwd = forward_tab.build()
            rev = reverse_tab.build()
            cmp = compare_tab.build()
            learn = learn_tab.build()
        with gr.Row():
            share_btn = gr.Button("🔗 Link to this view", scale=1, elem_id="share-btn")
            link = gr.Textbox(label="Shareable link", scale=4, elem_id="share-link", buttons=["copy"])

        for tab_id, ns in (("forward", fwd), ("reverse", rev), ("compare", cmp), ("learn", learn)):
            ns.tab.select(lambda t=tab_id: t, None, current_tab, **private)

        # Applying a view: every control it names and the tab, then the forward tab's redraw, and a
        # generation (reverse) or samples (compare) when the view lands there.
        # The spec goes last: its change event reads t, which must already be the view's.
        targets = {"tab": tabs, "t": fwd.t, "T": fwd.steps_T, "schedule": fwd.sched_name,
                   "label": rev.label, "sampler": rev.sampler, "steps": rev.steps, "guidance": rev.guidance,
                   "guide_from": rev.guide_from, "spacing": rev.spacing, "images": rev.n_images, "digit": cmp.digit, "spec": fwd.spec}
        seeds = [fwd.seed, rev.seed, cmp.seed]

        def apply(view_json):
            v = vs.resolve(json.loads(view_json or "{}"))
            ups = [gr.update(selected=v["tab"]) if k == "tab" and "tab" in v else
                   gr.update(value=str(v[k]) if k == "digit" else v[k]) if k in v else gr.skip() for k in targets]
            ups += [gr.update(value=v["seed"]) if "seed" in v else gr.skip() for _ in seeds]
            return *ups, v.get("tab", gr.skip())

        def apply_chain(dep):
            dep = dep.then(guard(apply), view, list(targets.values()) + seeds + [current_tab], **private)
            dep = fwd.refresh(dep)
            rev.generate_after(dep, view)
            return cmp.sample_after(dep, view)

        apply_chain(demo.load(view_from_url, None, [view, url_note], **private))
        apply_chain(learn.show_btn.click(guard(view_of_lesson), learn.pick, view, **private))
        share_btn.click(share, [current_tab, fwd.sched_name, fwd.steps_T, fwd.t, fwd.seed, rev.label, rev.sampler, rev.steps,
                                rev.guidance, rev.guide_from, rev.spacing, rev.n_images, rev.seed, cmp.digit, cmp.seed], link, api_name="share_link")
        demo.load(rui.model_status, None, rev.model_md, **private)
        demo.load(cui.startup_notice, None, notice, **private)
        demo.load(guard(cui.comparison_table), None, cmp.table, **private).then(guard(cui.loss_figure), None, cmp.losses, **private)
    return demo


def launch(demo: gr.Blocks, **overrides):
    """Queue and serve `demo` with the limits a public Space needs (`ui.traffic`); `overrides` go to
    `launch()` (the tests pass a port and prevent_thread_lock)."""
    reset_work_dir()
    demo.queue(**QUEUE_OPTIONS)
    options = dict(server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"), css=CSS, show_error=False,
                   max_threads=100, **launch_options(demo))
    return demo.launch(**{**options, **overrides})


if __name__ == "__main__":
    if problem := cui.startup_notice():
        print(problem.replace("**", ""), flush=True)
    launch(build_demo())
