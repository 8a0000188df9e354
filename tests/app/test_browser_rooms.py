"""A class in one room, in headless Chromium with three browser contexts (a teacher and two students, each
with its own storage): join by link and by code, the teacher's view followed (and left alone by a student
who stops following), a live poll revealed on every page, no teacher controls on a student's page, and a
forged teacher action over the API refused. Each check waits for the value it expects."""
import json
import re

import httpx
import pytest
from playwright.sync_api import expect

from diffusion_core.app.classroom.room_page import STORE_KEY
from diffusion_core.app.learn.lessons import LESSONS

HOSTILE = "<img src=x onerror=alert(1)>"
TEACHER_CONTROLS = ("#class-push", "#class-open-poll", "#class-reveal", "#class-end", "#class-poll-pick")


@pytest.fixture(scope="module")
def pages(browser):
    made = []

    def page(url):
        context = browser.new_context(viewport={"width": 1400, "height": 1600})
        pg = context.new_page()
        pg.set_default_timeout(60000)
        pg.goto(url, wait_until="load")
        made.append(context)
        return pg

    yield page
    for context in made:
        context.close()


def open_panel(pg):
    expect(pg.locator("#readout")).to_contain_text("t = 250")  # the page has loaded
    pg.locator("#class-panel").get_by_text("Class: start one").click()


def text_box(pg, elem_id: str):
    return pg.locator(f"#{elem_id}").locator("textarea, input").first


def set_number(pg, elem_id: str, value) -> None:
    box = pg.locator(f"#{elem_id} input[type=number]")
    box.fill(str(value))
    box.press("Enter")


def tab_selected(pg, name: str):
    return expect(pg.get_by_role("tab", name=name)).to_have_attribute("aria-selected", "true")


def test_a_class_follows_the_teacher_and_answers_a_live_poll(pages, app_url):
    teacher = pages(app_url)
    open_panel(teacher)
    teacher.locator("#class-start").click()
    expect(teacher.locator("#class-code-shown")).to_have_text(re.compile(r"^[0-9A-Z]{7}$"))
    code, link = teacher.locator("#class-code-shown").inner_text(), teacher.locator("#class-link").inner_text()
    assert link.endswith(f"?room={code}") and "secret" not in link and "key" not in link
    expect(teacher.locator("#class-qr img")).to_be_visible()

    by_link = pages(link)  # joins from the link alone
    expect(by_link.locator("#class-status")).to_contain_text(f"You are in class {code}")
    by_code = pages(app_url)
    open_panel(by_code)
    text_box(by_code, "class-join-code").fill(f"{code[:3].lower()} {code[3:]}")  # typed loosely
    text_box(by_code, "class-nick").fill(HOSTILE)
    by_code.locator("#class-join").click()
    expect(by_code.locator("#class-status")).to_contain_text(f"You are in class {code}")
    for student in (by_link, by_code):
        for control in TEACHER_CONTROLS:
            expect(student.locator(control)).to_be_hidden()
    expect(teacher.locator("#class-presence")).to_contain_text("2 students here")
    expect(teacher.locator("#class-presence")).to_contain_text("<img src=x")  # the nickname is text ...
    assert teacher.locator("#class-presence img").count() == 0  # ... never markup

    # The teacher sends a reverse-tab view: both students' pages open it and run its Generate.
    teacher.get_by_role("tab", name="Reverse process").click()
    set_number(teacher, "rev-steps", 3)
    teacher.wait_for_timeout(1500)  # the tab's select event reaches the server (under load it queues)
    teacher.locator("#class-push").click()
    expect(teacher.locator("#class-status")).to_contain_text("Sent: the reverse tab")
    for student in (by_link, by_code):
        tab_selected(student, "Reverse process")
        expect(student.locator("#rev-status")).to_contain_text(re.compile("done: 3 steps", re.IGNORECASE))

    # One stops following and is left alone; the other follows the next view.
    by_code.locator("#class-follow input").uncheck()
    expect(teacher.locator("#class-presence")).to_contain_text("1 following")
    teacher.get_by_role("tab", name="Forward process").click()
    set_number(teacher, "t-slider", 600)
    expect(teacher.locator("#readout")).to_contain_text("t = 600 ")
    teacher.locator("#class-push").click()
    tab_selected(by_link, "Forward process")
    expect(by_link.locator("#readout")).to_contain_text("t = 600 ")
    by_code.wait_for_timeout(1500)  # the follower's page changed; this one had the same news and stays
    tab_selected(by_code, "Reverse process")
    by_code.locator("#class-catch-up").click()  # and comes back to the teacher's view when it wants
    tab_selected(by_code, "Forward process")
    expect(by_code.locator("#readout")).to_contain_text("t = 600 ")
    expect(by_code.locator("#class-follow input")).to_be_checked()

    # A lesson's question as a live poll: answers arrive, and Reveal shows the histogram on every page.
    lesson = LESSONS[0]
    teacher.locator("#class-open-poll").click()
    for student in (by_link, by_code):
        expect(student.locator("#class-poll")).to_contain_text(lesson.question[:40])
        expect(student.locator("#class-poll")).to_contain_text("After Reveal")
    right = lesson.choices[lesson.right_answer()]
    wrong = next(c for c in lesson.choices if c != right)
    for student, pick in ((by_link, right), (by_code, wrong)):
        student.locator("#class-choice").get_by_label(pick, exact=True).check()
        student.locator("#class-send").click()
        expect(student.locator("#class-mine")).to_contain_text(pick)
    expect(teacher.locator("#class-presence")).to_contain_text("2 answered")
    expect(teacher.locator("#class-histogram")).to_have_count(0)  # nothing shown before Reveal
    teacher.locator("#class-reveal").click()
    for pg in (teacher, by_link, by_code):
        expect(pg.locator("#class-histogram")).to_contain_text("2 answers from the class")
        expect(pg.locator("#class-histogram")).to_contain_text(f"{right} ✓")
        expect(pg.locator("#class-answer")).to_contain_text(f"The answer: {right}")

    # A student's token cannot act for the teacher, over the API either.
    token = json.loads(by_link.evaluate(f"localStorage.getItem('{STORE_KEY}')"))["secret"]
    for forged in (token, "forged-key", ""):
        reply = httpx.post(f"{app_url}gradio_api/run/class_reveal", json={"data": [code, forged, {}]}, timeout=30)
        assert "Only the teacher's page can do this" in reply.text, reply.text[:300]
        reply = httpx.post(f"{app_url}gradio_api/run/class_end", json={"data": [code, forged]}, timeout=30)
        assert "Only the teacher's page can do this" in reply.text
    still = httpx.post(f"{app_url}gradio_api/run/class_sync", json={"data": [code, token, {}]}, timeout=30).json()
    assert code in json.dumps(still) and "ended" not in json.dumps(still)  # the class goes on

    # The teacher ends the class: every page says so.
    teacher.locator("#class-end").click()
    for student in (by_link, by_code):
        expect(student.locator("#class-status")).to_contain_text("The class has ended")
