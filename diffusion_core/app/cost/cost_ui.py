"""The Cost tab's handlers: the recorded figures of `benchmarks/cost_lab.py` (assets/cost_figures.json, read by
`evaluation/cost_report.py`) as plots and tables, each section labelled with the machine it was measured on,
and a live comparison of float32, bfloat16 and int8 from the same x_T on this server's CPU.

Every number shown is read from the recorded file or measured on the page; the texts hold none.
"""
from __future__ import annotations

import logging

import numpy as np

from diffusion_core.app.cost import cost_plots as cp
from diffusion_core.data.images import digit_grid
from diffusion_core.evaluation.cost_report import PARTS, read_cost_figures, remedies
from diffusion_core.networks.loaded import loaded
from diffusion_core.networks.precision import PRECISIONS, int8_available
from diffusion_core.networks.runtime import device_name
from diffusion_core.pipelines.generation import guided_range
from diffusion_core.pipelines.variant_sampling import compare_precisions
from diffusion_core.references import cited
from diffusion_core.settings import check, presets, sampling

# how the classroom benchmark serves a remedy (a pruned model has no serving setting)
LOAD_FLAGS = {"fast": "--preset fast", "int8": "--env DIFFUSION_CLASSROOM_SERVE_PRECISION=int8"}
SERVE_POINTS = 0.5  # a remedy "keeps" accuracy when it loses at most this many percentage points (issue 35)
RECORD_COMMAND = "python benchmarks/cost_lab.py --record"
NOT_RECORDED = (f"**Not measured yet**: run `{RECORD_COMMAND}` (assets/cost_figures.json is missing, unreadable or "
                "of another version). The live comparison below works without it.")
# what `recorded_view` shows without a record
EMPTY_VIEW = (NOT_RECORDED,) + (None,) * 2 + ("",) * 3 + (None,) * 2 + ("", None, "")
OUTPUTS = len(EMPTY_VIEW)  # what `recorded_view` returns
log = logging.getLogger("diffusion_classroom")


def measured_line(part: dict, what: str = "") -> str:
    """Where and when a part was measured, as the page labels it."""
    m = part["measured"]
    n = f", N = {m['n']} digits per point (seed {m['seed']})" if "n" in m else ""
    if m.get("workers", 1) > 1:
        n += f", sampled by {m['workers']} one-thread processes side by side"
    return f"*{what}Measured on {m['machine']}, {m['created']}{n}, by `{m['command']}`.*"


def setting_words(s: dict) -> str:
    return f"{s['sampler']}, {s['steps']} steps, {s['spacing']} spacing, guidance {s['guidance']:g}{guided_range(s)}"


def ms_words(ms: float) -> str:
    """A time in ms: three significant digits below 10 ms, else one decimal."""
    return f"{ms:.3g} ms" if ms < 10 else f"{ms:.1f} ms"


def quality_words(r: dict) -> str:
    return (f"{100 * r['accuracy']:.1f}% read as the asked digit, Fréchet distance {r['frechet_ratio_to_floor']:.2f}x the "
            f"real-vs-real floor, {ms_words(r['ms_per_image'])} per digit")


def fewest_passes(frontier: dict) -> list[str]:
    """Per sampler, the fewest passes whose accuracy is within SERVE_POINTS of the default's."""
    target = 100 * frontier["presets"]["default"]["accuracy"] - SERVE_POINTS
    out = []
    for sampler in dict.fromkeys(r["sampler"] for r in frontier["rows"]):
        ok = sorted((r["passes"], r["steps"]) for r in frontier["rows"] if r["sampler"] == sampler and 100 * r["accuracy"] >= target)
        out.append(f"{sampler} {ok[0][0]} passes ({ok[0][1]} steps)" if ok else f"{sampler} none measured")
    return out


def frontier_text(f: dict) -> str:
    d, fast = f["presets"]["default"], f["presets"]["fast"]
    rivals = "; ".join(f"the {k.upper()}: one pass, {quality_words(r)}" for k, r in f["one_pass"].items())
    return cited(
        f"{measured_line(f)} Sampled at {f['precision']} (the app's precision there), guidance {f['guidance']:g} at every "
        "step: each step runs the conditional and the unconditional prediction, two passes (Heun: two evaluations a "
        "step, one on the last). A circle marks each preset.\n\n"
        f"- **Default** ({setting_words(d)}): {d['passes']} passes, {quality_words(d)}.\n"
        f"- **Fast** ({setting_words(fast)}): {fast['passes']} passes, {quality_words(fast)}.\n"
        f"- {rivals[0].upper() + rivals[1:]}.\n"
        f"- Fewest passes within {SERVE_POINTS:g} points of the default's accuracy: " + ", ".join(fewest_passes(f)) + ".\n\n"
        "DPM-Solver++(2M) ([@lu2022dpmsolverpp alg. 2]) and Heun ([@karras2022edm alg. 1]) are higher-order solvers of the "
        "same ODE as DDIM; whether the higher order pays per network pass depends on the step grid and the pass count, "
        "which the curves show for this model." + rivals_verdict(f))


