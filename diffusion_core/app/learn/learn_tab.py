"""The "Learn" tab: eleven short lessons for a class of about 50 minutes, each with its equations, a "predict,
then reveal" question and a "Show me" button that sets the other tabs up; a presenter mode that scales
the whole page and is remembered by the browser. Layout and wiring only; the lessons are in
`diffusion_core.app.learn.lessons`."""
from __future__ import annotations

from types import SimpleNamespace

import gradio as gr

from diffusion_core.app.learn import lessons as ls

from diffusion_core.app.common import guard, private, LATEX

TITLES = [lesson.title for lesson in ls.LESSONS]
PRESENTER_KEY = "diffusion-classroom-presenter"
# Presenter mode is a class on <body> (CSS in app.common scales everything), kept in localStorage.
PRESENTER_JS = ("(on) => { document.body.classList.toggle('presenter', on); "
                f"try {{ localStorage.setItem('{PRESENTER_KEY}', on ? '1' : '0'); }} catch (e) {{}} return []; }}")
PRESENTER_RESTORE_JS = f"() => {{ try {{ return localStorage.getItem('{PRESENTER_KEY}') === '1'; }} catch (e) {{ return false; }} }}"


def lesson_view(i):
    """What the lesson shows: its text, its question's choices (none picked), no answer yet."""
    lesson = ls.LESSONS[ls.lesson_index(i)]
    return ls.lesson_markdown(i), gr.update(choices=list(lesson.choices), value=None), ""


def step(i, delta: int):
    return TITLES[ls.lesson_index(ls.lesson_index(i) + delta)]


def build_learn_tab() -> SimpleNamespace:
    with gr.Tab("Learn", id="learn") as tab:
        with gr.Row():
            pick = gr.Radio(TITLES, value=TITLES[0], type="index", label="Lesson", elem_id="lesson-pick", scale=4, min_width=300)
            presenter = gr.Checkbox(False, label="Presenter mode (everything larger; remembered)", elem_id="presenter", scale=1,
                                    min_width=220)
        with gr.Column(elem_classes="lesson"):
            text = gr.Markdown(ls.lesson_markdown(0), latex_delimiters=LATEX, elem_id="lesson-md")
            choice = gr.Radio(list(ls.LESSONS[0].choices), label="Your prediction", elem_id="lesson-choice")
            with gr.Row():
                reveal_btn = gr.Button("Reveal", elem_id="reveal-btn")
                show_btn = gr.Button("Show me in the app", variant="primary", elem_id="show-btn")
                prev_btn = gr.Button("◀ Previous", elem_id="prev-btn")
                next_btn = gr.Button("Next ▶", elem_id="next-btn")
            answer = gr.Markdown(latex_delimiters=LATEX, elem_id="reveal-md")

    pick.change(guard(lesson_view), pick, [text, choice, answer], **private)
    prev_btn.click(lambda i: step(i, -1), pick, pick, **private)
    next_btn.click(lambda i: step(i, +1), pick, pick, **private)
    reveal_btn.click(guard(ls.reveal), [pick, choice], answer, api_name="reveal")
    presenter.change(None, presenter, None, js=PRESENTER_JS, **private)

    def restore(demo):
        """On page load: presenter mode as this browser left it."""
        demo.load(None, None, presenter, js=PRESENTER_RESTORE_JS, **private)

    # a link numbers the lessons as their titles do, from 1; the radio holds the index, from 0
    fields = {"lesson": (pick, lambda number: TITLES[ls.lesson_index(int(number) - 1)])}
    return SimpleNamespace(tab=tab, pick=pick, show_btn=show_btn, restore=restore, fields=fields, link_inputs=[pick],
                           view_of=lambda i: {"tab": "learn", "lesson": ls.lesson_index(i) + 1})
