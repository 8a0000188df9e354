"""What a DiT's width and depth cost on this machine: parameters, one guided 16-digit step (a network call of
32 rows: conditional and unconditional) and one training step at batch 128 (forward, backward, AdamW), for
the widths the shipped model was chosen among and for its 6- and 8-block forms. Prints one line per size;
asserts nothing. `--record` stores the rows in assets/dit_figures.json under "sizes" (the DiT's model card
quotes them from there).

    python benchmarks/dit_sizes.py [--repeats 5] [--record]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from diffusion_core.evaluation.measured_figures import record_dit_figures  # noqa: E402
from diffusion_core.networks.dit import DiT, DiTConfig  # noqa: E402
from diffusion_core.training.train_dit import make_optimizer  # noqa: E402

SIZES = ((128, 6), (128, 8), (160, 6), (192, 6), (256, 6))  # (width, depth); heads = width / 32


def median_ms(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def measure(width: int, depth: int, repeats: int) -> dict:
    torch.manual_seed(0)
    model = DiT(DiTConfig(hidden_size=width, depth=depth, num_heads=width // 32))
    x, t, y = torch.randn(32, 1, 28, 28), torch.full((32,), 500), torch.arange(32) % 11
    with torch.no_grad():
        model.eval()
        step_ms = median_ms(lambda: model(x, t, y), repeats)
    model.train()
    opt = make_optimizer(model, torch.device("cpu"), 1e-4)
    xb, tb, yb = torch.randn(128, 1, 28, 28), torch.randint(0, 1000, (128,)), torch.arange(128) % 11

    def train_step():
        loss = (model(xb, tb, yb) - xb).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return {"width": width, "depth": depth, "heads": width // 32,
            "parameters": int(sum(p.numel() for p in model.parameters())),
            "guided_step_ms_16_digits": step_ms, "train_step_ms_batch_128": median_ms(train_step, repeats),
            "threads": torch.get_num_threads()}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--record", action="store_true")
    args = p.parse_args()
    rows = []
    for width, depth in SIZES:
        r = measure(width, depth, args.repeats)
        rows.append(r)
        print(f"width {width}, depth {depth}: {r['parameters'] / 1e6:.2f} M parameters, guided 16-digit step "
              f"{r['guided_step_ms_16_digits']:.1f} ms, training step (batch 128) {r['train_step_ms_batch_128']:.0f} ms "
              f"({r['threads']} threads)", flush=True)
    if args.record:
        record_dit_figures("sizes", rows, "python benchmarks/dit_sizes.py " + " ".join(sys.argv[1:]), 0)
        print("recorded under 'sizes' in assets/dit_figures.json")


if __name__ == "__main__":
    main()
