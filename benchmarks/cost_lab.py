"""The cost lab's figures (issue 35): what a DiT sample costs and what makes it cheaper, measured on this machine and
recorded in assets/cost_figures.json, which the Cost tab and lesson 11 read. Prints every figure; asserts nothing.

    python benchmarks/cost_lab.py --record                  # all five parts at N = 1000 (about 25 min on 2 idle cores)
    python benchmarks/cost_lab.py --record --n 100          # the same, quick and noisy (the file says its N)
    python benchmarks/cost_lab.py --record --only memory    # re-measure some parts; the others stay as recorded
    python benchmarks/cost_lab.py --speed                   # the Cost tab's targets: opening it, the live comparison

The quality rows (N digits sampled and scored) run in --workers processes of one thread each, side by side
(`quality_pool.py`); everything timed on its own (a step, a forward, a training step) runs alone, with every thread.

The parts:
- frontier: accuracy and Frechet distance (the project's classifier, N digits, balanced labels, one seed) against
  network passes per image for DDPM, DDIM (trailing spacing), DPM-Solver++(2M), Euler and Heun (Karras sigmas), from
  1 step (2 passes) to about 100 passes, guidance as the default's at every step; the default and fast presets; the
  GAN's and VAE's one pass at the same N and seed. Sampled at the app's precision (bf16 where the CPU has it).
- precision: the DiT in float32, bfloat16 and int8 (`networks/precision.py`): ms of one guided 16-digit step, the
  size of its weights, its predicted noise against float32's, and its quality at the default setting.
- pruning: 25% and 50% of every MLP's hidden units removed by magnitude (`networks/pruning.py`), then a short
  recovery fine-tune on MNIST (`training/recovery_tune.py`, --tune-steps): step time, size, quality, at the app's
  precision. The fine-tuned weights go to runs/cost_lab/ (not shipped).
- compute: counted operations and measured ms of one forward by part (attention projections, attention scores,
  MLP) at patch 7, 4, 2 (16, 49, 196 tokens), on the shipped model's width and depth; a guided step against an
  unguided one.
- memory: the memory one training step adds against the batch size, with and without activation checkpointing,
  each in a fresh process (`evaluation/train_memory.py`); on a GPU too when one is present.
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from diffusion_core.data.mnist import load_mnist, to_uint8  # noqa: E402
from diffusion_core.evaluation.cost_report import SCHEMA_VERSION, remedies  # noqa: E402
from diffusion_core.evaluation.cost_timing import compute_split, guided, step_inputs, step_ms  # noqa: E402
from diffusion_core.evaluation.measured_figures import COST_FIGURES, figures_on_disk, write_figures  # noqa: E402
from diffusion_core.evaluation.quality import evaluate_samples  # noqa: E402
from diffusion_core.evaluation.train_memory import peak_step_memory  # noqa: E402
from diffusion_core.maths.schedules import schedule_from_dict  # noqa: E402
from diffusion_core.networks import runtime  # noqa: E402
from diffusion_core.networks.precision import PRECISIONS, int8_available, model_at, precision_net, weight_bytes  # noqa: E402
from diffusion_core.networks.pretrained import load_pretrained, save_pretrained  # noqa: E402
from diffusion_core.networks.pruning import prune_mlp  # noqa: E402
from diffusion_core.pipelines.generation import generate, parse_labels  # noqa: E402
from diffusion_core.settings import sampling, with_values  # noqa: E402
from diffusion_core.training.recovery_tune import recovery_tune  # noqa: E402
from quality_pool import METRICS, QualityJob, QualityPool  # noqa: E402

PARTS = ("frontier", "precision", "pruning", "compute", "memory")
FRONTIER = {"ddpm": ("trailing", (1, 2, 5, 10, 20, 50)), "ddim": ("trailing", (1, 2, 5, 10, 20, 50)),
            "dpm++2m": ("karras", (1, 2, 5, 10, 20, 50)), "euler": ("karras", (1, 2, 5, 10, 20, 50)),
            "heun": ("karras", (1, 2, 3, 5, 10, 25))}  # passes with guidance at every step: 2 per evaluation
FRACTIONS = (0.25, 0.5)
BATCHES = (16, 32, 64, 128, 256)
TUNED_DIR = ROOT / "runs" / "cost_lab"


def machine() -> str:
    """This machine in words: the CPU's model, its threads and bf16, torch; and the GPU when there is one."""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor() or platform.machine()
    bf16 = ", native bf16" if runtime.cpu_has_fast_bf16() else ""
    gpu = f"; GPU: {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "; no GPU"
    return f"{cpu} ({platform.machine()}, {torch.get_num_threads()} threads{bf16}{gpu}), torch {torch.__version__}"