def rivals_verdict(f: dict) -> str:
    """Where the one-pass rivals stand against the default, by the recorded Fréchet distances."""
    d, rivals = f["presets"]["default"], f["one_pass"]
    worse = [k.upper() for k, r in rivals.items() if r["frechet_ratio_to_floor"] > d["frechet_ratio_to_floor"]]
    if len(worse) == len(rivals):
        return " Here both one-pass models are further from the real digits than the default (higher Fréchet distance)."
    closer = ", ".join(k.upper() for k in rivals if k.upper() not in worse)
    return f" Here {closer} came at least as close to the real digits as the default."


def _mb(n_bytes: float) -> str:
    return f"{n_bytes / 2**20:.2f} MiB"


def precision_table(p: dict) -> str:
    rows = [r for r in p["rows"] if r.get("available", True)]
    base = next(r for r in rows if r["dtype"] == "float32")
    head = "| | " + " | ".join(r["dtype"] for r in rows) + " |\n| --- |" + " --- |" * len(rows)
    lines = [("ms per guided step", lambda r: f"{r['ms_per_guided_step']:.1f}"),
             ("speed against float32", lambda r: f"{base['ms_per_guided_step'] / r['ms_per_guided_step']:.2f}x"),
             ("weights as saved", lambda r: _mb(r["weight_bytes"])),
             ("predicted noise, relative difference from float32", lambda r: f"{r['eps_difference']:.4f}"),
             ("read as the asked digit", lambda r: f"{100 * r['accuracy']:.1f}%"),
             ("Fréchet distance / floor", lambda r: f"{r['frechet_ratio_to_floor']:.2f}x"),
             ("ms per digit, sampling N digits", lambda r: f"{r['ms_per_image']:.1f}")]
    table = head + "".join(f"\n| {name} | " + " | ".join(fn(r) for r in rows) + " |" for name, fn in lines)
    gone = [r["dtype"] for r in p["rows"] if not r.get("available", True)]
    note = f"\n\n{', '.join(gone)}: not available in the PyTorch that recorded this." if gone else ""
    note += ("\n\nThe two times are two measurements: a step's is the median of 9 steps timed in turn at each precision, "
             "alone, with every thread; the ms per digit is one timed run over all N digits, in the process that "
             "sampled them (the line above says how; the app's precision's is the frontier's run of the default), so "
             "the two can disagree. The step times are the ones to compare.")
    return cited(
        f"{measured_line(p)} One guided step of {p['images_per_step']} digits; quality at the default "
        f"({setting_words(p['setting'])}).\n\n{table}{note}\n\nbfloat16 keeps float32's range with fewer mantissa bits; "
        "int8 stores each per-token weight matrix as 8-bit integers with a scale ([@jacob2018quantization sec. 2.1]) and "
        "quantizes the activations on the fly (PyTorch's dynamic quantization of the Linear layers; the adaLN layers, "
        "embedders and output layer stay float32). PyTorch has deprecated these torch.ao quantized tensors; where they "
        "are gone the page says so and the other two precisions still work.")


def pruning_table(p: dict) -> str:
    def name(r):
        if not r["fraction"]:
            return "as shipped"
        return f"{100 * r['fraction']:.0f}% of MLP units removed" + (", fine-tuned" if r["tuned"] else "")

    def tune(r):
        t = r.get("tune")
        return f"{t['steps']} steps, {t['seconds']:.0f} s" if t else ""

    head = ("| | parameters | weights (float32) | ms per guided step | read as asked | Fréchet / floor | fine-tune |\n"
            "| --- | --- | --- | --- | --- | --- | --- |")
    body = "".join(f"\n| {name(r)} | {r['parameters'] / 1e6:.2f} M | {_mb(r['weight_bytes'])} | {r['ms_per_guided_step']:.1f} | "
                   f"{100 * r['accuracy']:.1f}% | {r['frechet_ratio_to_floor']:.2f}x | {tune(r)} |" for r in p["rows"])
    return cited(
        f"{measured_line(p)} At {p['precision']}, the default setting ({setting_words(p['setting'])}). Removed: whole "
        f"{p['what']} ([@li2017pruning sec. 3.1]), the same share in every block, so both of its matrices shrink and a "
        "dense kernel does less work (zeroing single weights would not). The fine-tune: the shipped trainer's code on "
        f"MNIST; its weights are in `{p.get('tuned_weights', 'runs/cost_lab')}` on the machine that recorded them.\n\n"
        + head + body)


