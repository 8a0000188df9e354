"""Pieces every trainer shares: device choice, seeding, EMA, resumable checkpoints, a loss log."""
from __future__ import annotations

import copy
import csv
import os
import random
import time
from pathlib import Path

import numpy as np
import torch


def training_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class EMA:
    """Exponential moving average of a model's parameters, with the usual warm-up
    decay_t = min(decay, (1 + n) / (10 + n)) so early averages are not dominated by the init."""

    def __init__(self, model: torch.nn.Module, decay: float = 0.999):
        self.decay = decay
        self.num_updates = 0
        self.model = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        self.num_updates += 1
        d = min(self.decay, (1 + self.num_updates) / (10 + self.num_updates))
        torch._foreach_lerp_(list(self.model.parameters()), [p.detach() for p in model.parameters()], 1.0 - d)

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "num_updates": self.num_updates, "decay": self.decay}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.num_updates = state["num_updates"]
        self.decay = state["decay"]


def save_checkpoint(path: Path, **state) -> None:
    """Atomic save (write then rename), so a kill mid-save never leaves a broken checkpoint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    state["rng"] = {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path) -> dict | None:
    path = Path(path)
    if not path.exists():
        return None
    state = torch.load(path, map_location="cpu", weights_only=False)
    rng = state.get("rng")
    if rng:
        torch.set_rng_state(rng["torch"])
        np.random.set_state(rng["numpy"])
        random.setstate(rng["python"])
    return state


class LossLog:
    """Appends rows to a CSV (creating it with a header), so resumed runs continue one file.

    Rows are held until `hold` of them have come (or `flush`). A value may be a one-element tensor still on
    the GPU: the held rows' tensors are read back in one copy and written with 6 decimals. Reading one loss
    back makes the host wait for every kernel queued before it; one wait per `hold` rows keeps the GPU fed.
    """

    def __init__(self, path: Path, fields: list[str], hold: int = 1):
        self.path = Path(path)
        self.fields = fields
        self.hold = max(1, int(hold))
        self.pending: list[dict] = []
        self.last: dict = {}  # the last row written, its tensors as their text
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            with open(self.path, "w", newline="") as f:
                csv.writer(f).writerow(fields)

    def write(self, **row) -> None:
        if any(isinstance(v, torch.Tensor) and v.numel() != 1 for v in row.values()):
            raise ValueError("A loss log value must be a number or a one-element tensor.")
        self.pending.append(row)
        if len(self.pending) >= self.hold:
            self.flush()

    def flush(self) -> None:
        """Write the held rows (their tensors, all on one device, read back together)."""
        rows, self.pending = self.pending, []  # a failure below is not repeated at every later flush
        if not rows:
            return
        held = [v.detach().float().reshape(()) for row in rows for v in row.values() if isinstance(v, torch.Tensor)]
        values = iter(torch.stack(held).tolist() if held else [])
        text = [{k: f"{next(values):.6f}" if isinstance(v, torch.Tensor) else v for k, v in row.items()} for row in rows]
        with open(self.path, "a", newline="") as f:
            csv.writer(f).writerows([[row.get(k, "") for k in self.fields] for row in text])
        self.last = text[-1]


def truncate_log(path: Path, max_step: int) -> None:
    """Drop log rows past `max_step` (after resuming from an older checkpoint)."""
    path = Path(path)
    if not path.exists():
        return
    with open(path) as f:
        rows = list(csv.reader(f))
    keep = [rows[0]] + [r for r in rows[1:] if r and int(r[0]) <= max_step]
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows(keep)


class Timer:
    """Wall time that survives resumes: `elapsed` adds the time of earlier runs."""

    def __init__(self, previous: float = 0.0):
        self.previous = previous
        self.start = time.time()

    @property
    def elapsed(self) -> float:
        return self.previous + time.time() - self.start


def infinite_batches(n: int, batch_size: int, generator: torch.Generator, device=None):
    """Endless shuffled index batches over range(n), one permutation per epoch, drawn by the CPU `generator`
    and moved to `device` once per epoch: on a GPU a host-to-device copy waits for the queued work, so one
    copy per step would hold a small model's launches back to the host's pace."""
    while True:
        perm = torch.randperm(n, generator=generator).to(device or "cpu")
        for k in range(0, n - batch_size + 1, batch_size):
            yield perm[k : k + batch_size]


def add_common_args(p, epochs: float, lr: float, batch_size: int = 128, export_hint: str = "assets/<model>_mnist") -> None:
    """The options every small trainer shares."""
    p.add_argument("--data-dir", default=None, help="folder with the MNIST IDX files (default ../shared/data/mnist)")
    p.add_argument("--epochs", type=float, default=epochs)
    p.add_argument("--batch-size", type=int, default=batch_size)
    p.add_argument("--lr", type=float, default=lr)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--limit-data", type=int, default=0, help="train on the first N digits only (tests)")
    p.add_argument("--export", default=None, help=f"write the weights here, e.g. {export_hint}")


def load_train_tensors(args, device, unit_range: bool = False):
    """MNIST training digits as (images (N, 1, 28, 28) float32, labels (N,) int64) on `device`,
    in [-1, 1], or in [0, 1] with `unit_range`."""
    from diffusion_core.data.mnist import load_mnist, to_model_space

    images, labels = load_mnist("train", args.data_dir)
    if args.limit_data:
        images, labels = images[: args.limit_data], labels[: args.limit_data]
    x = to_model_space(images)
    if unit_range:
        x = (x + 1.0) / 2.0
    return torch.from_numpy(x).to(device), torch.from_numpy(labels.copy()).to(device)


class RunClock:
    """When a long run checkpoints (every `ckpt_minutes`) and when it stops (after `time_limit` minutes; 0: never)."""

    def __init__(self, ckpt_minutes: float, time_limit: float = 0.0):
        self.ckpt_s, self.limit_s = 60.0 * ckpt_minutes, 60.0 * time_limit
        self.started = self.last_ckpt = time.time()

    def checkpoint_due(self) -> bool:
        if time.time() - self.last_ckpt > self.ckpt_s:
            self.last_ckpt = time.time()
            return True
        return False

    def tick(self, step: int, checkpoint) -> bool:
        """Call `checkpoint()` when one is due; True when the run is out of time and should stop."""
        if self.checkpoint_due():
            checkpoint()
        return self.out_of_time(step)

    def fraction_spent(self) -> float:
        """The fraction of the time limit spent so far (0 without a limit)."""
        return min(1.0, (time.time() - self.started) / self.limit_s) if self.limit_s else 0.0

    def out_of_time(self, step: int) -> bool:
        if self.limit_s and time.time() - self.started > self.limit_s:
            print(f"time limit reached at step {step}")
            return True
        return False


def resume(out_dir, model: torch.nn.Module, ema: "EMA", opt: torch.optim.Optimizer, generator: torch.Generator,
           generator_key: str = "data_gen") -> tuple[int, float, dict | None]:
    """Load a run's checkpoint (`out_dir/ckpt.pt`) into the model, its EMA, the optimiser and the data
    generator. Returns (step, wall time so far, the checkpoint) or (0, 0.0, None) for a new run."""
    state = load_checkpoint(Path(out_dir) / "ckpt.pt")
    if state is None:
        return 0, 0.0, None
    model.load_state_dict(state["model"])
    ema.load_state_dict(state["ema"])
    opt.load_state_dict(state["opt"])
    generator.set_state(state[generator_key])
    return state["step"], state["wall_time"], state


def optimise(loss: torch.Tensor, model: torch.nn.Module, opt: torch.optim.Optimizer, ema: "EMA | None" = None,
             max_norm: float = 1.0) -> None:
    """One optimiser step on `loss`: gradients, clipped to `max_norm`, the step, then the EMA's update."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    opt.step()
    if ema is not None:
        ema.update(model)


