"""Train the text model: `python -m diffusion_core.train text [--kind diffusion|ar] [options]`.

`--kind diffusion` (default): the masked-diffusion model (MDLM's objective, `maths.masking`) on the
surname corpus (`data.names_corpus`); `--kind ar`: its autoregressive twin, the same blocks and size with
a causal mask, trained on next-character cross-entropy (a BOS token first). Resumable from `--out`
(checkpoint every few minutes and at the end), EMA weights exported with `--export`, a loss log, tqdm;
`--time-limit` minutes, `--threads` for a background run. Every `--validate-every` steps the EMA weights
are scored on the validation split (bits per character: the twin's NLL, the diffusion model's NELBO with
fixed draws), and the export is the best of them: the checkpoint is chosen on names that are neither
trained on nor the held-out names the figures are measured on (`benchmarks/text_quality.py`).
"""
from __future__ import annotations

import argparse
import math
import os
import platform
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from diffusion_core.data import names_corpus as nc
from diffusion_core.maths.masking import MaskingSchedule, masked_diffusion_losses
from diffusion_core.networks.text_dit import TextDiT, TextDiTConfig
from diffusion_core.training.training_utils import (EMA, LossLog, Timer, infinite_batches, optimise, resume, RunClock,
                                                      save_checkpoint, seed_everything)


def add_text_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kind", choices=("diffusion", "ar"), default="diffusion")
    p.add_argument("--out", default="runs/text", help="run folder (resumable checkpoint, loss log)")
    p.add_argument("--steps", type=int, default=20000)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=int, default=500)
    p.add_argument("--ema-decay", type=float, default=0.999)
    p.add_argument("--hidden-size", type=int, default=128)
    p.add_argument("--depth", type=int, default=4)
    p.add_argument("--schedule", choices=("linear", "cosine"), default="linear")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--limit-data", type=int, default=0, help="train on the first N names only (tests)")
    p.add_argument("--ckpt-minutes", type=float, default=5.0)
    p.add_argument("--time-limit", type=float, default=0.0, help="minutes; 0 = none")
    p.add_argument("--export", default=None, help="write the EMA weights here, e.g. assets/text_mdlm")
    p.add_argument("--export-only", action="store_true")
    p.add_argument("--validate-every", type=int, default=500,
                   help="score the EMA weights on the validation split every this many steps and export the best "
                        "(0: never; the last weights are exported)")


def text_lr_at(step: int, args) -> float:
    """Linear warm-up, then cosine decay to 10% at --steps."""
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    done = min((step - args.warmup) / max(args.steps - args.warmup, 1), 1.0)
    return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * done)))


def ar_losses(model: TextDiT, x0: torch.Tensor) -> torch.Tensor:
    """Next-character NLL per sequence (nats): input BOS + x[:-1], target x."""
    bos = torch.full((x0.shape[0], 1), model.config.vocab_size, dtype=x0.dtype)
    logits = model(torch.cat([bos, x0[:, :-1]], 1))
    return F.cross_entropy(logits.transpose(1, 2), x0, reduction="none").sum(1)