def compute_text(c: dict) -> str:
    rows = c["rows"]
    head = ("| tokens (patch) | attention projections | attention scores | MLP | the rest | total, MFLOP per image | "
            "scores' share | ms per forward |\n| --- | --- | --- | --- | --- | --- | --- | --- |")

    def rest(f):  # adaLN, the embeddings, the output layer
        return f["total"] - f["attention_projections"] - f["attention_scores"] - f["mlp"]

    body = "".join(f"\n| {r['tokens']} ({r['patch_size']}) | {r['flops_per_image']['attention_projections'] / 1e6:.1f} | "
                   f"{r['flops_per_image']['attention_scores'] / 1e6:.1f} | {r['flops_per_image']['mlp'] / 1e6:.1f} | "
                   f"{rest(r['flops_per_image']) / 1e6:.1f} | {r['flops_per_image']['total'] / 1e6:.1f} | "
                   f"{r['flops_per_image']['attention_scores'] / r['flops_per_image']['total']:.0%} | {r['ms']['forward']:.1f} |"
                   for r in rows)
    a, b = rows[0], rows[-1]
    grow = b["tokens"] / a["tokens"]
    scores = b["flops_per_image"]["attention_scores"] / a["flops_per_image"]["attention_scores"]
    mlp = b["flops_per_image"]["mlp"] / a["flops_per_image"]["mlp"]
    g = c["guided"]
    ratio = g["guided_ms"] / g["unguided_ms"]
    return cited(
        f"{measured_line(c)} A DiT of the shipped size ({c['depth']} blocks, width {c['width']}) at each patch size; the "
        "operations are counted layer by layer (a multiply-add is two) and checked against PyTorch's counter by the tests; "
        f"the times are one forward over {a['rows']} inputs.\n\n{head}{body}\n\n"
        f"From {a['tokens']} to {b['tokens']} tokens ({grow:.0f}x), the MLP's operations grow {mlp:.0f}x and the attention "
        f"scores' {scores:.0f}x: self-attention's cost per layer grows with the square of the tokens "
        "([@vaswani2017attention table 1]), the projections and the MLP linearly, and the rest (adaLN, the embeddings, the "
        "output layer) not at all. In Peebles & Xie's ImageNet models more tokens meant more operations and a lower FID "
        "([@peebles2023dit abstract]); this tab measures only the cost.\n\n"
        f"**The guided step's {g['flops_ratio']:g}x**: with guidance every step runs the network on the conditional and "
        f"the unconditional input, twice the operations. Measured for {g['images']} digits at {g['precision']}: guided "
        f"{g['guided_ms']:.1f} ms, unguided {g['unguided_ms']:.1f} ms ({ratio:.2f}x" + ("; one batched call saves only the "
        "per-call overhead, so a network whose arithmetic dominates comes close to 2x, and a ratio far below that means "
        "something other than the network's arithmetic dominated this timing)." if ratio < 0.8 * g["flops_ratio"] else ")."))


def memory_text(m: dict) -> str:
    devices = list(dict.fromkeys(r["device"] for r in m["rows"]))
    lines = []
    for device in devices:
        kept = {r["batch"]: r for r in m["rows"] if r["device"] == device and not r["checkpointing"]}
        ckpt = {r["batch"]: r for r in m["rows"] if r["device"] == device and r["checkpointing"]}
        lines += [f"| {device} | {b} | {kept[b]['step_mb']:.0f} MiB | {ckpt[b]['step_mb']:.0f} MiB | "
                  f"{kept[b]['step_mb'] / max(ckpt[b]['step_mb'], 1e-9):.1f}x |" for b in sorted(kept) if b in ckpt]
    held = m["rows"][0]["held_mb"]
    gpu = "" if any(d != "cpu" for d in devices) else " No GPU was present: CPU figures only."
    return cited(
        f"{measured_line(m)}{gpu} One training step of the shipped model's size (AdamW), each in a fresh process: what the "
        f"step adds at its peak over what the process held before it ({held:.0f} MiB: PyTorch, the model, its gradients and "
        f"AdamW's state). Method: {m['rows'][0]['method']}. Checkpointing keeps only each block's input and recomputes "
        "the block in the backward pass: it trades compute for memory, about one more forward pass per training step "
        "([@chen2016sublinear abstract]); the losses and "
        "gradients are the same (checked by the tests).\n\n| device | batch | all activations kept | checkpointing | saving |\n"
        "| --- | --- | --- | --- | --- |\n" + "\n".join(lines))