def app_precision() -> str:
    """The precision the app samples at on this CPU."""
    return "bfloat16" if runtime.uses_bf16(torch.device("cpu")) else "float32"


class Lab:
    """One recording: the shipped DiT, the labels, the seed, and the pool that measures quality rows (a setting and
    a network measured once per run, whichever part asks first)."""

    def __init__(self, n: int, seed: int, workers: int):
        self.pre = load_pretrained("dit")
        self.n, self.seed = n, seed
        self.labels = parse_labels("balanced", n)
        self.pool = QualityPool(self.pre.meta, n, seed, workers)


def frontier(lab: Lab) -> dict:
    app = app_precision()
    base = sampling(lab.pre.meta)
    grid = [with_values(base, sampler=sm, steps=st, spacing=sp) for sm, (sp, steps) in FRONTIER.items() for st in steps]
    named = [sampling(lab.pre.meta, name) for name in ("default", "fast")]
    measured = lab.pool.rows([QualityJob(app, app, s) for s in grid + named])
    rows, presets = measured[:len(grid)], dict(zip(("default", "fast"), measured[len(grid):]))
    one_pass = {}
    for kind in ("gan", "vae"):
        start = time.perf_counter()
        images = generate(kind, lab.labels, lab.seed)
        ms = (time.perf_counter() - start) * 1000 / lab.n
        r = evaluate_samples(to_uint8(images.numpy()), lab.labels, seed=lab.seed)
        one_pass[kind] = {"passes": 1, "ms_per_image": round(ms, 3), **{k: round(float(r[k]), 5) for k in METRICS}}
        print(f"  {kind}: 1 pass: accuracy {100 * r['accuracy']:.1f}%, FD {r['frechet_distance']:.2f}", flush=True)
    return {"precision": app, "guidance": base.guidance, "rows": rows, "presets": presets, "one_pass": one_pass}


def eps_difference(net, reference, images: int = 64) -> float:
    """The relative L2 difference of `net`'s predicted noise from `reference`'s on `images` noisy inputs."""
    x, t, y = step_inputs(images, seed=1)
    with torch.no_grad():
        a, b = reference(x, t, y), net(x, t, y)
    return float((a - b).norm() / a.norm())


def precision(lab: Lab) -> dict:
    s, model = sampling(lab.pre.meta), lab.pre.model
    names = [name for name in PRECISIONS if name != "int8" or int8_available()]
    nets = {name: precision_net(model, name) for name in names}
    ms = step_ms({name: guided(net, s.guidance) for name, net in nets.items()}, 16, repeats=9)  # in turn: drift hits all alike
    quality = dict(zip(names, lab.pool.rows([QualityJob(name, name, s) for name in names])))
    rows = []
    for name in PRECISIONS:
        if name not in nets:
            rows.append({"dtype": name, "available": False})
            continue
        rows.append({"dtype": name, "available": True, "ms_per_guided_step": round(ms[name], 2),
                     "weight_bytes": weight_bytes(model_at(model, name)),
                     "eps_difference": round(eps_difference(nets[name], model), 5), **quality[name]})
        print(f"  {name}: {rows[-1]['ms_per_guided_step']:.1f} ms per guided 16-digit step, "
              f"{rows[-1]['weight_bytes'] / 2**20:.2f} MiB", flush=True)
    return {"images_per_step": 16, "setting": s.recipe(), "rows": rows}


