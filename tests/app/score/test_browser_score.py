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


def field_data(page) -> dict:
    """What the field plot holds in the page: the heat map's colour range and the share of the plane it
    colours, and the arrow-head markers."""
    return page.evaluate("""() => {
        const gd = document.querySelector('#score-field .js-plotly-plot');
        const data = gd.data;
        const k = data.findIndex(t => t.type === 'heatmap');
        const heat = data[k];
        const z = Array.from(gd.calcdata[k][0].z, row => Array.from(row)).flat();
        const shown = z.filter(v => v >= heat.zmin).length / z.length;
        const heads = data.filter(t => t.marker && t.marker.symbol === 'triangle-up');
        const angles = heads.length ? gd.calcdata[data.indexOf(heads[0])].length : 0;
        return {zmin: heat.zmin, zmax: heat.zmax, shown: shown, heads: heads.length, angles: angles};
    }""")


def test_the_density_tightens_as_t_falls_and_the_arrows_have_heads(browser, app_url):
    """Issue 32, items 1-2: the heat map's colour range follows p_t (before, only its lower end was set and the
    map looked the same at every t), and every score arrow ends in a head turned along it."""
    seen = {}
    for t in (50, 900):
        pg = browser.new_page(viewport={"width": 1400, "height": 1600})
        pg.goto(app_url + f"?tab=score&points=two+moons&t={t}", wait_until="load")
        expect(pg.locator("#score-field-md")).to_contain_text(f"t = {t}", timeout=60000)
        expect(pg.locator("#score-field .js-plotly-plot").first).to_be_visible()
        seen[t] = field_data(pg)
        pg.close()
    for d in seen.values():
        assert d["zmax"] is not None and d["zmax"] - d["zmin"] == pytest.approx(8.0)
        assert d["heads"] >= 1 and d["angles"] > 10
    assert seen[50]["zmax"] > seen[900]["zmax"] + 1  # a sharper density at small t
    assert seen[50]["shown"] < 0.7 * seen[900]["shown"]  # coloured only near the data at small t


def test_the_recorded_training_replays_at_once_and_its_network_samples(browser, app_url):
    """Issue 32, item 4: lesson 8's training, recorded: its learned field at once, any snapshot, and Sample works
    on the replayed network without training."""
    from diffusion_core.app.score import score_replay

    pg = browser.new_page(viewport={"width": 1400, "height": 2000})
    pg.goto(app_url + "?tab=score&points=ring+of+8+Gaussians&t=300&replay=1", wait_until="load")
    n = score_replay.snapshots()
    expect(pg.locator("#score-progress")).to_contain_text(f"Recorded training, snapshot {n} of {n}", timeout=60000)
    expect(pg.locator("#score-field-md")).to_contain_text("error where the data lives")
    box = pg.locator("#score-replay-at input[type=number]")
    box.fill("1")
    box.press("Enter")
    expect(pg.locator("#score-progress")).to_contain_text(f"snapshot 1 of {n}")
    pg.locator("#score-sample").click()
    expect(pg.locator("#score-sample-md")).to_contain_text("driven by", timeout=60000)
    pg.close()
