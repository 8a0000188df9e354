"""The reverse-process tab in headless Chromium: generate and watch it stream, scrub, click a patch,
and closing the tab stops the generation. Each test waits for the value it expects."""
import re
import time

import pytest
from playwright.sync_api import expect

from diffusion_core.pipelines import denoising
from diffusion_core import paths

SHOTS = paths.ROOT / "docs" / "screenshots"

# Records every distinct src the live x_t picture takes, however Gradio swaps the <img>.
WATCH_LIVE = """() => {
  window.__srcs = [];
  const root = document.querySelector('#live-xt');
  const note = () => { const i = root.querySelector('img'); if (i && i.src && window.__srcs.at(-1) !== i.src) window.__srcs.push(i.src); };
  new MutationObserver(note).observe(root, {subtree: true, childList: true, attributes: true, attributeFilter: ['src']});
}"""


def open_reverse(browser, app_url):
    pg = browser.new_page(viewport={"width": 1400, "height": 2200})
    pg.set_default_timeout(60000)
    pg.goto(app_url, wait_until="load")
    pg.get_by_role("tab", name="Reverse process").click()
    expect(pg.locator("#model-status")).to_contain_text("DiT:")
    return pg


def set_number(pg, elem_id: str, value) -> None:
    box = pg.locator(f"#{elem_id} input[type=number]")
    box.fill(str(value))
    box.press("Enter")


@pytest.fixture(scope="module")
def page(browser, app_url):
    pg = open_reverse(browser, app_url)
    yield pg
    pg.close()


def test_generate_streams_then_scrub_and_click_a_patch(page):
    set_number(page, "rev-steps", 40)  # 20 bf16 steps end in ~1.2 s: too few frames at ~4 a second to count on
    page.evaluate(WATCH_LIVE)
    page.locator("#generate").click()
    expect(page.locator("#rev-status")).to_contain_text("Done: 40 steps", timeout=60000)
    srcs = page.evaluate("window.__srcs")
    assert len(set(srcs)) >= 5, f"the live picture changed only {len(set(srcs))} times while streaming"

    # The scrubber lands on the last step; move it to step 5 and see that step's predicted x0.
    expect(page.locator("#step-caption")).to_contain_text("Step 40 of 40")
    # The run's follow-up events (scrubber, plots, attention at the last step) must land first, or the
    # last of them can overwrite what the test does next.
    expect(page.locator("#attn-text")).to_contain_text("at step 40")
    before = page.locator("#step-x0 img").get_attribute("src")
    set_number(page, "step-slider", 5)
    expect(page.locator("#step-caption")).to_contain_text("Step 5 of 40")
    expect(page.locator("#step-x0 img")).not_to_have_attribute("src", before)

    # Click the bottom-left patch of the overlay: the text names it, and the map is redrawn.
    expect(page.locator("#attn-text")).to_contain_text("Patch (row 4, column 4)")
    img = page.locator("#attn-overlay img")
    before = img.get_attribute("src")
    img.scroll_into_view_if_needed()
    box = img.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.06, box["y"] + box["height"] * 0.94)
    expect(page.locator("#attn-text")).to_contain_text("Patch (row 7, column 1)")
    expect(page.locator("#attn-text")).to_contain_text("at step 5")
    expect(img).not_to_have_attribute("src", before)
    page.wait_for_timeout(500)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "reverse_process.png"), full_page=True)


def test_sdedit_from_a_real_digit(page):
    page.locator("text=From a real digit").first.click()
    page.locator("#sdedit-btn").click()
    expect(page.locator("#sdedit-text")).to_contain_text("noised to t* = 600", timeout=60000)
    expect(page.locator("#sdedit-text")).to_contain_text("correlation")


def test_closing_the_tab_stops_its_generation(browser, app_url):
    """A long run (Heun, 250 steps, 16 digits: ~500 network passes, well over 20 s here) started by a link;
    closing its tab must end it within a few seconds."""
    before = denoising.active_runs()
    pg = browser.new_page()
    pg.goto(f"{app_url}?tab=reverse&sampler=heun&steps=250&images=16", wait_until="load")
    expect(pg.locator("#rev-status")).to_contain_text(re.compile(r"step [1-9]\d* of 250"), timeout=60000)
    assert denoising.active_runs() == before + 1
    pg.close()
    deadline = time.time() + 8
    while denoising.active_runs() > before and time.time() < deadline:
        time.sleep(0.2)
    assert denoising.active_runs() == before, "the generation kept running after its tab closed"