def pruning(lab: Lab, tune_steps: int) -> dict:
    """The shipped model, each share of MLP units pruned, and each pruned model fine-tuned: their step times measured
    in turn, then each one's quality, at the app's precision."""
    app, s, model = app_precision(), sampling(lab.pre.meta), lab.pre.model
    schedule = schedule_from_dict(lab.pre.meta["schedule"])
    images, labels = load_mnist("train")
    variants = [(app, model, 0.0, None)]
    for fraction in FRACTIONS:
        variants.append((f"pruned {fraction:g}", prune_mlp(model, fraction), fraction, None))
        tuned, log = recovery_tune(prune_mlp(model, fraction), schedule, images, labels, steps=tune_steps, seed=lab.seed)
        print(f"  {fraction:.0%} pruned, fine-tuned {tune_steps} steps in {log['seconds']:.0f} s: loss "
              f"{log['first_loss']:.4f} -> {log['last_loss']:.4f}", flush=True)
        stem = TUNED_DIR / f"dit_mlp{round(100 * fraction)}_tuned" / "dit_mnist"
        stem.parent.mkdir(parents=True, exist_ok=True)
        save_pretrained(tuned, stem, {**lab.pre.meta, "config": tuned.config.to_dict(), "pruned": {"fraction": fraction, **log}})
        variants.append((f"pruned {fraction:g}, tuned", tuned, fraction, log))
    nets = {name: precision_net(m, app) for name, m, _, _ in variants}
    ms = step_ms({name: guided(net, s.guidance) for name, net in nets.items()}, 16, repeats=9)
    quality = lab.pool.rows([QualityJob(name, app, s, model=None if name == app else m) for name, m, _, _ in variants])
    rows = [{"fraction": fraction, "tuned": log is not None, "tune": log, "parameters": sum(p.numel() for p in m.parameters()),
             "weight_bytes": weight_bytes(m), "ms_per_guided_step": round(ms[name], 2), **q}
            for (name, m, fraction, log), q in zip(variants, quality)]
    return {"precision": app, "what": "MLP hidden units, by the L1 norm of their incoming weights", "setting": s.recipe(),
            "tuned_weights": str(TUNED_DIR.relative_to(ROOT)), "rows": rows}


def compute(lab: Lab) -> dict:
    rows = compute_split(lab.pre.model.config, rows=32, repeats=9)
    for r in rows:
        f, ms = r["flops_per_image"], r["ms"]
        print(f"  patch {r['patch_size']} ({r['tokens']} tokens): {f['total'] / 1e6:.0f} MFLOP per image (scores "
              f"{f['attention_scores'] / 1e6:.1f}, MLP {f['mlp'] / 1e6:.0f}); forward of 32 {ms['forward']:.1f} ms, "
              f"attention {ms['attention']:.1f}, scores {ms['attention_scores']:.1f}, MLP {ms['mlp']:.1f}", flush=True)
    net, g = lab.pre.model, sampling(lab.pre.meta).guidance
    ms = step_ms({"guided": guided(net, g), "unguided": guided(net, 1.0)}, 16, repeats=9)
    pair = {"images": 16, "precision": "float32", "guidance": g, "guided_ms": round(ms["guided"], 2),
            "unguided_ms": round(ms["unguided"], 2), "flops_ratio": 2.0}
    print(f"  guided 16-digit step {pair['guided_ms']:.1f} ms, unguided {pair['unguided_ms']:.1f} ms")
    return {"rows": rows, "guided": pair, "depth": lab.pre.model.config.depth, "width": lab.pre.model.config.hidden_size}


def memory(lab: Lab) -> dict:
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    rows = []
    for device in devices:
        for checkpointing in (False, True):
            for batch in BATCHES:
                rows.append(peak_step_memory(batch, checkpointing, device=device))
                print(f"  {device} batch {batch}, checkpointing {checkpointing}: {rows[-1]['step_mb']:.0f} MiB", flush=True)
    return {"preset": "medium", "rows": rows}


def serving_verdict(figures: dict) -> None:
    """Whether int8 or the fast preset keeps accuracy within 0.5 points of the default and is faster: then the
    classroom benchmark should say whether it serves a class better."""
    for r in remedies(figures):
        if r["accuracy_drop_points"] is None:
            continue
        fits = r["accuracy_drop_points"] <= 0.5 and r["speedup"] > 1
        how = ("measure it under load with `python benchmarks/classroom.py --preset fast --distinct-only` against the "
               "default" if r["key"] == "fast" else "measure it under load with `python benchmarks/classroom.py "
               "--distinct-only --env DIFFUSION_CLASSROOM_SERVE_PRECISION=int8` against the same without --env")
        print(f"{r['name']}: {r['speedup']:.2f}x the default's speed, accuracy {-r['accuracy_drop_points']:+.1f} points against it"
              + (f" -> within 0.5 points and faster: {how}" if fits else ""))


