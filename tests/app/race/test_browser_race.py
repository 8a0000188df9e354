"""The race in headless chromium: Train, the three models' views change as they learn, the measured
curves fill in, and the summary table appears."""
from playwright.sync_api import expect

from diffusion_core import paths

SHOTS = paths.ROOT / "docs" / "screenshots"


def test_training_changes_the_three_views_and_fills_the_table(browser, app_url):
    pg = browser.new_page(viewport={"width": 1400, "height": 1600})
    pg.set_default_timeout(90000)
    pg.goto(app_url + "?tab=race&points=ring+of+8+Gaussians", wait_until="load")
    expect(pg.get_by_role("tab", name="Race")).to_have_attribute("aria-selected", "true")
    seconds = pg.locator("#race-seconds input[type=number]")
    seconds.fill("10")
    seconds.press("Enter")
    pg.locator("#race-train").click()
    titles = pg.locator("#race-samples .annotation-text")
    slow = {"timeout": 90000}  # a busy CI machine: the run itself lasts 10 s
    expect(pg.locator("#race-status")).to_contain_text("ms/step", **slow)
    expect(titles.first).to_contain_text("modes", **slow)  # measured: the panels' titles carry the figures
    expect(pg.locator("#race-status")).to_contain_text("████████████████████", **slow)  # the end (a measurement every 2 s)
    # several measurements drawn: the coverage and distance curves carry a point per model per measurement
    pg.wait_for_function("() => document.querySelectorAll('#race-measures .scatterlayer .points path').length >= 12",
                         timeout=90000)
    for name in ("diffusion", "gan", "vae"):
        expect(pg.locator("#race-samples")).to_contain_text(f"{name}:")
    expect(pg.locator("#race-measures")).to_contain_text("modes covered")
    pg.locator("#race-table-btn").click()
    expect(pg.locator("#race-table")).to_contain_text("modes covered")
    expect(pg.locator("#race-table")).to_contain_text("network evaluations per sample")
    pg.wait_for_timeout(300)
    pg.screenshot(path=str(SHOTS / "race.png"), full_page=True)
    pg.close()
