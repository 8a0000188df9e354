"""A full walk of the app as a teacher, a student and a researcher would do it (issue "Classroom-ready"),
in headless Chromium: each test is one item of the issue and waits for the value it expects. The README's
screenshots at 1400, 1920 and 390 px wide are taken here."""
import json
import re

import pytest
from playwright.sync_api import expect

from diffusion_core.app.learn import lessons as ls
from diffusion_core.maths.schedules import make_schedule
from diffusion_core import paths

ROOT = paths.ROOT
SHOTS = ROOT / "docs" / "screenshots"
TAB_NAMES = {"forward": "Forward process", "reverse": "Reverse process", "compare": "Compare", "learn": "Learn"}
SD15 = json.dumps({"_class_name": "PNDMScheduler", "_diffusers_version": "0.6.0", "beta_end": 0.012,
                   "beta_schedule": "scaled_linear", "beta_start": 0.00085, "num_train_timesteps": 1000,
                   "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1, "trained_betas": None,
                   "clip_sample": False})


def open_page(browser, url, width=1400, height=1800):
    pg = browser.new_page(viewport={"width": width, "height": height})
    pg.set_default_timeout(60000)
    pg.goto(url, wait_until="load")
    return pg


def set_number(pg, elem_id: str, value) -> None:
    box = pg.locator(f"#{elem_id} input[type=number]")
    box.fill(str(value))
    box.press("Enter")


def errors_shown(pg) -> int:
    return pg.get_by_text("Error", exact=True).count()


@pytest.fixture(scope="module")
def reverse(browser, app_url):
    pg = open_page(browser, app_url)
    pg.get_by_role("tab", name="Reverse process").click()
    expect(pg.locator("#model-status")).to_contain_text("DiT:")
    yield pg
    pg.close()


# ---------------------------------------------------------------------------- the reverse tab's scrubber
def test_1_a_one_step_run_keeps_a_working_scrubber(browser, app_url):
    pg = open_page(browser, f"{app_url}?tab=reverse&steps=1")
    expect(pg.locator("#rev-status")).to_contain_text("Done: 1 step ")
    expect(pg.locator("#step-caption")).to_contain_text("Step 1 of 1")
    expect(pg.locator("#step-slider input[type=number]")).to_be_disabled()
    assert errors_shown(pg) == 0
    pg.close()


def test_2_stop_says_where_the_run_stopped(reverse):
    set_number(reverse, "rev-steps", 250)
    reverse.locator("#generate").click()
    expect(reverse.locator("#rev-status")).to_contain_text(re.compile(r"step [1-9]\d* of 250"))
    reverse.wait_for_timeout(1500)
    reverse.locator("#stop").click()
    expect(reverse.locator("#rev-status")).to_contain_text(re.compile(r"Stopped at step \d+ of 250"))
    expect(reverse.locator("#step-caption")).to_contain_text("where the run was stopped")
    expect(reverse.locator("#step-caption")).not_to_contain_text("→ the clean image")


def test_3_play_pauses_and_generate_ends_it(reverse):
    set_number(reverse, "rev-steps", 30)
    reverse.locator("#generate").click()
    expect(reverse.locator("#rev-status")).to_contain_text("Done: 30 steps")
    expect(reverse.locator("#step-caption")).to_contain_text("Step 30 of 30")
    set_number(reverse, "play-fps", 4)
    reverse.locator("#play").click()
    expect(reverse.locator("#step-caption")).to_contain_text(re.compile(r"Step [2-9] of 30"))
    reverse.locator("#pause").click()
    reverse.wait_for_timeout(600)
    held = reverse.locator("#step-slider input[type=number]").input_value()
    reverse.wait_for_timeout(1200)
    assert reverse.locator("#step-slider input[type=number]").input_value() == held  # paused: it stays
    reverse.locator("#play").click()  # from where it paused
    expect(reverse.locator("#step-slider input[type=number]")).not_to_have_value(held)
    set_number(reverse, "rev-steps", 12)
    reverse.locator("#generate").click()  # ends the playback
    expect(reverse.locator("#rev-status")).to_contain_text("Done: 12 steps")
    expect(reverse.locator("#step-caption")).to_contain_text("Step 12 of 12")
    reverse.wait_for_timeout(1500)
    expect(reverse.locator("#step-caption")).to_contain_text("Step 12 of 12")  # nothing plays over the new run