def record(args) -> None:
    lab = Lab(args.n, args.seed, args.workers)
    figures = dict(figures_on_disk(COST_FIGURES)) if args.only else {}
    command = "python benchmarks/cost_lab.py " + " ".join(sys.argv[1:])
    started = time.perf_counter()
    for part in args.only or PARTS:
        print(f"\n# {part}", flush=True)
        start = time.perf_counter()
        data = {"frontier": frontier, "precision": precision, "compute": compute, "memory": memory}.get(part)
        data = pruning(lab, args.tune_steps) if part == "pruning" else data(lab)
        data["measured"] = {"machine": machine(), "created": time.strftime("%Y-%m-%d %H:%M:%S"), "command": command,
                            "seconds": round(time.perf_counter() - start, 1),
                            **({"n": args.n, "seed": args.seed, "workers": args.workers, "batch": lab.pool.batch}
                               if part in ("frontier", "precision", "pruning") else {})}
        figures[part] = data
        print(f"# {part}: {data['measured']['seconds']:.0f} s", flush=True)
    figures.update(schema=SCHEMA_VERSION, command=command, created=time.strftime("%Y-%m-%d %H:%M:%S"), machine=machine(),
                   seconds=round(time.perf_counter() - started, 1), weights_steps=lab.pre.meta["training"]["steps"])
    lab.pool.close()
    serving_verdict(figures)
    if args.record:
        write_figures(COST_FIGURES, figures)
        print(f"\nrecorded in {COST_FIGURES.relative_to(ROOT)} ({figures['seconds'] / 60:.1f} min)")


def verdict(label: str, seconds: float, target: float) -> None:
    print(f"{label:62s} {seconds:6.2f} s  target <= {target} s: {'met' if seconds <= target else 'MISSED'}", flush=True)


def browser_open_s(reps: int = 3) -> float | None:
    """The median seconds from clicking the Cost tab in headless chromium (against `python app.py` in its own
    process on this machine) to its precision table and first plot on screen; None without chromium. The click
    comes once the page has loaded and drawn its first tab (its plots, then 2 s), as a learner's would: a click in the
    page's first second waits behind the page's own start (about 1.5 s more here)."""
    import shutil

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from playwright.sync_api import sync_playwright
    from server import AppServer

    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        return None
    times = []
    with AppServer() as srv, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        for _ in range(reps + 1):  # the first opening warms the server (imports, the file's first read)
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            page.goto(srv.url, wait_until="load")
            page.get_by_role("tab", name="Forward process").wait_for()
            page.locator(".js-plotly-plot").first.wait_for(timeout=60000)  # the first tab drawn
            time.sleep(2.0)
            start = time.perf_counter()
            page.get_by_role("tab", name="Cost").click()
            page.locator("#cost-precision-table table").wait_for(timeout=60000)
            page.locator("#cost-frontier-accuracy .js-plotly-plot").wait_for(timeout=60000)
            times.append(time.perf_counter() - start)
            page.close()
        browser.close()
    return float(np.median(times[1:]))


def speed() -> None:
    """The view's targets: the recorded figures on screen under 1 s, three precisions live under 5 s."""
    from diffusion_core.app.cost import cost_ui

    for label, fn, target in (("the Cost view's recorded figures, built (server side)", cost_ui.recorded_view, 1.0),
                              ("three precisions live, 8 digits, the default setting", lambda: cost_ui.live_precisions("7", 0, 8), 5.0)):
        fn()  # warm-up: the int8 and bf16 copies, the plots' first build
        times = []
        for _ in range(3):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        verdict(label, float(np.median(times)), target)
    opened = browser_open_s()
    if opened is None:
        print("no chromium here: the browser's opening of the tab is not measured")
    else:
        verdict("the Cost tab opened in chromium, table and plot on screen", opened, 1.0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--record", action="store_true", help=f"write the figures to {COST_FIGURES.relative_to(ROOT)}")
    p.add_argument("--n", type=int, default=1000, help="digits per quality measurement")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--only", default=None, help=f"a comma list of parts: {', '.join(PARTS)} (the others stay as recorded)")
    p.add_argument("--tune-steps", type=int, default=300, help="optimiser steps of each pruned model's recovery fine-tune "
                   "(batch 64, learning rate 2e-4)")
    p.add_argument("--workers", type=int, default=2, help="processes of one thread each that sample the quality rows "
                   "side by side (1: one process of every thread)")
    p.add_argument("--speed", action="store_true", help="time the Cost tab's view and live comparison instead")
    args = p.parse_args()
    if args.speed:
        return speed()
    args.only = [x.strip() for x in args.only.split(",")] if args.only else None
    if args.only and set(args.only) - set(PARTS):
        raise SystemExit(f"--only takes {', '.join(PARTS)}; got {args.only}")
    record(args)


if __name__ == "__main__":
    main()
