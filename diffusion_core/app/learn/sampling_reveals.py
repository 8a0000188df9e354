"""The samplers and guidance lessons' answers and reveals (lessons 5 and 6), read from the sampling figures
recorded in assets/dit_figures.json (`samplers_10_steps`, `guidance_interval`, `default_preset`) and from the
shipped DiT's own schedule and step grids, never typed by hand. Written like `lesson_reveals`: citations as
`[@<key> <place>]`, findings of this one small model said to be "for this model" or "in this small setting".
"""
from __future__ import annotations

from diffusion_core.app.learn.lesson_reveals import dit_meta, researchers
from diffusion_core.evaluation.measured_figures import dit_figure_row, dit_figures
from diffusion_core.maths.samplers import step_grid
from diffusion_core.maths.schedules import schedule_from_dict
from diffusion_core.pipelines.generation import guided_range


# ---------------------------------------------------------------------------- lesson 5: samplers
def sampler_rows(spacing: str | None = None) -> tuple[dict | None, dict | None]:
    """The measured 10-step DDPM and DDIM rows (at `spacing`; the first recorded spacing when None)."""
    first = dit_figure_row("samplers_10_steps") or {}
    spacing = spacing or first.get("spacing")
    return (dit_figure_row("samplers_10_steps", sampler="ddpm", spacing=spacing),
            dit_figure_row("samplers_10_steps", sampler="ddim", spacing=spacing))


def samplers_answer() -> int:
    ddpm, ddim = sampler_rows()
    if not ddpm or not ddim:
        return 1
    return 1 if ddim["frechet_distance"] < ddpm["frechet_distance"] else 0


def grid_start(row: dict) -> tuple[float, float]:
    """(the first timestep of a measured row's step grid, sqrt(alpha_bar) there) on the shipped DiT's schedule."""
    schedule = schedule_from_dict(dit_meta()["schedule"])
    grid = step_grid(row["sampler"], schedule, int(row["steps"]), row["spacing"])
    return float(grid.t[0]), float(grid.alpha_bar[0]) ** 0.5


def trailing_sentence(t_ddpm: dict, t_ddim: dict, ddpm: dict, ddim: dict, better: str) -> str:
    """What the trailing-spacing rows add to the leading ones: the figures, and whether the late start explains the
    order (it does not when the order holds from pure noise too)."""
    fd = "frechet_distance"
    text = (f"With trailing spacing, which starts from pure noise at t = {grid_start(t_ddim)[0]:g}: DDPM "
            f"{t_ddpm[fd]:.1f}, DDIM {t_ddim[fd]:.1f}.")
    worse = [t_ddpm[fd] > ddpm[fd], t_ddim[fd] > ddim[fd]]
    change = (" Both are worse than with leading spacing on this model" if all(worse) else
              " Both are better than with leading spacing" if not any(worse) else " One gains, one loses")
    trailing_better = "DDIM" if t_ddim[fd] < t_ddpm[fd] else "DDPM"
    if trailing_better == better:
        worse_one = "DDPM" if better == "DDIM" else "DDIM"
        return text + f"{change}, but {better} still wins, so the late start is not what costs {worse_one}."
    return text + f"{change}, and the order turns: here the late start decides which sampler wins."