def test_4_every_step_change_refreshes_every_view(reverse):
    set_number(reverse, "step-slider", 4)
    expect(reverse.locator("#step-caption")).to_contain_text("Step 4 of 12")
    expect(reverse.locator("#attn-text")).to_contain_text("at step 4 ")
    reverse.locator("#step-slider input[type=number]").press("ArrowUp")
    expect(reverse.locator("#attn-text")).to_contain_text("at step 5 ")
    expect(reverse.locator("#step-caption")).to_contain_text("Step 5 of 12")


def test_5_a_one_step_ddpm_run_is_explained(reverse):
    reverse.locator("#rev-sampler input").fill("ddpm")
    reverse.locator("#rev-sampler input").press("Enter")
    set_number(reverse, "rev-steps", 1)
    reverse.locator("#rev-spacing").get_by_label("leading").check()  # not the default's spacing (karras)
    reverse.locator("#generate").click()
    expect(reverse.locator("#rev-status")).to_contain_text("starts at t = 0")
    reverse.locator("#rev-spacing").get_by_label("trailing").check()
    reverse.locator("#generate").click()
    expect(reverse.locator("#rev-status")).to_contain_text("divides by √ᾱ")


def test_23_the_tab_explains_itself(reverse):
    reverse.locator("#settings-help").get_by_text("What these settings mean").click()
    expect(reverse.locator("#settings-help")).to_contain_text("leading")
    expect(reverse.locator("#settings-help")).to_contain_text("Ho & Salimans' 1 + w")
    expect(reverse.locator("#model-status")).to_contain_text("cosine schedule")
    expect(reverse.locator("#model-status")).to_contain_text("predicting the noise ε")


# ---------------------------------------------------------------------------- the forward tab
@pytest.fixture(scope="module")
def forward(browser, app_url):
    pg = open_page(browser, app_url)
    expect(pg.locator("#readout")).to_contain_text("t = 250")
    yield pg
    pg.close()


def test_6_a_custom_schedule_shows_in_the_controls(forward):
    forward.locator("text=Custom schedule").first.click()
    forward.locator("#custom-text textarea").fill("0.0001, 0.0002, 0.0003, 0.0004, 0.0005, 0.01, 0.02, 0.05, 0.1, 0.2")
    forward.locator("#custom-btn").click()
    expect(forward.locator("#custom-msg")).to_contain_text("T = 10 steps")
    expect(forward.locator("#sched-name input")).to_have_value("custom (pasted or uploaded)")
    expect(forward.locator("#steps-T input")).to_have_value("10")
    expect(forward.locator("#t-slider input[type=number]")).to_have_attribute("max", "9")  # t = 0 .. T-1


def test_11_a_pasted_diffusers_config_is_read_as_one(forward):
    forward.locator("#custom-text textarea").fill(SD15)  # with the default "betas" format chosen
    forward.locator("#custom-btn").click()
    expect(forward.locator("#custom-msg")).to_contain_text("read as a diffusers scheduler config")
    expect(forward.locator("#custom-msg")).to_contain_text("steps_offset")
    expect(forward.locator("#steps-T input")).to_have_value("1000")


def test_10_a_bad_T_gets_one_message_and_the_box_keeps_the_T_in_use(forward):
    forward.locator("#sched-name input").fill("linear")
    forward.locator("#sched-name input").press("Enter")
    expect(forward.locator("#steps-T input")).to_be_enabled()
    forward.locator("#steps-T input").fill("1000")
    forward.locator("#steps-T input").press("Enter")
    expect(forward.locator("#t-slider input[type=number]")).to_have_attribute("max", "999")
    for bad in ("0", "-5"):
        forward.locator("#steps-T input").fill(bad)
        forward.locator("#steps-T input").press("Enter")
        expect(forward.locator("#spec-msg")).to_contain_text("Kept T = 1000")
        expect(forward.locator("#steps-T input")).to_have_value("1000")
    assert forward.locator(".toast-body").count() == 0


def test_9_the_more_steps_fix_names_its_T_and_clears_the_error(forward):
    forward.locator("#steps-T input").fill("50")
    forward.locator("#steps-T input").press("Enter")
    expect(forward.locator("#fix-steps")).to_have_text("Fix: use more steps (T = 800)")
    forward.locator("#fix-steps").click()
    expect(forward.locator("#steps-T input")).to_have_value("800")
    expect(forward.locator("#checks")).not_to_contain_text("error:")


