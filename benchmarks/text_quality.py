"""The text models' targets, printed: speed, likelihood on held-out names, novelty and plausibility.
Asserts nothing.

    python benchmarks/text_quality.py [--n 1000] [--record]

- speed: 16 names in 16 steps (target at most 300 ms on the 2-core CPU), and the twin's 16 names;
- held-out bits per character: the diffusion model's negative ELBO (an upper bound) beside the twin's NLL;
- N generated names (16 steps, each rule): the share not in the training list, and their plausibility
  under a character trigram model of the training split, against N held-out real names (the floor).
`--record` writes the figures to assets/text_figures.json (the Learn tab's text lesson reads them).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from diffusion_core.data import names_corpus as nc  # noqa: E402
from diffusion_core.evaluation.measured_figures import TEXT_FIGURES, write_figures  # noqa: E402
from diffusion_core.evaluation.text_quality import (CharNGram, autoregressive_bits_per_char,  # noqa: E402
                                                    diffusion_bits_per_char, novelty, plausibility)
from diffusion_core.networks.pretrained import load_pretrained  # noqa: E402
from diffusion_core.pipelines.text_generation import RULES, autoregressive_names, generate_names  # noqa: E402


def timed(fn, reps: int = 7) -> float:
    fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def selection(*metas) -> dict:
    """How each model's exported checkpoint was chosen (its JSON's training.selected), for the lesson's fold."""
    chosen = {m["kind"]: m["training"].get("selected") for m in metas}
    if not all(chosen.values()):
        return {}
    return {"split": "validation", "names": len(nc.split("validation")),
            **{kind: c["step"] for kind, c in chosen.items()}}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--record", action="store_true")
    args = p.parse_args()
    mdlm, ar = load_pretrained("text_mdlm"), load_pretrained("text_ar")
    out = {"command": "python benchmarks/text_quality.py" + (" --record" if args.record else ""), "n": args.n,
           "created": time.strftime("%Y-%m-%d %H:%M:%S"), "corpus": nc.SOURCE,
           "steps": {"text_mdlm": mdlm.meta["training"]["steps"], "text_ar": ar.meta["training"]["steps"]}}
    with torch.inference_mode():  # both on one thread, as the app runs them (networks.threads)
        ms = 1000 * timed(lambda: generate_names(mdlm.model, 16, 16, "confident", 0))
        ms_ar = 1000 * timed(lambda: autoregressive_names(ar.model, 16, 0))
        passes = {"diffusion": generate_names(mdlm.model, 16, 16, "confident", 0)[1],
                  "autoregressive": autoregressive_names(ar.model, 16, 0)[1]}  # the network passes those runs made
    print(f"16 names, 16 steps (diffusion, one thread as the app runs it): {ms:.0f} ms  target <= 300 ms: "
          f"{'met' if ms <= 300 else 'MISSED'}")
    print(f"16 names (autoregressive twin): {ms_ar:.0f} ms; network passes: diffusion {passes['diffusion']}, twin "
          f"{passes['autoregressive']}")
    held = nc.as_tokens("held_out")
    bpc_d = diffusion_bits_per_char(mdlm.model, held)
    bpc_ar = autoregressive_bits_per_char(ar.model, held)
    print(f"held-out bits per character: diffusion NELBO <= {bpc_d:.3f}; autoregressive NLL {bpc_ar:.3f} "
          f"({len(held):,} names x 16 positions)")
    judge, train = CharNGram(nc.split("train")), nc.training_names()
    rng = np.random.default_rng(0)
    real = [nc.split("held_out")[i] for i in rng.choice(len(nc.split("held_out")), args.n, replace=False)]
    floor = plausibility(real, judge)
    out.update(ms_16_names_16_steps=ms, threads=1, ms_16_names_ar=ms_ar, passes=passes,
               bits_per_char={"diffusion_nelbo": bpc_d, "autoregressive_nll": bpc_ar}, held_out_names=len(held),
               plausibility_real=floor, samples={}, selected=selection(mdlm.meta, ar.meta))
    print(f"plausibility (trigram bits per char, lower is more name-like): held-out real names {floor:.3f}")
    for who, fn in [(f"diffusion, {rule}", lambda s, r=rule: generate_names(mdlm.model, 50, 16, r, s)[0]) for rule in RULES] + [
            ("autoregressive twin", lambda s: autoregressive_names(ar.model, 50, s)[0])]:
        names = [name for s in range(args.n // 50) for name in fn(s)]
        fig = {"novelty": novelty(names, train), "plausibility": plausibility(names, judge), "examples": names[:12]}
        out["samples"][who] = fig
        print(f"{who:28s} new {100 * fig['novelty']:.1f}%, plausibility {fig['plausibility']:.3f}; e.g. {', '.join(names[:6])}")
    if args.record:
        write_figures(TEXT_FIGURES, out)
        print(f"recorded in {TEXT_FIGURES.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