def explain_samplers() -> str:
    ddpm, ddim = sampler_rows()
    if not ddpm or not ddim:
        return "Not measured yet: run the command in the model card (benchmarks/dit_quality.py --record samplers_10_steps)."
    (better, b), (worse, w) = (("DDIM", ddim), ("DDPM", ddpm)) if ddim["frechet_distance"] < ddpm["frechet_distance"] else (("DDPM", ddpm), ("DDIM", ddim))
    text = (f"{better}, for this model at {ddim['steps']} steps with guidance w = {ddim['guidance']:g}{guided_range(ddim)}, "
            f"over {ddim['n']} digits ({ddim['spacing']} spacing). " + "; ".join(
                f"{name}: Fréchet distance {r['frechet_distance']:.1f}, precision {r['precision']:.2f}, recall "
                f"{r['recall']:.2f}, {r['accuracy']:.1%} recognised" for name, r in ((better, b), (worse, w)))
            + f" (real digits against real digits at this N: {ddim['frechet_distance_real_floor']:.1f}).")
    if ddpm["recall"] < ddim["recall"]:
        text += (" DDPM's digits here are not noisy: they are smoother and more alike (the lower recall). Roughly why: each "
                 "DDPM step adds only as much fresh noise as it would need if the network's guess $\\hat x_0$ were exact; "
                 "with big strides that guess is an average of the digits $x_t$ could still become, so the samples stay "
                 "close to averages. DDIM carries its predicted noise from step to step, so the detail that $x_T$ fixes "
                 "survives ([@song2021ddim eq. 12]).")
    start, signal = grid_start(ddim)
    if ddim["spacing"] == "leading":
        text += (f" These {ddim['steps']} steps use leading spacing, which starts at t = {start:g}, not at pure noise: "
                 f"there the model expects √ᾱ = {signal:.2f} of a digit in its input, and x_T has none. ")
        other_ddpm, other_ddim = sampler_rows("trailing")
        if other_ddpm and other_ddim:
            text += trailing_sentence(other_ddpm, other_ddim, ddpm, ddim, better)
    return (text + " It matches DDIM's own table: η = 1 (this app's DDPM) scores worse than η = 0 at every step count "
            "from 10 to 1000 ([@song2021ddim table 1]). Fresh noise is not always a loss: a stochastic sampler can correct "
            "earlier errors, when its noise is tuned to the model ([@karras2022edm sec. 4])." + researchers("samplers_10_steps"))


# ---------------------------------------------------------------------------- lesson 6: guidance
def interval_name(row: dict) -> str:
    text = guided_range(row).strip()
    return "guided at every step" if text == "at every step" else f"guided {text}"


def guidance_rows(every_seed: bool = False) -> tuple[dict | None, list[dict]]:
    """(the unguided row, the guided rows) of the recorded guidance measurement: the first seed's guided rows, or
    every seed's with `every_seed`."""
    rows = (dit_figures("guidance_interval") or {}).get("rows", [])
    plain = next((r for r in rows if float(r["guidance"]) == 1.0), None)
    return plain, [r for r in rows if float(r["guidance"]) != 1.0 and (every_seed or r["seed"] == rows[0]["seed"])]


def middle_interval() -> str:
    """The narrowest recorded two-sided interval, for the lesson's 'then try' line ("" when none is recorded)."""
    _, guided = guidance_rows()
    both = [r for r in guided if float(r.get("guidance_min_t", 0)) > 0 and float(r.get("guidance_max_t", 1000)) < 999]
    if not both:
        return ""
    r = min(both, key=lambda r: float(r["guidance_max_t"]) - float(r["guidance_min_t"]))
    return f"{float(r['guidance_min_t']):g} ≤ t ≤ {float(r['guidance_max_t']):g}"


NOISIEST = 700  # "the noisiest steps": t above this (the top 30% of the schedule)


def guided_steps(row: dict) -> tuple[int, int]:
    """(how many of a measured row's steps were guided, how many of those lie above NOISIEST), on the shipped DiT's
    schedule: a step at t is guided when guidance_min_t <= t <= guidance_max_t, as in the sampler."""
    schedule = schedule_from_dict(dit_meta()["schedule"])
    t = step_grid(row["sampler"], schedule, int(row["steps"]), row["spacing"]).t[:-1]  # (steps,) the steps' own t
    guided = (t >= float(row.get("guidance_min_t", 0))) & (t <= float(row.get("guidance_max_t", 1000)))
    return int(guided.sum()), int((guided & (t > NOISIEST)).sum())


def bounds(row: dict) -> str:
    """A measured row's guided interval written as both its ends ("170 ≤ t ≤ 880")."""
    return f"{float(row.get('guidance_min_t', 0)):g} ≤ t ≤ {float(row.get('guidance_max_t', 1000)):g}"