def test_12_controls_that_do_not_apply_are_off_and_plots_say_what_they_show(forward):
    expect(forward.locator("#chain-alpha input[type=range]")).to_be_disabled()
    forward.locator("#mode").get_by_label("chain of single steps q(x_t | x_{t-1})").check()
    expect(forward.locator("#chain-alpha input[type=range]")).to_be_enabled()
    forward.locator("#mode").get_by_label("closed form q(x_t | x_0)").check()
    expect(forward.locator("#schedule-plots")).to_contain_text("(dotted)")
    forward.locator("#log-beta input").check()
    expect(forward.locator("#schedule-plots")).to_contain_text("(log axis)")


def test_8_each_picture_says_its_scale(forward):
    expect(forward.locator("#noise-image")).to_contain_text("[−3, 3]")
    expect(forward.locator("#xt-image")).to_contain_text("[−1, 1]")
    forward.locator("#same-scale input").check()
    expect(forward.locator("#xt-image")).to_contain_text("[−3, 3]")
    expect(forward.locator("#x0-image")).to_contain_text("[−3, 3]")
    forward.locator("#same-scale input").uncheck()


def test_7_a_bundled_image_replaces_an_upload(forward):
    forward.set_input_files("#upload input[type=file]", str(ROOT / "assets" / "photos" / "chelsea.jpg"))
    expect(forward.locator("#image-msg")).to_contain_text("your upload")
    forward.locator("#image-choice input").fill("Photo: coffee")
    forward.locator("#image-choice input").press("Enter")
    expect(forward.locator("#image-msg")).to_contain_text("512 x 341 px, colour")
    expect(forward.locator("#image-msg")).not_to_contain_text("your upload")


# ---------------------------------------------------------------------------- links and Show me
def test_13_a_link_reproduces_the_whole_forward_view(browser, app_url):
    pg = open_page(browser, app_url)
    expect(pg.locator("#readout")).to_contain_text("t = 250")
    pg.locator("#image-choice input").fill("Photo: coffee")
    pg.locator("#image-choice input").press("Enter")
    expect(pg.locator("#image-msg")).to_contain_text("512 x 341")
    pg.locator("#sched-name input").fill("scaled_linear")
    pg.locator("#sched-name input").press("Enter")
    pg.locator("#rescale input").check()
    expect(pg.locator("#checks")).not_to_contain_text("not pure noise")
    set_number(pg, "t-slider", 700)
    set_number(pg, "fwd-seed", 42)
    pg.locator("#compare-with input").fill("sigmoid")
    pg.locator("#compare-with input").press("Enter")
    ab = make_schedule("scaled_linear", 1000, rescale_zero_snr=True).alpha_bar(700)
    expect(pg.locator("#readout")).to_contain_text(f"{ab:.4f}")
    pg.locator("#share-btn").click()
    box = pg.locator("#share-link textarea, #share-link input").first
    expect(box).to_have_value(re.compile(r"rescale=1"))
    link = box.input_value()
    for part in ("image=Photo", "schedule=scaled_linear", "t=700", "seed=42", "compare=linear,sigmoid"):
        assert part in link.replace("%3A", ":").replace("+", " ").replace("%2C", ","), (part, link)
    pg.close()
    again = open_page(browser, link)
    expect(again.locator("#readout")).to_contain_text(f"{ab:.4f}")
    expect(again.locator("#readout")).to_contain_text("t = 700 ")
    expect(again.locator("#image-msg")).to_contain_text("512 x 341 px, colour")
    expect(again.locator("#rescale input")).to_be_checked()
    expect(again.locator("#fwd-seed input")).to_have_value("42")
    again.close()


def test_14_a_links_note_is_on_top_and_short(browser, app_url):
    pg = open_page(browser, f"{app_url}?t={'9' * 5000}&steps=abc")
    note = pg.locator("#url-note")
    expect(note).to_contain_text("is not a number")
    assert len(note.inner_text()) < 400
    assert note.bounding_box()["y"] < pg.locator("#tabs").bounding_box()["y"]
    pg.close()


def test_15_show_me_sets_what_the_lesson_points_at_and_leads_back(browser, app_url):
    pg = open_page(browser, app_url)
    pg.get_by_role("tab", name="Learn").click()
    pg.locator("#next-btn").click()
    expect(pg.locator("#lesson-md")).to_contain_text("2. Noise schedules")
    pg.locator("#show-btn").click()
    expect(pg.get_by_role("tab", name="Forward process")).to_have_attribute("aria-selected", "true")
    expect(pg.locator("#compare-with")).to_contain_text("cosine")
    expect(pg.locator("#sched-name input")).to_have_value("linear")
    expect(pg.locator("#lesson-banner")).to_contain_text(ls.LESSONS[1].look_for[:40])
    pg.locator("#back-to-lesson").click()
    expect(pg.get_by_role("tab", name="Learn")).to_have_attribute("aria-selected", "true")
    expect(pg.locator("#lesson-banner")).to_be_hidden()
    pg.locator("#next-btn").click()
    expect(pg.locator("#lesson-md")).to_contain_text("3. The denoising objective")
    pg.locator("#show-btn").click()
    expect(pg.locator("#rev-status")).to_contain_text("Done: 20 steps")
    expect(pg.locator("#sdedit-text")).to_contain_text("correlation")  # the eps-MSE curve's panel is open and drawn
    expect(pg.locator("#lesson-banner")).to_contain_text("eps-MSE curve")
    pg.close()


