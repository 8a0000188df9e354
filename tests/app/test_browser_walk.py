"""What a full walk through the app found (issue 32), checked in headless chromium at the widths it names: each
test fails on the page as it was and passes on the page as it is now."""
import re

from playwright.sync_api import expect

from diffusion_core.app.learn.lessons import LESSONS
from diffusion_core.networks.pretrained import load_pretrained


def new_page(browser, url, width=1400, height=1000):
    pg = browser.new_page(viewport={"width": width, "height": height})
    pg.set_default_timeout(60000)
    pg.goto(url, wait_until="load")
    return pg


def show_lesson(pg, number: int) -> None:
    """Pick lesson `number` (from 1) on the Learn tab and press Show me."""
    pg.get_by_role("tab", name="Learn").click()
    pg.locator("#lesson-pick").get_by_label(LESSONS[number - 1].title, exact=True).check()
    expect(pg.locator("#lesson-md")).to_contain_text(LESSONS[number - 1].title)
    pg.locator("#show-btn").click()


def test_10_a_lesson_link_is_numbered_as_the_lessons_are(browser, app_url):
    pg = new_page(browser, app_url + "?tab=learn&lesson=4")
    expect(pg.locator("#lesson-md")).to_contain_text(LESSONS[3].title)  # "4. The DiT and attention", not lesson 5
    pg.close()


def test_10_show_me_sets_the_lessons_whole_view_and_its_banner_stays_on_its_tab(browser, app_url):
    defaults = load_pretrained("dit").meta["sampling"]
    pg = new_page(browser, app_url)
    show_lesson(pg, 5)  # samplers: DDPM at 10 steps
    samplers = LESSONS[4].view
    expect(pg.locator("#rev-steps input[type=number]")).to_have_value(str(samplers["steps"]))
    expect(pg.locator("#rev-status")).to_contain_text("Done:", timeout=90000)
    show_lesson(pg, 4)  # the DiT: sets only label and seed; the rest of the tab back to its defaults
    expect(pg.locator("#rev-status")).to_contain_text(f"Done: {defaults['steps']} steps", timeout=90000)
    expect(pg.locator("#rev-sampler input")).to_have_value(defaults["sampler"])
    expect(pg.locator("#lesson-banner")).to_be_visible()
    pg.get_by_role("tab", name="Forward process").click()
    expect(pg.locator("#lesson-banner")).to_be_hidden()  # not about this tab
    pg.get_by_role("tab", name="Reverse process").click()
    expect(pg.locator("#lesson-banner")).to_be_visible()  # back on the lesson's tab
    pg.close()


def test_10_lesson_3_lands_where_its_curve_is(browser, app_url):
    pg = new_page(browser, app_url)
    show_lesson(pg, 3)
    curve = pg.locator("#sdedit-mse .js-plotly-plot").first
    expect(curve).to_be_visible(timeout=90000)
    pg.wait_for_timeout(1500)  # the chain scrolls again once the SDEdit views are drawn
    box = curve.bounding_box()
    assert 0 <= box["y"] < 1000, box  # in view, not some thousands of pixels down the page
    pg.close()


def test_10_play_draws_every_step(browser, app_url):
    pg = new_page(browser, app_url + "?tab=reverse&sampler=ddim&steps=8&images=4&seed=3", height=1600)
    expect(pg.locator("#rev-status")).to_contain_text("Done: 8 steps", timeout=90000)
    expect(pg.locator("#step-caption")).to_contain_text("Step 8 of 8")  # the run's own redraw of its last step has landed
    pg.wait_for_timeout(1000)
    pg.evaluate("""() => { window.seenSteps = new Set();
        new MutationObserver(() => { const box = document.querySelector('#step-caption');
                                     const m = box && box.textContent.match(/Step (\\d+) of/); if (m) window.seenSteps.add(+m[1]); })
            .observe(document.body, {childList: true, subtree: true, characterData: true}); }""")
    fps = pg.locator("#play-fps input[type=number]")
    fps.fill("5")
    fps.press("Enter")
    pg.evaluate("() => window.seenSteps.clear()")
    pg.locator("#play").click()
    pg.wait_for_function("() => window.seenSteps.has(1)", timeout=60000)  # Play starts over from step 1
    # every step drawn in turn (the old caption's "Step 8" flashes back as Play's first frame lands: not the end)
    pg.wait_for_function("() => [2, 3, 4, 5, 6, 7, 8].every(k => window.seenSteps.has(k))", timeout=60000)
    seen = sorted(pg.evaluate("() => Array.from(window.seenSteps)"))
    assert seen == list(range(1, 9)), seen
    expect(pg.locator("#step-caption")).to_contain_text(re.compile("Step 8 of 8"))
    pg.close()


