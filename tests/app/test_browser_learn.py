"""The Learn tab's whole lesson sequence, shareable links, presenter mode and the comparison table,
in headless Chromium. Each check waits for the value it expects."""
import json
import re

import pytest
from playwright.sync_api import expect

from diffusion_core.evaluation import comparison
from diffusion_core.app.learn.lessons import LESSONS
from diffusion_core.networks.pretrained import load_pretrained
from diffusion_core.maths.schedules import make_schedule
from diffusion_core import paths

ROOT = paths.ROOT
SHOTS = ROOT / "docs" / "screenshots"
TAB_NAMES = {"forward": "Forward process", "reverse": "Reverse process", "compare": "Compare", "learn": "Learn",
             "score": "Score lab", "race": "Race", "text": "Text", "cost": "Cost"}


def new_page(browser, url):
    pg = browser.new_page(viewport={"width": 1400, "height": 1800})
    pg.set_default_timeout(60000)
    pg.goto(url, wait_until="load")
    return pg


def expect_tab(pg, tab):
    expect(pg.get_by_role("tab", name=TAB_NAMES[tab])).to_have_attribute("aria-selected", "true")


def expect_view(pg, view):
    """The view a link or lesson asked for is on screen."""
    expect_tab(pg, view["tab"])
    if view["tab"] == "forward":
        ab = make_schedule(view["schedule"], view["T"]).alpha_bar(view["t"])
        expect(pg.locator("#readout")).to_contain_text(f"t = {view['t']} ")
        expect(pg.locator("#readout")).to_contain_text(f"{ab:.4f}")
        expect(pg.locator("#sched-name input")).to_have_value(view["schedule"])
    elif view["tab"] == "reverse":
        defaults = load_pretrained("dit").meta["sampling"]  # what a view leaves unset stays at the model's default
        # this view's own run: its label and seed are in the status line (the previous lesson's run was done too)
        expect(pg.locator("#rev-status")).to_contain_text(f"Done: {view.get('steps', defaults['steps'])} steps")
        expect(pg.locator("#rev-status")).to_contain_text(f"{view['label']}, seed {view.get('seed', 0)}, "
                                                          f"{view.get('sampler', defaults['sampler'])}")
        expect(pg.locator("#rev-sampler input")).to_have_value(view.get("sampler", defaults["sampler"]))
        expect(pg.locator("#rev-label input")).to_have_value(view["label"])
        if "guidance_min_t" in view:
            expect(pg.locator("#rev-guide-from input").first).to_have_value(str(view["guidance_min_t"]))
    elif view["tab"] == "compare":
        expect(pg.locator("#cmp-timing")).to_contain_text("GAN")
        expect(pg.locator("#cmp-digit input")).to_have_value(str(view["digit"]))
    elif view["tab"] == "text":
        expect(pg.locator("#text-forward-md")).to_contain_text(f"t = {view['rate']:.2f}")
    elif view["tab"] == "race":
        expect(pg.locator("#race-data input")).to_have_value(view["points"])
    elif view["tab"] == "cost":  # the recorded figures are on the page, and the live comparison's digit is the view's
        expect(pg.locator("#cost-precision-table")).to_contain_text("int8")
        expect(pg.locator("#cost-digit input")).to_have_value(str(view["digit"]))
    elif view["tab"] == "score":
        expect(pg.locator("#score-data-md")).to_contain_text(view["points"])
        expect(pg.locator("#score-field-md")).to_contain_text(f"t = {view['t']},")
        expect(pg.locator("#score-sampler input")).to_have_value(view["sampler"])


def test_the_whole_lesson_sequence(browser, app_url):
    pg = new_page(browser, app_url)
    expect(pg.locator("#readout")).to_contain_text("t = 250")
    pg.get_by_role("tab", name="Learn").click()
    for i, lesson in enumerate(LESSONS):
        if i:
            pg.locator("#next-btn").click()
        expect(pg.locator("#lesson-md")).to_contain_text(lesson.title)
        expect(pg.locator("#lesson-md .katex").first).to_be_visible()  # the equations are rendered (KaTeX), not raw
        pg.locator("#lesson-choice").get_by_label(lesson.choices[lesson.right_answer()], exact=True).check()
        pg.locator("#reveal-btn").click()
        expect(pg.locator("#reveal-md")).to_contain_text("Right")
        pg.locator("#show-btn").click()
        expect_view(pg, lesson.view)
        if i == 3:
            SHOTS.mkdir(parents=True, exist_ok=True)
            pg.screenshot(path=str(SHOTS / "lesson_dit.png"))
        pg.get_by_role("tab", name="Learn").click()
    # A wrong prediction is corrected, not praised.
    last = LESSONS[-1]
    wrong = next(c for k, c in enumerate(last.choices) if k != last.right_answer())
    pg.locator("#lesson-choice").get_by_label(wrong, exact=True).check()
    pg.locator("#reveal-btn").click()
    expect(pg.locator("#reveal-md")).to_contain_text("Not quite")
    # Presenter mode: large type (the whole page is zoomed: text, equations, buttons).
    button = pg.locator("#reveal-btn").bounding_box()["height"]
    eq = pg.locator("#lesson-md .katex").first.bounding_box()["height"]
    pg.locator("#presenter input").check()
    expect(pg.locator("body")).to_have_class(re.compile("presenter"))
    assert pg.locator("#reveal-btn").bounding_box()["height"] >= 1.2 * button
    assert pg.locator("#lesson-md .katex").first.bounding_box()["height"] >= 1.2 * eq
    pg.locator("#presenter input").uncheck()
    pg.close()


@pytest.mark.parametrize("view", [
    {"tab": "forward", "schedule": "linear", "T": 1000, "t": 600, "seed": 3},
    {"tab": "reverse", "sampler": "heun", "label": "7", "seed": 5, "steps": 6, "images": 4, "guidance_min_t": 300},
])
def test_a_link_with_state_reproduces_its_view(browser, app_url, view):
    query = "&".join(f"{k}={v}" for k, v in view.items())
    pg = new_page(browser, f"{app_url}?{query}")
    expect_view(pg, view)
    pg.locator("#share-btn").click()  # and the link made from that view says the same
    for k, v in view.items():
        expect(pg.locator("#share-link textarea, #share-link input").first).to_have_value(re.compile(f"[?&]{k}={v}(&|$)"))
    pg.close()


def test_a_bad_link_is_explained_and_ignored(browser, app_url):
    pg = new_page(browser, f"{app_url}?tab=forward&sampler=evil&t=-5&x=1")
    expect(pg.locator("#url-note")).to_contain_text("'sampler=evil' is not one of")
    expect(pg.locator("#url-note")).to_contain_text("unknown setting 'x' ignored")
    expect(pg.locator("#readout")).to_contain_text("t = 250")  # the defaults stand
    pg.close()


def test_the_comparison_table_shows_the_reports_numbers(browser, app_url):
    report = json.loads((ROOT / "assets" / "comparison.json").read_text())
    pg = new_page(browser, f"{app_url}?tab=compare&digit=3")
    expect_tab(pg, "compare")
    table = pg.locator("#cmp-table")
    for m in report["models"].values():
        expect(table).to_contain_text(f"{m['frechet_distance']:.2f}")
        expect(table).to_contain_text(f"{m['precision']:.3f}")
        expect(table).to_contain_text(f"{m['recall']:.3f}")
    expect(table).to_contain_text(comparison.verdict(report["models"])[:40])
    expect(pg.locator("#cmp-timing")).to_contain_text("VAE")
    pg.screenshot(path=str(SHOTS / "compare.png"), full_page=True)
    pg.close()