# ---------------------------------------------------------------------------- presenter, projector, phone
def test_20_presenter_mode_scales_every_tab_and_survives_a_reload(browser, app_url):
    pg = open_page(browser, app_url)
    expect(pg.locator("#readout")).to_contain_text("t = 250")
    share = pg.locator("#share-btn").bounding_box()["height"]
    pg.get_by_role("tab", name="Learn").click()
    pg.locator("#presenter input").check()
    expect(pg.locator("body")).to_have_class(re.compile("presenter"))
    pg.get_by_role("tab", name="Forward process").click()
    assert pg.locator("#share-btn").bounding_box()["height"] > 1.2 * share  # buttons on another tab grow too
    pg.reload(wait_until="load")
    expect(pg.locator("body")).to_have_class(re.compile("presenter"))
    pg.get_by_role("tab", name="Learn").click()
    expect(pg.locator("#presenter input")).to_be_checked()
    pg.screenshot(path=str(SHOTS / "presenter_mode.png"))
    pg.locator("#presenter input").uncheck()
    expect(pg.locator("body")).not_to_have_class(re.compile("presenter"))
    pg.close()


def test_21_on_a_projector_t_the_picture_and_the_plot_share_one_screen(browser, app_url):
    pg = open_page(browser, app_url, 1920, 1080)
    expect(pg.locator("#readout")).to_contain_text("t = 250")
    expect(pg.locator("#schedule-plots .js-plotly-plot").first).to_be_visible(timeout=30000)
    for sel in ("#t-slider", "#xt-image", "#schedule-plots .js-plotly-plot"):
        box = pg.locator(sel).first.bounding_box()
        assert box["y"] + box["height"] <= 1080, (sel, box)
    SHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SHOTS / "forward_1920.png"))
    pg.close()


def test_22_on_a_phone_every_tab_is_reachable_and_nothing_is_cut(browser, app_url):
    pg = open_page(browser, app_url, 390, 844)
    expect(pg.locator("#readout")).to_contain_text("t = 250")
    for name in TAB_NAMES.values():
        expect(pg.get_by_role("tab", name=name)).to_be_visible()
    pg.screenshot(path=str(SHOTS / "forward_390.png"))
    pg.get_by_role("tab", name="Compare").click()
    th = pg.locator("#cmp-table th").first
    expect(th).to_be_visible()
    assert th.evaluate("e => getComputedStyle(e).whiteSpace") == "nowrap"
    pg.get_by_role("tab", name="Learn").click()
    pg.locator("#lesson-pick").get_by_label(ls.LESSONS[6].title).check()
    expect(pg.locator("#lesson-md")).to_contain_text("Diffusion vs GAN vs VAE")
    eq = pg.locator("#lesson-md .katex-display").first
    expect(eq).to_be_visible()
    pg.wait_for_function("() => { const e = document.querySelector('#lesson-md .katex-display'); "
                         "return e && ['auto', 'scroll'].includes(getComputedStyle(e).overflowX); }")  # scrolls, not clipped
    pg.screenshot(path=str(SHOTS / "learn_390.png"))
    pg.close()


# ---------------------------------------------------------------------------- the compare tab
def test_24_the_compare_tab_fills_in_and_says_what_its_figures_mean(browser, app_url):
    pg = open_page(browser, app_url)
    pg.get_by_role("tab", name="Compare").click()
    expect(pg.locator("#cmp-timing")).to_contain_text("VAE")  # samples without pressing anything
    expect(pg.locator("#cmp-dit img")).to_be_visible()
    table = pg.locator("#cmp-table")
    expect(table.locator("strong").first).to_be_visible()
    expect(table).to_contain_text("a GPU minute and a CPU minute are not the same budget")
    expect(table).to_contain_text("further from 1 either way is further from the data")
    expect(table).to_contain_text("share of its mean")
    pg.screenshot(path=str(SHOTS / "compare.png"), full_page=True)
    pg.close()