def start_run(args, unit_range: bool = False):
    """What a small trainer does first: seed everything, pick the device, load the digits (see
    `load_train_tensors`). Returns (device, images, labels, a torch.Generator seeded for the run)."""
    seed_everything(args.seed)
    device = training_device(args.device)
    x_all, y_all = load_train_tensors(args, device, unit_range=unit_range)
    return device, x_all, y_all, torch.Generator().manual_seed(args.seed)


def fresh_log(path, fields: list[str]) -> LossLog | None:
    """A loss log that starts empty (a small trainer's run is never resumed); None when `path` is empty."""
    if not path:
        return None
    log = LossLog(path, fields)
    log.path.write_text(",".join(fields) + "\n")
    return log


def run_facts(args, wall: float, device, **extra) -> dict:
    """The `training` entry of a small model's JSON: its options, wall time and where it ran."""
    return {**extra, "epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "seed": args.seed,
            "wall_time_s": round(wall, 1), "device": str(device), "threads": torch.get_num_threads()}


PART_BYTES = 15 * 2**20  # a lent GPU machine returns files of at most 16 MiB


def split_checkpoint(path: Path, out_dir: Path, max_bytes: int = PART_BYTES) -> list[Path]:
    """Cut a checkpoint file into pieces of at most `max_bytes` each, `ckpt.pt.part<k>` in `out_dir` (raw
    bytes, so any entry may be larger than a piece); `join_checkpoint` puts them back together."""
    data = Path(path).read_bytes()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, start in enumerate(range(0, len(data), max_bytes)):
        paths.append(out_dir / f"ckpt.pt.part{k}")
        paths[-1].write_bytes(data[start:start + max_bytes])
    return paths


def join_checkpoint(run_dir: Path) -> Path | None:
    """The inverse of `split_checkpoint`: the pieces `ckpt.pt.part*` in `run_dir` joined into its `ckpt.pt`
    (kept when there are none), checked by loading it; returns its path, or None when there is none."""
    run_dir = Path(run_dir)
    parts = sorted(run_dir.glob("ckpt.pt.part*"), key=lambda p: int(p.name.rsplit("part", 1)[1]))
    if parts:
        tmp = run_dir / "ckpt.tmp"
        tmp.write_bytes(b"".join(p.read_bytes() for p in parts))
        torch.load(tmp, map_location="cpu", weights_only=False)  # a missing or broken piece fails here
        os.replace(tmp, run_dir / "ckpt.pt")
        for p in parts:
            p.unlink()
    return run_dir / "ckpt.pt" if (run_dir / "ckpt.pt").exists() else None
