"""The lessons' "predict, then reveal" questions as polls in a room, and what each shows after Reveal.

Every lesson's question becomes a poll with its choices (`LESSONS`, read as they are); the forward lesson
also has a number poll (at which t does a digit stop being readable?), whose answers are binned. The
teacher may ask a question of their own instead. Each lesson's `in_class` says what every page shows beside
the class's histogram once the teacher presses Reveal; `answer_markdown` writes it, from the lesson's own
answer and reveal text (computed from the schedule, the model or the measured figures).
"""
from __future__ import annotations

from diffusion_core.app.learn.lessons import LESSONS
from diffusion_core.classroom.polls import Poll, Tally, free_poll, number_text
from diffusion_core.maths.schedules import make_schedule
from diffusion_core.references import cited

OWN_QUESTION = "A question of my own (type it below)"
READABLE = Poll(question="At which t (cosine schedule, T = 1000) does the digit stop being readable to you?",
                low=0, high=999, whole=True, lesson="forward",
                after_reveal="the class's answers in bins of 100 steps, and ᾱ at the class's median t")
NUMBER_POLLS = {f"{LESSONS[0].title} · a number: where does the digit stop being readable?": READABLE}


def lesson_poll(k: int) -> Poll:
    lesson = LESSONS[k]
    seen = lesson.in_class or "the lesson's answer"
    return Poll(question=lesson.question, choices=tuple(lesson.choices), lesson=lesson.key, after_reveal=seen)


def poll_titles() -> list[str]:
    """The teacher's menu: each lesson's question, the number polls, and a question of one's own."""
    return [lesson.title for lesson in LESSONS] + list(NUMBER_POLLS) + [OWN_QUESTION]


def poll_for(title, question, choices_text) -> Poll:
    """The poll the teacher picked (`question` and `choices_text`, one choice per line, for their own)."""
    if title in NUMBER_POLLS:
        return NUMBER_POLLS[title]
    for k, lesson in enumerate(LESSONS):
        if title == lesson.title:
            return lesson_poll(k)
    if title == OWN_QUESTION:
        return free_poll(question, choices_text)
    raise ValueError("Pick a question from the list.")


def after_reveal_sentence(poll: Poll) -> str:
    what = f"how the class voted, beside {poll.after_reveal}" if poll.after_reveal and not poll.numeric else \
        poll.after_reveal or "how the class voted"
    return f"After Reveal, every page shows {what}."


def poll_lesson(poll: Poll):
    """The lesson whose question `poll` is (None for the teacher's own, or a lesson whose question has changed)."""
    lesson = next((x for x in LESSONS if x.key == poll.lesson), None)
    return lesson if lesson is not None and not poll.numeric and tuple(lesson.choices) == poll.choices else None


def right_choice(poll: Poll) -> int | None:
    lesson = poll_lesson(poll)
    return None if lesson is None else lesson.right_answer()


def answer_markdown(poll: Poll, result: Tally | None) -> str:
    """What the pages show beside the histogram after Reveal (markdown: the lessons' own, trusted text)."""
    if result is None:
        return ""
    if poll.numeric:
        if result.median is None:
            return "Nobody answered."
        median = number_text(result.median, poll.whole)
        if poll.lesson != "forward":
            return f"The class's median: {median}."
        ab = make_schedule("cosine", 1000).alpha_bar(int(round(result.median)))
        return (f"The class's median: t = {median}, where the cosine schedule's ᾱ = {ab:.2f}: about {100 * ab:.0f}% of the "
                "image's variance is left. Where a digit stops being readable is a judgement, so the answers spread.")
    lesson = poll_lesson(poll)
    if lesson is None:
        return ""  # the teacher's own question
    return cited(f"**The answer: {lesson.choices[lesson.right_answer()]}.** {lesson.explain()}")