def sequence_losses(model: TextDiT, kind: str, x0: torch.Tensor, schedule: MaskingSchedule,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """(N,) nats per sequence: the diffusion model's NELBO or the twin's NLL."""
    if kind == "ar":
        return ar_losses(model, x0)
    return masked_diffusion_losses(model, schedule, x0, nc.MASK_ID, generator=generator)["loss"]


VALIDATION_DRAWS = 2  # draws of t and the masks per validation name (the diffusion model's NELBO estimate)


@torch.no_grad()
def validation_bits(model: TextDiT, kind: str, names: torch.Tensor, schedule: MaskingSchedule) -> float:
    """Bits per character on the validation names (N, L): the twin's NLL or the diffusion model's NELBO,
    with the same draws every time (seed 0), so two checkpoints are compared on the same masks."""
    g = torch.Generator().manual_seed(0)
    total = sum(sequence_losses(model, kind, names[k:k + 1024], schedule, g).sum().item()
                for _ in range(1 if kind == "ar" else VALIDATION_DRAWS) for k in range(0, len(names), 1024))
    return total / ((1 if kind == "ar" else VALIDATION_DRAWS) * names.numel() * math.log(2))


def train_text(args) -> Path:
    seed_everything(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    config = TextDiTConfig(vocab_size=len(nc.VOCAB), seq_len=nc.SEQ_LEN, hidden_size=args.hidden_size, depth=args.depth,
                           causal=args.kind == "ar")
    model = TextDiT(config)
    ema = EMA(model, args.ema_decay)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    schedule = MaskingSchedule(args.schedule)
    data = torch.from_numpy(nc.as_tokens("train"))
    if args.limit_data:
        data = data[: args.limit_data]
    gen = torch.Generator().manual_seed(args.seed)
    step, previous, state = resume(out, model, ema, opt, gen, generator_key="gen")
    if state is not None:
        print(f"resumed from step {step}")
    stages = past_stages(state)
    best = Best(out / "best.pt")
    if args.export_only:
        if state is None or not args.export:
            raise SystemExit("--export-only needs a checkpoint in --out and an --export path")
        export_text_model(best.weights(ema.model), args, step, previous, stages, best.record(step))
        return out
    valid = torch.from_numpy(nc.as_tokens("validation"))
    valid_every = getattr(args, "validate_every", 0)
    first_step = step
    log = LossLog(out / "loss.csv", ["step", "loss_per_char", "lr", "wall_time"])
    timer, clock = Timer(previous), RunClock(args.ckpt_minutes, args.time_limit)
    batches = infinite_batches(len(data), args.batch_size, gen)

    def this_stage() -> dict:
        return stage_record(args.command, first_step, step, timer.elapsed - previous)

    def checkpoint():
        save_checkpoint(out / "ckpt.pt", model=model.state_dict(), ema=ema.state_dict(), opt=opt.state_dict(), step=step,
                        wall_time=timer.elapsed, gen=gen.get_state(), args=vars(args), stages=stages + [this_stage()])

    model.train()
    bar = tqdm(total=args.steps, initial=step, desc=f"text {args.kind}", dynamic_ncols=True, mininterval=5)
    while step < args.steps:
        x0 = data[next(batches)]
        for group in opt.param_groups:
            group["lr"] = text_lr_at(step, args)
        loss = sequence_losses(model, args.kind, x0, schedule, gen).mean() / nc.SEQ_LEN
        optimise(loss, model, opt, ema)
        step += 1
        bar.update(1)
        if step % 20 == 0:
            log.write(step=step, loss_per_char=f"{loss.item():.5f}", lr=f"{text_lr_at(step, args):.3g}", wall_time=f"{timer.elapsed:.1f}")
            bar.set_postfix(loss=f"{loss.item():.3f}")
        if valid_every and step % valid_every == 0:
            bits = validation_bits(ema.model, args.kind, valid, schedule)
            best.offer(ema.model, step, bits)
            bar.write(f"step {step}: validation {bits:.4f} bits per character (best {best.bits:.4f} at step {best.step})")
        if clock.tick(step, checkpoint):
            break
    bar.close()
    checkpoint()
    if args.export:
        export_text_model(best.weights(ema.model), args, step, timer.elapsed, stages + [this_stage()], best.record(step))
    return out


class Best:
    """The EMA weights that scored best on the validation split so far, kept in `path` (a resumed run
    keeps competing against them), with every score in `validation.csv` beside it."""

    def __init__(self, path: Path):
        self.path = Path(path)
        state = torch.load(self.path, weights_only=True) if self.path.exists() else None
        self.state, self.step, self.bits = (state, int(state["step"]), float(state["bits"])) if state else (None, -1, math.inf)

    def offer(self, model: TextDiT, step: int, bits: float) -> None:
        with open(self.path.with_name("validation.csv"), "a") as f:
            f.write(f"{step},{bits:.6f}\n")
        if bits < self.bits:
            self.state = {"model": {k: v.clone() for k, v in model.state_dict().items()}, "step": step, "bits": bits}
            self.step, self.bits = step, bits
            tmp = self.path.with_suffix(".tmp")
            torch.save(self.state, tmp)
            os.replace(tmp, self.path)  # atomic: a kill mid-save leaves the previous best

    def weights(self, model: TextDiT) -> TextDiT:
        """`model` with the best validated weights loaded (unchanged when nothing was validated)."""
        if self.state is not None:
            model.load_state_dict(self.state["model"])
        return model

    def record(self, last_step: int) -> dict | None:
        """What the export's JSON says about the choice (None when nothing was validated)."""
        if self.state is None:
            return None
        return {"split": "validation", "names": len(nc.split("validation")), "step": self.step,
                "bits_per_char": round(self.bits, 4), "last_step": last_step,
                "rule": "the EMA weights with the lowest validation bits per character"}


def stage_record(command: str, first: int, last: int, wall_s: float) -> dict:
    """One stage of a resumed run: its command, steps first -> last, wall time and where it ran."""
    return {"command": command, "steps": f"{first} -> {last}", "wall_time_s": round(wall_s, 1),
            "hardware": f"CPU ({platform.machine()}, {torch.get_num_threads()} thread(s))"}


def past_stages(state: dict | None) -> list[dict]:
    """The stages a checkpoint records; a checkpoint from before stages were recorded gets one stage
    made of its last run's options (the steps and wall time of all its sessions together)."""
    if state is None:
        return []
    if state.get("stages"):
        return list(state["stages"])
    a = state.get("args", {})
    command = (f"python -m diffusion_core.train text --kind {a.get('kind')} --out {a.get('out')} --steps {a.get('steps')} "
               f"--batch-size {a.get('batch_size')} --threads {a.get('threads')}")
    record = stage_record(command, 0, state["step"], state["wall_time"])
    record["note"] = "several resumed background sessions on the 2-core CPU, beside other work"
    return [record]


def export_text_model(model: TextDiT, args, step: int, wall_time: float, stages: list[dict],
                      selected: dict | None = None) -> None:
    """The EMA weights and their JSON (config, corpus, vocabulary, the training stages, how the exported
    checkpoint was chosen) at `args.export`."""
    from diffusion_core.networks.pretrained import save_pretrained

    a = vars(args) if not isinstance(args, dict) else args
    meta = {"kind": "text_mdlm" if a["kind"] == "diffusion" else "text_ar", "config": model.config.to_dict(),
            "masking_schedule": a["schedule"], "corpus": nc.SOURCE, "vocab": nc.VOCAB, "mask_token": nc.MASK,
            "training": {"steps": step, "batch_size": a["batch_size"], "lr": a["lr"], "ema_decay": a["ema_decay"],
                         "wall_time_s": round(wall_time, 1), "seed": a["seed"],
                         "hardware": f"CPU ({platform.machine()})", "history": stages,
                         "split": {p: len(nc.split(p)) for p in nc.SPLITS}}}
    if selected:
        meta["training"]["selected"] = selected
        meta["training"]["steps"] = selected["step"]
    save_pretrained(model, a["export"], meta)
    print(f"exported EMA weights to {a['export']}.safetensors")