def noisiest_steps(guided: list[dict]) -> str:
    """What the measured rows (every seed) say about guiding the noisiest steps (t > NOISIEST): the recall of the
    intervals that guide some of them against those that leave them unguided, whether the two groups separate at
    every seed, and a pair that tells the noise level from the number of guided steps."""
    counts = {id(r): guided_steps(r) for r in guided}
    into = [r for r in guided if counts[id(r)][1] > 0]
    spared = [r for r in guided if counts[id(r)][1] == 0]
    if not into or not spared:
        return ""
    seeds = sorted({r["seed"] for r in guided})
    lo_in, hi_in = min(r["recall"] for r in into), max(r["recall"] for r in into)
    lo_sp, hi_sp = min(r["recall"] for r in spared), max(r["recall"] for r in spared)
    where = (f"at seed {seeds[0]}" if len(seeds) == 1 else f"at both seeds ({seeds[0]} and {seeds[1]})" if len(seeds) == 2
             else f"at all {len(seeds)} seeds")
    text = (f" Every interval that guided steps above t = {NOISIEST} lost variety (recall {lo_in:.2f} to {hi_in:.2f}); "
            f"those that left them unguided kept it ({lo_sp:.2f} to {hi_sp:.2f}), {where}." if lo_sp > hi_in else
            f" Guiding steps above t = {NOISIEST} gave recall {lo_in:.2f} to {hi_in:.2f}, leaving them unguided "
            f"{lo_sp:.2f} to {hi_sp:.2f}: the groups overlap, so here the noise level alone does not decide the variety.")
    first = [r for r in guided if r["seed"] == seeds[0]]
    pairs = [(a, b) for a in first for b in first if counts[id(a)][1] > 0 and counts[id(b)][1] == 0
             and counts[id(a)][0] < counts[id(b)][0] and a["recall"] < b["recall"]]
    if pairs:
        a, b = pairs[0]
        text += (f" It is not just the number of guided steps: the interval {bounds(a)} guides fewer "
                 f"steps ({counts[id(a)][0]}) than {bounds(b)} ({counts[id(b)][0]}), but {counts[id(a)][1]} of them "
                 f"lie above t = {NOISIEST}, and its recall is lower ({a['recall']:.2f} against {b['recall']:.2f}), as the "
                 "paper's finding predicts.")
    return text


def explain_guidance() -> str:
    text = ("Less varied. Guidance pushes every sample toward what the classifier-free difference says is most "
            "'seven-like': bolder, more alike. At w = 1 the samples follow the learnt conditional distribution. "
            "Kynkäänniemi et al. found that where guidance acts matters: it is harmful at the highest noise levels, "
            "largely unnecessary at the lowest and useful in the middle ([@kynkaanniemi2024interval abstract]); at high "
            "noise it drives the samples toward a few 'template images' ([@kynkaanniemi2024interval sec. 1]; "
            "[@kynkaanniemi2024interval sec. 3] shows the resulting mode drop in a toy example). So they guide only "
            "inside an interval of noise levels ([@kynkaanniemi2024interval eq. 6]): the two 'guide only where' sliders.")
    plain, guided = guidance_rows()
    if plain and guided:
        n, g = plain["n"], guided[0]
        parts = [f"{interval_name(r)} ({guided_steps(r)[0]} of {r['steps']} steps): Fréchet distance {r['frechet_distance']:.1f}, precision {r['precision']:.2f}, "
                 f"recall {r['recall']:.2f}, {r['accuracy']:.1%} recognised" for r in guided]
        best_fd = min(guided, key=lambda r: r["frechet_distance"])
        best_recall = max(guided, key=lambda r: r["recall"])
        text += (f"\n\nFor this model (N = {n}, {g['sampler'].upper()}, {g['steps']} steps, seed {g['seed']}): at w = 1, Fréchet "
                 f"distance {plain['frechet_distance']:.1f}, precision {plain['precision']:.2f}, recall {plain['recall']:.2f}, "
                 f"{plain['accuracy']:.1%} recognised. At w = {g['guidance']:g}: " + "; ".join(parts)
                 + f". Real against real at N = {n}: {plain['frechet_distance_real_floor']:.1f}. In this small setting, at "
                 f"w = {g['guidance']:g}, the lowest Fréchet distance came {interval_name(best_fd)} (just "
                 f"{guided_steps(best_fd)[0]} of the {g['steps']} steps), the highest recall {interval_name(best_recall)} "
                 f"({guided_steps(best_recall)[0]} steps)." + noisiest_steps(guidance_rows(every_seed=True)[1]))
    default = (dit_figures("default_preset") or {}).get("rows", [None])[0]
    if default:
        text += (f" The app's default guides gently ({default['sampler'].upper()}, {default['steps']} steps, "
                 f"w = {default['guidance']:g}{guided_range(default)}): Fréchet distance {default['frechet_distance']:.1f}, "
                 f"recall {default['recall']:.2f} at seed {default['seed']}.")
    return text + researchers("guidance_interval", "default_preset")
