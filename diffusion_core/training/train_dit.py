"""Train the MNIST DiT: `python -m diffusion_core.train dit [options]`.

Objective: `maths.objective.training_losses`, the eps-prediction MSE of Ho et al. 2020 (eq. 14), with
t uniform over 0 .. T-1 and optionally Min-SNR weighted, with the label replaced by the null class with probability `class_dropout_prob` (classifier-free
guidance, Ho & Salimans 2022). AdamW, linear warm-up then cosine decay, EMA of the weights.
Resumable: the run folder holds `ckpt.pt`, `loss.csv` and sample grids; rerunning the same command
continues where it stopped.
"""
from __future__ import annotations

import argparse
import contextlib
import math
import platform
from pathlib import Path

import torch
from tqdm import tqdm

from diffusion_core.networks.dit import DiT, PRESETS, DiTConfig, load_grown
from diffusion_core.data.mnist import load_mnist, to_model_space
from diffusion_core.maths.objective import WEIGHTINGS, loss_weights, training_losses
from diffusion_core.maths.schedules import make_schedule
from diffusion_core.training.training_utils import (
    EMA, LossLog, optimise, resume, RunClock, Timer, infinite_batches, training_device, save_checkpoint, seed_everything,
    truncate_log,
)


COMPILE_MODES = ("default", "reduce-overhead", "max-autotune-no-cudagraphs")


def add_dit_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", default=None, help="folder with the MNIST IDX files (default ../shared/data/mnist)")
    p.add_argument("--out", default="runs/dit", help="run folder: checkpoints, loss log, sample grids")
    p.add_argument("--preset", default="small", choices=sorted(PRESETS))
    p.add_argument("--schedule", default="cosine")
    p.add_argument("--timesteps", type=int, default=1000)
    p.add_argument("--steps", type=int, default=9000, help="optimizer steps in total")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=4e-4)
    p.add_argument("--warmup", type=int, default=300)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--ema-decay", type=float, default=0.999)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--time-limit", type=float, default=0, help="stop (with a checkpoint) after this many minutes; 0 = none")
    p.add_argument("--ckpt-minutes", type=float, default=5.0)
    p.add_argument("--sample-every", type=int, default=1000)
    p.add_argument("--limit-data", type=int, default=0, help="train on the first N digits only (tests)")
    p.add_argument("--export", default=None, help="write EMA weights here at the end, e.g. assets/dit_mnist")
    p.add_argument("--export-only", action="store_true", help="export the run's latest checkpoint and exit (no training)")
    p.add_argument("--loss-weighting", default="none", choices=WEIGHTINGS,
                   help="none: the plain eps-MSE of Ho et al. 2020 eq. 14; min-snr: the same eps-MSE weighted per timestep "
                        "by min(SNR, gamma) / SNR (Hang et al. 2023, 'Efficient Diffusion Training via Min-SNR Weighting "
                        "Strategy', eq. 9), which is 1 wherever SNR <= gamma and only down-weights the low-noise steps")
    p.add_argument("--snr-gamma", type=float, default=5.0)
    p.add_argument("--init-from", default=None,
                   help="start a new run (no ckpt.pt in --out yet) from exported weights, e.g. assets/dit_mnist: "
                        "model and EMA both begin there, with a fresh optimizer; the preset must match, or be the same "
                        "config deeper (its extra blocks start as the identity)")
    p.add_argument("--lr-by-time", action="store_true",
                   help="with --time-limit: the cosine decay follows the fraction of the time limit spent, not of "
                        "--steps (for a GPU lease of fixed minutes; --steps then only caps the run)")
    p.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0 = torch's default)")
    p.add_argument("--compile", action="store_true",
                   help="torch.compile the training forward (~30 s cold; `benchmarks/train_speed.py` measures the gain)")
    p.add_argument("--compile-mode", default="default", choices=COMPILE_MODES,
                   help="torch.compile's mode with --compile: reduce-overhead replays CUDA graphs, for a small model "
                        "whose GPU steps are bound by kernel launches (`benchmarks/train_speed.py` measures each)")


def lr_at(step: int, args, time_fraction: float | None = None) -> float:
    """Linear warm-up over `args.warmup` steps, then a cosine decay to 10% of `args.lr` over the steps up
    to `args.steps` or, when `time_fraction` (0 .. 1 of the time limit spent) is given, over the time."""
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    progress = (step - args.warmup) / max(1, args.steps - args.warmup) if time_fraction is None else time_fraction
    return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def make_optimizer(model: DiT, device: torch.device, lr: float, weight_decay: float = 0.0) -> torch.optim.Optimizer:
    """The trainer's optimiser: AdamW, fused on CUDA (one kernel for every parameter)."""
    return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay, fused=device.type == "cuda")