PHONE = dict(width=390, height=844)


def box(pg, selector):
    return pg.locator(selector).first.bounding_box()


def test_6_on_a_phone_x_t_and_its_sliders_share_a_screen_and_the_schedule_panels_fit(browser, app_url):
    pg = new_page(browser, app_url + "?tab=forward", **PHONE)
    expect(pg.locator("#readout")).to_contain_text("t = 250")
    expect(pg.locator("#xt-image img")).to_be_visible()
    top, bottom = box(pg, "#xt-image"), box(pg, "#t-slider")
    assert max(top["y"] + top["height"], bottom["y"] + bottom["height"]) - min(top["y"], bottom["y"]) <= PHONE["height"], (top, bottom)
    plots = pg.locator("#schedule-plots .js-plotly-plot")
    expect(plots.nth(3)).to_be_visible()
    for k in range(4):  # every panel (alpha-bar and log-SNR too) on the page, none cut off at the right
        b = plots.nth(k).bounding_box()
        assert b["x"] >= 0 and b["x"] + b["width"] <= PHONE["width"] + 1, (k, b)
    pg.close()


def test_6_on_a_phone_the_scrubber_sits_above_its_pictures(browser, app_url):
    pg = new_page(browser, app_url + "?tab=reverse&sampler=ddim&steps=4&images=4", **PHONE)
    expect(pg.locator("#step-caption")).to_contain_text("Step 4 of 4", timeout=90000)
    slider, picture = box(pg, "#step-slider"), box(pg, "#step-views img")
    assert picture["y"] + picture["height"] - slider["y"] <= PHONE["height"], (slider, picture)
    pg.close()


def test_7_on_a_phone_the_race_and_compare_panels_are_one_per_row(browser, app_url):
    pg = new_page(browser, app_url + "?tab=race&points=ring+of+8+Gaussians&replay=1", **PHONE)
    expect(pg.locator("#race-status")).to_contain_text("Recorded race", timeout=60000)
    for selector in ("#race-samples img", "#race-measures .js-plotly-plot"):
        items = pg.locator(selector)
        expect(items.nth(2)).to_be_visible()
        boxes = [items.nth(k).bounding_box() for k in range(3)]
        assert all(b["width"] >= 300 for b in boxes) and boxes[0]["y"] < boxes[1]["y"] < boxes[2]["y"], boxes
    pg.goto(app_url + "?tab=compare&digit=3", wait_until="load")
    losses = pg.locator("#cmp-losses .js-plotly-plot")
    expect(losses.nth(2)).to_be_visible(timeout=60000)
    boxes = [losses.nth(k).bounding_box() for k in range(3)]
    assert all(b["width"] >= 300 for b in boxes) and boxes[0]["y"] < boxes[1]["y"] < boxes[2]["y"], boxes
    pg.close()


def test_16_labels_sit_above_pictures_and_log_ticks_read_as_numbers(browser, app_url):
    pg = new_page(browser, app_url + "?tab=reverse&sampler=ddim&steps=4&images=4")
    expect(pg.locator("#rev-status")).to_contain_text("Done", timeout=90000)
    label, picture = box(pg, "#live-xt label"), box(pg, "#live-xt img")
    assert label["y"] + label["height"] <= picture["y"] + 1, (label, picture)  # the label does not cover the top row
    pg.get_by_role("tab", name="Compare").click()
    ticks = pg.locator("#cmp-loss-dit .ytick text")
    expect(ticks.first).to_be_visible(timeout=60000)
    values = [float(t) for t in ticks.all_text_contents()]
    assert values == sorted(values) and len(set(values)) == len(values), values  # not "5, 2, 0.1, 5, 2"
    pg.close()
