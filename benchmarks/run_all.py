"""Every speed target of the project in one command, printed with its target and met / MISSED.
Asserts nothing. Runs `python app.py` in its own process for the app-level figures.

    python benchmarks/run_all.py [--device cpu|cuda] [--n 30]

- start-up: `python app.py` until it serves (target 10 s on the CPU)
- forward lab: a t-slider move as the browser makes it (POST + image GET): digit 100 ms, photo 250 ms
- reverse: first frame after Generate (300 ms) and 16 digits x 20 guided steps in the app (2 s), twice:
  through the HTTP stream as a remote browser gets it (the server alone on the 2 cores), and in headless
  chromium on this same machine (the page's own work shares the cores); the DiT itself: one guided
  step (80 ms), 16 x 20 (1.5 s), in float32 and as the app runs it (bf16 where the CPU has it)
- GAN and VAE: 16 digits (50 ms)
- our DDIM loop against diffusers' DDIMScheduler loop over the same guided DiT (ratio <= 1.05)
- the server's peak memory after all of the above
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import torch  # noqa: E402

from bench_models import speed_case, timed  # noqa: E402
from diffusion_core.pipelines.generation import app_denoiser  # noqa: E402
from diffusion_core.networks.pretrained import load_pretrained  # noqa: E402
from diffusion_core.networks import runtime  # noqa: E402
from diffusion_core.networks.runtime import device_name  # noqa: E402
from diffusion_core.maths.samplers import sample, step_grid  # noqa: E402
from server import AppServer, stream_timed  # noqa: E402

SPEC = json.dumps({"name": "cosine", "T": 1000, "rescale": False})
MODE = "closed form q(x_t | x_0)"
ROWS: list[tuple[str, float, str, float | None, str]] = []  # label, value, unit, target, how


def row(label, value, unit, target=None, smaller_is_better=True):
    ROWS.append((label, value, unit, target, "<=" if smaller_is_better else ">="))
    verdict = ""
    if target is not None:
        ok = value <= target if smaller_is_better else value >= target
        verdict = f"  target {'<=' if smaller_is_better else '>='} {target} {unit}: {'met' if ok else 'MISSED'}"
    print(f"{label:62s} {value:9.3f} {unit}{verdict}", flush=True)


def browser_slider_ms(url: str, choice: str, n: int) -> list[float]:
    """The unqueued slider event as the browser sends it, plus fetching the new picture."""
    times = []
    for k in range(n + 1):
        body = json.dumps({"data": [choice, None, SPEC, (37 * k) % 1001, MODE, 0.99, 0, None, False]}).encode()
        start = time.perf_counter()
        req = urllib.request.Request(url + "gradio_api/run/forward", data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req) as resp:
            out = json.loads(resp.read())["data"]
        with urllib.request.urlopen(out[0]["url"]) as img:
            img.read()
        times.append(1000 * (time.perf_counter() - start))
    return times[1:]  # the first warms the caches


# label, guidance, sampler, eta, steps, seed, images, spacing, lowest guided t (0: every step is guided, the dearest)
GENERATE = ["mixed 0-9", 3, "ddim", 0, 20, 0, 16, "leading", 0]
# The same run from the page: a link sets the controls; then Generate is clicked and the page itself
# times (performance.now) the first new x_t picture and the status line turning to "done".
BROWSER_LINK = "?tab=reverse&label=mixed%200-9&guidance=3&sampler=ddim&steps=20&images=16&spacing=leading&seed=0&guidance_min_t=0"
CLICK_AND_TIME = """() => new Promise(resolve => {
  const status = document.querySelector('#rev-status'), live = document.querySelector('#live-xt');
  const src0 = live.querySelector('img') ? live.querySelector('img').src : null;
  const t0 = performance.now(); let first = null, started = false;
  const obs = new MutationObserver(() => {
    const img = live.querySelector('img');
    if (first === null && img && img.src !== src0) first = performance.now() - t0;
    if (!status.innerText.includes('Done:')) started = true;
    if (started && status.innerText.includes('Done:')) { obs.disconnect(); resolve([first, performance.now() - t0]); }
  });
  obs.observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
  document.querySelector('#generate').click();
})"""


def stream_generate(url: str, seed: int) -> tuple[float, float]:
    """One /generate as a remote page makes it (`server.stream_timed`): (ms to the first streamed frame,
    s to the end). No polling: the client costs ~no CPU."""
    data = list(GENERATE)
    data[5] = seed
    first, done, event, payload = stream_timed(url, "generate", data)
    if event != "complete":
        raise RuntimeError(f"/generate failed: {payload[:300]}")
    return 1000 * first, done


def browser_generate(url: str, reps: int) -> tuple[list[float], list[float]] | None:
    """Generate clicked in headless chromium on this same machine (its rendering shares the 2 cores)."""
    import shutil
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        return None
    first, full = [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        page = browser.new_page()
        page.goto(url + BROWSER_LINK)  # the link generates once: the warm-up
        page.wait_for_function("document.querySelector('#rev-status')?.innerText.includes('done')", timeout=120000)
        for _ in range(reps):
            time.sleep(8)  # let the previous run's plots and attention maps finish
            f, t = page.evaluate(CLICK_AND_TIME)
            first.append(f)
            full.append(t / 1000)
        browser.close()
    return first, full


def app_figures(n: int, reps: int) -> None:
    with AppServer() as srv:
        row("start-up: python app.py until it serves", srv.startup_s, "s", 10)
        for label, choice, target in (("28x28 digit", "MNIST digit 0 (#1)", 100), ("512x512 photo", "Photo: astronaut", 250)):
            ms = browser_slider_ms(srv.url, choice, n)
            row(f"forward lab: slider move, {label} (median of {n})", statistics.median(ms), "ms", target)
        stream_generate(srv.url, 0)  # warm-up
        runs = [stream_generate(srv.url, r) for r in range(reps)]
        row("reverse, HTTP stream: first frame after Generate", statistics.median(r[0] for r in runs), "ms", 300)
        row("reverse, HTTP stream: 16 digits x 20 guided steps, done", statistics.median(r[1] for r in runs), "s", 2.0)
        timed_clicks = browser_generate(srv.url, reps)
        if timed_clicks is None:
            print("chromium / playwright not found: the in-browser figures are skipped")
        else:
            row("reverse, chromium here: first x_t frame after the click", statistics.median(timed_clicks[0]), "ms", 300)
            row("reverse, chromium here: 16 x 20 guided steps, 'done' shown", statistics.median(timed_clicks[1]), "s", 2.0)
        row("server peak memory (VmHWM) after all app figures", srv.peak_rss_mb(), "MB")


def model_figures(dev: torch.device, reps: int) -> None:
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    pre, schedule, guided, x, y, t = speed_case(dev)
    with torch.inference_mode():
        row("DiT: one guided step, 16 digits", 1000 * statistics.median(timed(lambda: guided(x, t, y=y), reps * 4, sync)), "ms", 80)
        row("DiT: 16 digits x 20 guided steps (DDIM)", statistics.median(
            timed(lambda: sample("ddim", guided, x, step_grid("ddim", schedule, 20, "leading"), {"y": y}, clip_x0=1.0), reps, sync)), "s", 1.5)
    # What the app's reverse tab runs: the shared batcher (bf16 weights under autocast where the CPU has bf16).
    with app_denoiser(pre, 3.0, dev) as (_, app_guided), torch.no_grad():
        batcher = app_guided.batcher
        precision = "bf16" if runtime.uses_bf16(dev) else "float32"

        def step():
            batcher.clear_cache()  # time the network, not the cache of identical rows
            return app_guided(x, t, y=y)

        def run20():
            batcher.clear_cache()
            return sample("ddim", app_guided, x, step_grid("ddim", schedule, 20, "leading"), {"y": y}, clip_x0=1.0)

        row(f"DiT as the app runs it ({precision}, batcher): one guided step", 1000 * statistics.median(timed(step, reps * 4, sync)), "ms", 80)
        row(f"DiT as the app runs it ({precision}, batcher): 16 x 20 guided steps", statistics.median(timed(run20, reps, sync)), "s", 1.5)
    g = torch.Generator().manual_seed(0)
    for kind in ("gan", "vae"):
        rival = load_pretrained(kind, device=dev).model
        with torch.inference_mode():
            row(f"{kind.upper()}: 16 digits", 1000 * statistics.median(timed(lambda: rival.sample(16, y, generator=g), reps * 4, sync)), "ms", 50)
    diffusers_ratio(guided, schedule, x, y, reps, sync)


def diffusers_ratio(guided, schedule, x, y, reps: int, sync) -> None:
    """Our DDIM loop vs diffusers' DDIMScheduler loop, same guided DiT, same 20 leading timesteps."""
    try:
        from diffusers import DDIMScheduler
    except ImportError:
        print("diffusers not installed (pip install -r requirements-test.txt): loop ratio skipped")
        return
    ref = DDIMScheduler(num_train_timesteps=schedule.num_timesteps, beta_schedule="squaredcos_cap_v2", clip_sample=True,
                        set_alpha_to_one=True, timestep_spacing="leading", steps_offset=0, prediction_type="epsilon")

    def theirs():
        ref.set_timesteps(20)
        z = x.clone()
        for tt in ref.timesteps:
            eps = guided(z, torch.full((z.shape[0],), float(tt), device=z.device), y=y)
            z = ref.step(eps, tt, z).prev_sample
        return z

    def ours():
        return sample("ddim", guided, x, step_grid("ddim", schedule, 20, "leading"), {"y": y}, clip_x0=1.0)

    with torch.inference_mode():
        ratios = []
        for _ in range(reps):  # interleaved, so drift in the machine's speed hits both alike
            a = statistics.median(timed(ours, 1, sync))
            b = statistics.median(timed(theirs, 1, sync))
            ratios.append(a / b)
    row("sampling loop time: ours / diffusers DDIMScheduler (median)", statistics.median(ratios), "x", 1.05)


def main() -> None:
    p = argparse.ArgumentParser(description="Every speed target, printed.")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--n", type=int, default=30, help="slider moves per image")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--skip-app", action="store_true", help="model figures only (e.g. on a GPU box without a browser port)")
    args = p.parse_args()
    dev = torch.device(args.device)
    print(f"device: {device_name(dev)}; torch {torch.__version__}")
    model_figures(dev, args.repeats)
    if not args.skip_app:
        app_figures(args.n, args.repeats)


if __name__ == "__main__":
    main()