def training_in_bf16(device: torch.device) -> bool:
    """Whether the trainer runs its forward under bf16 autocast: on CUDA only (on this project's CPUs bf16
    training measured no faster than float32)."""
    return device.type == "cuda"


def train_step(net, model: DiT, opt: torch.optim.Optimizer, ema: EMA, schedule, weights: torch.Tensor,
               x0: torch.Tensor, y: torch.Tensor, lr: float, use_bf16: bool) -> torch.Tensor:
    """One optimiser step of the objective on a batch: x0 (B, 1, 28, 28) in [-1, 1] and labels y (B,) (some
    already dropped to the null class), on one device; t is drawn uniformly there. `net` is `model` or its
    compiled form. Returns the loss, a 0-d tensor left on the device: nothing in the step copies to or from
    the host once the first step has cached the schedule's table there, so a GPU never waits for Python
    between steps (checked on the meta device by `tests/training/test_train_dit.py`; counted on CUDA by
    `benchmarks/train_speed.py`)."""
    if net is not model:
        torch.compiler.cudagraph_mark_step_begin()  # under reduce-overhead: last step's graph outputs may be reused
    t = torch.randint(0, schedule.num_timesteps, (x0.shape[0],), device=x0.device)
    for group in opt.param_groups:
        group["lr"] = lr
    with torch.autocast(x0.device.type, dtype=torch.bfloat16) if use_bf16 else contextlib.nullcontext():
        loss = training_losses(net, schedule, x0, t, y, weights=weights)["loss"].mean()
    optimise(loss, model, opt, ema)  # the backward is compiled at its first call too
    return loss


def compiled(model: DiT, mode: str = "default"):
    """`model` under torch.compile in `mode` (one of COMPILE_MODES); the same parameters."""
    return torch.compile(model, mode=None if mode == "default" else mode)


def save_grid(model, schedule, path: Path, device) -> None:
    """A 10x10 grid (row = digit) sampled with DDIM 20 steps, guidance 3, as a PNG."""
    from diffusion_core.maths.samplers import sample, step_grid
    from diffusion_core.maths.guidance import CFGDenoiser
    from diffusion_core.data.images import save_png_grid

    g = torch.Generator(device="cpu").manual_seed(0)
    labels = torch.arange(10).repeat_interleave(10).to(device)
    x = torch.randn(100, 1, 28, 28, generator=g).to(device)
    den = CFGDenoiser(model, scale=3.0, null_label=model.config.num_classes)
    with torch.no_grad():
        out = sample("ddim", den, x, step_grid("ddim", schedule, 20, "trailing"), {"y": labels}, clip_x0=1.0)
    save_png_grid(out.float().cpu().numpy(), path, nrow=10)


def init_from_export(model: DiT, ema: EMA, stem) -> tuple[int, int]:
    """Load exported weights (`<stem>.safetensors`, the EMA of an earlier run) into the model and its
    EMA, growing them into a deeper preset if asked (`dit.load_grown`); returns the step count and the
    training images seen that run recorded (its steps x batch size when it names no count)."""
    from diffusion_core.networks.pretrained import load_pretrained

    pre = load_pretrained("dit", assets_dir=Path(stem).parent) if Path(stem).name == "dit_mnist" else None
    if pre is None:
        raise SystemExit("--init-from expects an exported stem named dit_mnist (e.g. assets/dit_mnist)")
    try:
        load_grown(model, pre.model)  # the same config, or a deeper one grown from it
    except ValueError as exc:
        raise SystemExit(f"--init-from {stem}: {exc}") from None
    ema.model.load_state_dict(model.state_dict())
    training = pre.meta.get("training", {})
    steps, batch = int(training.get("steps", 0)), training.get("batch_size")
    return steps, int(training.get("images_seen", steps * batch if isinstance(batch, int) else 0))