def serving_text(data: dict) -> str:
    """Which remedy keeps the default's accuracy within SERVE_POINTS and is faster, from the recorded figures."""
    found = [r for r in remedies(data) if r["speedup"] is not None]
    if not found:
        return ""
    parts = [f"{r['name']}: {r['ms']:.2f} ms {r['unit']} against the default's {r['base_ms']:.2f} timed in the same part of "
             f"the recording ({r['speedup']:.2f}x the default's speed), accuracy "
             f"{-r['accuracy_drop_points']:+.1f} points, Fréchet distance {r['frechet_ratio_to_floor']:.2f}x the floor" for r in found]
    keep = [r for r in found if r["accuracy_drop_points"] <= SERVE_POINTS and r["speedup"] > 1]
    how = "; ".join(f"{r['name']}: `python benchmarks/classroom.py --distinct-only {LOAD_FLAGS[r['key']]}`"
                    for r in keep if r["key"] in LOAD_FLAGS)
    verdict = (f"Within {SERVE_POINTS:g} points of the default's accuracy and faster: {', '.join(r['name'] for r in keep)}. "
               f"Whether it serves a class better under load is what the classroom benchmark measures against the "
               f"default ({how or 'no serving setting for it'}; the README gives the result)." if keep else
               f"None keeps the default's accuracy within {SERVE_POINTS:g} points and is faster here.")
    return "**Each remedy against the default, on the recording machine**: " + "; ".join(parts) + f". {verdict}"


def opening_view():
    """`recorded_view` for the page as it is built: a record that cannot be drawn shows as not recorded, with the
    reason in the log, and the app starts anyway."""
    try:
        return recorded_view()
    except Exception as exc:  # noqa: BLE001 - a malformed record must not stop the app
        log.warning("the cost record cannot be drawn: %s", exc)
        return EMPTY_VIEW


def recorded_view():
    """Everything the tab shows from the recorded figures: (source line, accuracy frontier, Fréchet frontier, its
    text, precision table, pruning table, operations plot, time plot, compute text, memory plot, memory text); a
    part not recorded shows nothing and the source line says what to run."""
    data = read_cost_figures()
    if not data:
        return EMPTY_VIEW
    missing = [k for k in PARTS if k not in data]
    minutes = sum(data[k]["measured"]["seconds"] for k in PARTS if k in data) / 60
    source = (f"The record (assets/cost_figures.json) was last written by `{data['command']}` on {data['created']}, on "
              f"{data['machine']}; its parts took {minutes:.1f} min to measure in all. " + serving_text(data)
              + (f"\n\nNot recorded or unreadable: {', '.join(missing)} (run `{RECORD_COMMAND} --only {','.join(missing)}`)."
                 if missing else ""))
    f, c, m = data.get("frontier"), data.get("compute"), data.get("memory")
    return (source,
            cp.frontier_figure(f, "accuracy") if f else None, cp.frontier_figure(f, "frechet") if f else None,
            frontier_text(f) if f else "",
            precision_table(data["precision"]) if "precision" in data else "",
            pruning_table(data["pruning"]) if "pruning" in data else "",
            cp.parts_figure(c, "flops") if c else None, cp.parts_figure(c, "ms") if c else None,
            compute_text(c) if c else "",
            cp.memory_figure(m) if m else None, memory_text(m) if m else "")


def _digit(label) -> int:
    try:
        d = int(str(label).strip())
    except ValueError:
        d = -1
    if not 0 <= d <= 9:
        raise ValueError(f"Choose a digit from 0 to 9, got {str(label)[:20]!r}.")
    return d


def live_precisions(label, seed, n=8, preset="default"):
    """n digits of one class from the same x_T in float32, bfloat16 and int8 on this CPU: (three grids, a table of
    the seconds each took and how far its digits are from float32's)."""
    digit, seed, n = _digit(label), check("seed", seed), check("images", n)
    pre = loaded("dit", "cpu")
    if preset not in presets(pre.meta):
        raise ValueError(f"Choose a preset: {', '.join(presets(pre.meta))}.")
    s = sampling(pre.meta, preset)
    names = PRECISIONS if int8_available() else tuple(p for p in PRECISIONS if p != "int8")
    runs = {name: (x, sec) for name, x, sec in compare_precisions(pre, np.full(n, digit), seed, s, names)}
    ref = runs["float32"][0]
    rows = [f"| {name} | {sec:.2f} s | {1000 * sec / n:.0f} ms | {float((x - ref).abs().mean()) / 2:.4f} |"
            for name, (x, sec) in runs.items()]
    gone = "" if "int8" in runs else "\n\nint8: not available in this PyTorch (torch.ao quantized tensors are gone); the other two ran."
    text = (f"Measured now on this server ({device_name('cpu')}): {n} digits, {setting_words(s.recipe())}, the same x_T for "
            "all three.\n\n| precision | time | per digit | mean pixel difference from float32 (0-1) |\n| --- | --- | --- | --- |\n"
            + "\n".join(rows) + gone)
    grids = [digit_grid(runs[name][0][:, 0].numpy()) if name in runs else None for name in PRECISIONS]
    return (*grids, text)
