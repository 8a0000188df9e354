"""The real UI in headless Chromium (Debian's chromium, driven by playwright; no browser download).
Each test waits for the value it expects, not for any change."""

import pytest
from playwright.sync_api import expect

from tests.conftest import drag_slider

from diffusion_core.maths.schedules import make_schedule
from diffusion_core import paths

ROOT = paths.ROOT
SHOTS = ROOT / "docs" / "screenshots"


@pytest.fixture(scope="module")
def page(browser, app_url):
    pg = browser.new_page(viewport={"width": 1400, "height": 1700})
    pg.set_default_timeout(30000)
    pg.goto(app_url, wait_until="load")
    expect(pg.locator("#readout")).to_contain_text("t = 250", timeout=60000)
    yield pg
    pg.close()


def test_dragging_t_moves_the_picture_and_the_alpha_bar_readout(page):
    before = page.locator("#xt-image img").get_attribute("src")
    drag_slider(page, "t-slider", 0.25, 0.75, steps=12)
    number = page.locator("#t-slider input[type=number]")
    expect(number).not_to_have_value("250")
    t = int(number.input_value())
    assert 500 < t <= 1000
    ab = float(make_schedule("cosine", 1000).alpha_bar(t))
    expect(page.locator("#readout")).to_contain_text(f"t = {t} ")
    expect(page.locator("#readout")).to_contain_text(f"{ab:.4f}")
    expect(page.locator("#ab-slider input[type=number]")).to_have_value(str(round(ab, 6)))
    expect(page.locator("#xt-image img")).not_to_have_attribute("src", before)


def test_moving_alpha_bar_moves_t(page):
    ab_box = page.locator("#ab-slider input[type=number]")
    ab_box.fill("0.5")
    ab_box.press("Enter")
    t = int(make_schedule("cosine", 1000).t_for_alpha_bar(0.5))
    expect(page.locator("#t-slider input[type=number]")).to_have_value(str(t))
    expect(page.locator("#readout")).to_contain_text(f"t = {t} ")


def test_uploading_a_photo(page):
    page.set_input_files("#upload input[type=file]", str(ROOT / "assets" / "photos" / "coffee.jpg"))
    expect(page.locator("#image-msg")).to_contain_text("your upload")
    expect(page.locator("#image-msg")).to_contain_text("512 x 341 px, colour")
    for elem in ("x0-image", "xt-image"):  # the pictures themselves, not just the message, show the photo
        page.wait_for_function(f"() => {{ const i = document.querySelector('#{elem} img'); return i && i.complete && i.naturalWidth === 512; }}")
    expect(page.locator("#readout")).to_contain_text("t = ")
    page.wait_for_timeout(500)  # let the strip and plots finish drawing for the screenshot
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "forward_lab.png"))


def test_a_broken_schedule_is_explained(page):
    page.locator("text=Custom schedule").first.click()
    page.locator("#custom-text textarea").fill("0.001, 0.002, banana, 0.004")
    page.locator("#custom-btn").click()
    expect(page.locator("#custom-msg")).to_contain_text("Entry 3 ('banana') is not a number")
    page.locator("#custom-text textarea").fill("0.1, 1.5")
    page.locator("#custom-btn").click()
    expect(page.locator("#custom-msg")).to_contain_text("must be < 1")
    page.locator("#custom-text textarea").fill("0.01, 0.02, 0.05, 0.1, 0.2")
    page.locator("#custom-btn").click()
    expect(page.locator("#custom-msg")).to_contain_text("T = 5 steps")
    expect(page.locator("#t-slider input[type=number]")).to_have_attribute("max", "4")  # t = 0 .. T-1
    expect(page.locator("#t-slider input[type=number]")).to_have_value("4")  # clamped into the new range
    expect(page.locator("#readout")).to_contain_text("t = 4 ")
    expect(page.get_by_text("Error", exact=True)).to_have_count(0)  # no component shows an error pill
    page.screenshot(path=str(SHOTS / "custom_schedule.png"), full_page=True)
