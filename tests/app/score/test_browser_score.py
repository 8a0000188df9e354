"""The score lab in headless chromium: open it, draw, train, drag t, switch between the ODE and the SDE,
and see every view change. Each step waits for the value it expects."""
import pytest
from playwright.sync_api import expect

from tests.conftest import drag_slider

from diffusion_core import paths

SHOTS = paths.ROOT / "docs" / "screenshots"


@pytest.fixture(scope="module")
def page(browser, app_url):
    pg = browser.new_page(viewport={"width": 1400, "height": 2000})
    pg.set_default_timeout(30000)
    pg.goto(app_url + "?tab=score&points=two+moons&t=400", wait_until="load")
    expect(pg.locator("#score-data-md")).to_contain_text("two moons", timeout=60000)
    expect(pg.locator("#score-field-md")).to_contain_text("t = 400")
    yield pg
    pg.close()


def plot_title(page, elem: str) -> str:
    return page.locator(f"#{elem} .gtitle").first.text_content() or ""


def test_train_drag_t_and_switch_ode_and_sde(page):
    expect(page.locator("#score-field-md")).to_contain_text("Train the network")
    seconds = page.locator("#score-seconds input[type=number]")
    seconds.fill("3")
    seconds.press("Enter")
    page.locator("#score-train").click()
    expect(page.locator("#score-progress")).to_contain_text("s of training")
    expect(page.locator("#score-field-md")).to_contain_text("error where the data lives", timeout=60000)
    expect(page.locator("#score-train-plot .js-plotly-plot").first).to_be_visible()
    expect(page.locator("#score-train-plot")).to_contain_text("training loss")

    before = plot_title(page, "score-field")
    drag_slider(page, "score-t", 0.05, 0.6)
    t = int(page.locator("#score-t input[type=number]").input_value())
    assert t != 400
    expect(page.locator("#score-field-md")).to_contain_text(f"t = {t},")
    assert plot_title(page, "score-field") != before

    page.locator("#score-sampler input").fill("ddim")
    page.keyboard.press("Enter")
    page.locator("#score-sample").click()
    expect(page.locator("#score-sample-md")).to_contain_text("probability-flow ODE")
    ode = page.locator("#score-sample-md").text_content()
    page.locator("#score-sampler input").fill("ddpm")
    page.keyboard.press("Enter")
    page.locator("#score-sample").click()
    expect(page.locator("#score-sample-md")).to_contain_text("reverse SDE")
    assert page.locator("#score-sample-md").text_content() != ode
    expect(page.locator("#score-paths .gtitle").first).to_contain_text("samples")
    page.wait_for_timeout(400)
    page.screenshot(path=str(SHOTS / "score_lab.png"), full_page=True)


def test_clicking_the_canvas_draws_points(page):
    page.locator("#score-clear").click()
    expect(page.locator("#score-data-md")).to_contain_text("Click the canvas")
    canvas = page.locator("#score-canvas img")
    box = canvas.bounding_box()
    for fx, fy in ((0.3, 0.3), (0.7, 0.7)):
        canvas.click(position={"x": fx * box["width"], "y": fy * box["height"]})
        page.wait_for_timeout(300)
    expect(page.locator("#score-data-md")).to_contain_text("drawn points: 24 points")
    expect(page.locator("#score-field-md")).to_contain_text("exact score")
