"""Lesson 11, "The price of a sample": its computed answer and its reveal, read from the cost lab's recorded figures
(assets/cost_figures.json through `evaluation/cost_report.py`), never typed. Beside `lesson_reveals` (the other
lessons' reveals) so that neither module outgrows the house limit; written the same way: a finding of this app's is
said to be one, in this small setting and on the machine that measured it.
"""
from __future__ import annotations

from diffusion_core.evaluation import cost_report
from diffusion_core.evaluation.cost_report import cheapest_remedy, remedies
from diffusion_core.networks.pretrained import WeightsError, read_meta
from diffusion_core.paths import ASSETS_DIR


def cost_answer() -> int:
    """The remedy (fast preset, int8, pruned: the lesson's order) with the largest recorded speed-up over the default
    timed beside it; the fast preset when the cost lab has not been recorded."""
    found = cheapest_remedy(cost_report.read_cost_figures())
    return 0 if found is None else found


def mlp_share(data: dict) -> tuple[int, float] | None:
    """(tokens, the MLP's share of a forward pass's counted operations) at the shipped patch size, from the cost lab."""
    try:
        patch = read_meta(ASSETS_DIR / "dit_mnist.json", "dit")["config"]["patch_size"]
    except (OSError, KeyError, WeightsError):
        return None
    row = next((r for r in (data.get("compute") or {}).get("rows", []) if r["patch_size"] == patch), None)
    return (row["tokens"], row["flops_per_image"]["mlp"] / row["flops_per_image"]["total"]) if row else None


def explain_cost() -> str:
    data = cost_report.read_cost_figures()
    best = cheapest_remedy(data)
    if best is None:
        return "Not measured yet: run python benchmarks/cost_lab.py --record (the Cost tab says how)."
    base, found, m = data["frontier"]["presets"]["default"], remedies(data), data["frontier"]["measured"]
    parts = [f"{r['name']}: {r['ms']:.2f} ms {r['unit']} against {r['base_ms']:.2f}, {r['speedup']:.2f}x the default's "
             f"speed, accuracy {-r['accuracy_drop_points']:+.1f} points, Fréchet distance {r['frechet_ratio_to_floor']:.2f}x "
             "the floor" for r in found]
    text = (f"On the machine that recorded the cost lab ({m['machine']}; N = {m['n']} digits a setting), the default's "
            f"{base['passes']} passes read {100 * base['accuracy']:.1f}% of the digits as asked, at a Fréchet distance "
            f"{base['frechet_ratio_to_floor']:.2f}x the floor (at N = {m['n']}, a few tenths of a point of accuracy is "
            "within sampling noise). The fast preset is compared per digit; int8 and pruning keep all the passes, so they "
            "are compared per guided step of 16 digits, alternating with the default in the same part of the recording: "
            + "; ".join(parts) + ". ")
    if best == 0:
        text += (f"The passes multiply every other cost, so cutting them is the big lever here: the fast preset runs "
                 f"{found[0]['passes']} of them. ")
    else:
        text += ("Here another remedy came out cheaper than cutting the passes; on paper, a quarter of the passes is a "
                 "quarter of the operations. ")
    text += int8_words(found)
    text += pruning_words(data, found)
    return (text + "These are findings in this small setting, on one CPU: on a GPU, or for a bigger model with more "
            "tokens, the balance moves (the Cost tab shows where the compute goes as the tokens grow).")


def int8_words(found: list[dict]) -> str:
    """What int8 (PyTorch's dynamic quantization, as configured here) changes, and what it gave per guided step."""
    int8 = next((r for r in found if r["key"] == "int8" and r["speedup"] is not None), None)
    text = ("Here int8 (PyTorch's dynamic quantization) makes only the per-token Linear layers cheaper; the rest of its "
            "model stays float32 while the default runs at bfloat16, and it quantizes each layer's input on every call.")
    if int8 and int8["speedup"] < 1.05:
        text += f" Per guided step it was about as fast as the default ({int8['ms']:.2f} against {int8['base_ms']:.2f} ms)."
    return text + " "


def pruning_words(data: dict, found: list[dict]) -> str:
    """The MLP's share of the counted operations against the measured gain of pruning half of it, and what the
    recorded fine-tune won back."""
    share, pruned = mlp_share(data), next((r for r in found if r["key"] == "pruned" and r["speedup"]), None)
    rows = (data.get("pruning") or {}).get("rows", [])
    raw = next((r for r in rows if r["fraction"] == 0.5 and not r["tuned"]), None)
    tuned = next((r for r in rows if r["fraction"] == 0.5 and r["tuned"] and r.get("tune")), None)
    text = ""
    if share:
        text += (f"At {share[0]} tokens the MLP is {share[1]:.0%} of a pass's counted operations, so removing half of it "
                 f"removes about {share[1] / 2:.0%} of them")
        text += (f"; the measured step took {1 - 1 / pruned['speedup']:.0%} less time. " if pruned else ". ")
    if raw and tuned:
        text += (f"With half of every MLP pruned, the model read {100 * raw['accuracy']:.1f}% of the digits as asked; "
                 f"{tuned['tune']['steps']} fine-tuning steps brought it back to {100 * tuned['accuracy']:.1f}%. ")
    return text.rstrip() + " "