def train_dit(args) -> Path:
    seed_everything(args.seed)
    if getattr(args, "threads", 0):
        torch.set_num_threads(args.threads)
    device = training_device(args.device)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    schedule = make_schedule(args.schedule, args.timesteps)
    config: DiTConfig = PRESETS[args.preset]
    model = DiT(config).to(device)
    ema = EMA(model, args.ema_decay)
    opt = make_optimizer(model, device, args.lr, args.weight_decay)

    images, labels = load_mnist("train", args.data_dir)
    if args.limit_data:
        images, labels = images[: args.limit_data], labels[: args.limit_data]
    data = torch.from_numpy(to_model_space(images)).to(device)  # (N, 1, 28, 28) in [-1, 1]
    targets = torch.from_numpy(labels).to(device)
    weights = loss_weights(schedule, args.loss_weighting, args.snr_gamma).to(device)  # (T,)

    data_gen = torch.Generator().manual_seed(args.seed)
    step, previous_time, state = resume(out, model, ema, opt, data_gen)
    seen = 0  # training images seen, every stage of the lineage (the comparison's budget)
    if state is not None:
        if not args.export_only:
            truncate_log(out / "loss.csv", step)
        seen = int(state.get("images_seen", step * state["args"]["batch_size"]))  # older checkpoints: one batch size
        print(f"resumed from step {step} ({previous_time / 60:.1f} min of earlier training)")
    elif getattr(args, "init_from", None):
        init_steps, seen = init_from_export(model, ema, args.init_from)
        print(f"started from {args.init_from} (its run had {init_steps} steps, {seen:,} images)")
    if args.export_only:
        if state is None or not args.export:
            raise SystemExit("--export-only needs an existing checkpoint in --out and an --export path")
        export(ema.model, schedule, argparse.Namespace(**{**state["args"], "export": args.export}), step, previous_time, device,
               seen)
        return out
    log = LossLog(out / "loss.csv", ["step", "loss", "lr", "wall_time"], hold=10)  # a row every 10 steps, read back per 100
    timer = Timer(previous_time)
    batches = infinite_batches(data.shape[0], args.batch_size, data_gen, device)
    use_bf16 = training_in_bf16(device)
    clock = RunClock(args.ckpt_minutes, args.time_limit)

    def checkpoint():
        log.flush()
        save_checkpoint(
            out / "ckpt.pt", model=model.state_dict(), ema=ema.state_dict(), opt=opt.state_dict(), step=step,
            wall_time=timer.elapsed, data_gen=data_gen.get_state(), args=vars(args), config=config.to_dict(),
            schedule=schedule.to_dict(), images_seen=seen,
        )

    model.train()
    net = compiled(model, getattr(args, "compile_mode", "default")) if args.compile else model  # state dicts: `model`'s
    bar = tqdm(total=args.steps, initial=step, desc="dit", dynamic_ncols=True, mininterval=5)
    while step < args.steps:
        idx = next(batches)  # (B,) on the device already
        x0, y = data[idx], model.y_embedder.drop(targets[idx])
        lr = lr_at(step, args, clock.fraction_spent() if getattr(args, "lr_by_time", False) else None)
        try:
            loss = train_step(net, model, opt, ema, schedule, weights, x0, y, lr, use_bf16)
        except Exception as exc:  # torch.compile can fail on another torch or device: go on eagerly
            if net is model:
                raise
            print(f"torch.compile failed ({type(exc).__name__}: {str(exc)[:300]}); training eagerly")
            net = model
            continue
        step += 1
        seen += args.batch_size
        bar.update(1)
        if step % 10 == 0:
            log.write(step=step, loss=loss.detach(), lr=f"{lr:.3g}", wall_time=f"{timer.elapsed:.1f}")
            if not log.pending:  # just written: the latest loss read back
                bar.set_postfix(loss=log.last["loss"], refresh=False)
        if args.sample_every and step % args.sample_every == 0:
            try:
                save_grid(ema.model, schedule, out / f"samples_{step:06d}.png", device)
            except Exception as exc:  # a broken grid must not kill a long run
                print(f"sample grid failed: {exc!r}")
        if clock.tick(step, checkpoint):
            break
    bar.close()
    checkpoint()
    if args.export:
        export(ema.model, schedule, args, step, timer.elapsed, device, seen)
    return out


def export(model: DiT, schedule, args, step: int, wall_time: float, device, images_seen: int) -> None:
    """Write the EMA weights (safetensors) and a JSON with config, schedule and training facts."""
    from diffusion_core.networks.pretrained import save_pretrained

    hardware = torch.cuda.get_device_name(0) if device.type == "cuda" else f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"
    meta = {
        "kind": "dit",
        "config": model.config.to_dict(),
        "schedule": schedule.to_dict(),
        "prediction": "epsilon",
        "training": {
            "steps": step, "batch_size": args.batch_size, "images_seen": images_seen, "lr": args.lr, "ema_decay": args.ema_decay,
            "wall_time_s": round(wall_time, 1), "hardware": hardware, "seed": args.seed,
            "loss_weighting": getattr(args, "loss_weighting", "none"), "snr_gamma": getattr(args, "snr_gamma", None),
            "epochs": round(images_seen / 60000, 2),
            **({"command": args.command} if getattr(args, "command", None) else {}),
        },
    }
    save_pretrained(model, args.export, meta)
    print(f"exported EMA weights to {args.export}.safetensors")
