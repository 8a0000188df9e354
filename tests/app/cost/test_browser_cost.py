"""The Cost tab in headless Chromium: it opens on the recorded figures (plots and tables), and the live comparison
draws three grids from the same x_T. Each check waits for what it expects."""
import json
from pathlib import Path

from playwright.sync_api import expect

from diffusion_core.evaluation.measured_figures import COST_FIGURES

SHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"


def test_the_cost_tab_shows_the_record_and_compares_three_precisions_live(browser, app_url):
    figures = json.loads(COST_FIGURES.read_text())
    default = figures["frontier"]["presets"]["default"]
    pg = browser.new_page(viewport={"width": 1400, "height": 1800})
    pg.set_default_timeout(60000)
    pg.goto(app_url, wait_until="load")
    pg.get_by_role("tab", name="Cost").click()
    expect(pg.locator("#cost-frontier-md")).to_contain_text(f"{100 * default['accuracy']:.1f}%")
    expect(pg.locator("#cost-precision-table table")).to_contain_text("int8")
    expect(pg.locator("#cost-frontier-accuracy .js-plotly-plot")).to_be_visible()
    expect(pg.locator("#cost-memory-md")).to_contain_text(figures["memory"]["measured"]["machine"])
    pg.locator("#cost-n input[type=number]").fill("2")
    pg.locator("#cost-preset").get_by_label("fast").check()
    pg.locator("#cost-live-btn").click()
    expect(pg.locator("#cost-live-md")).to_contain_text("int8", timeout=120000)
    for name in ("float32", "bfloat16", "int8"):
        expect(pg.locator(f"#cost-live-{name} img")).to_be_visible()
    SHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SHOTS / "cost.png"))
    pg.close()
