"""Why the tiny networks run on one thread (`diffusion_core/networks/threads.py`): the same work with
torch's default thread count and inside `one_thread()`, in one run, first on an idle CPU, then with the
other core busy (a process multiplying matrices on one thread: what another user's request or a training
run does on a shared Space). Prints figures; asserts nothing.

    python benchmarks/tiny_threads.py

- two training steps of the score lab's MLP (batch 256): median and 95th percentile of 150;
- 16 names in 16 steps of the text model.
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from diffusion_core.data.points2d import preset_points  # noqa: E402
from diffusion_core.maths.schedules import make_schedule  # noqa: E402
from diffusion_core.networks.pretrained import load_pretrained  # noqa: E402
from diffusion_core.networks.threads import one_thread  # noqa: E402
from diffusion_core.pipelines.text_generation import _diffusion_steps  # noqa: E402
from diffusion_core.maths.masking import MaskingSchedule  # noqa: E402
from diffusion_core.training.train_2d import Trainer2D  # noqa: E402


def times_ms(fn, reps: int) -> list[float]:
    fn()
    out = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        out.append(1000 * (time.perf_counter() - start))
    return out


def show(label: str, default: list[float], single: list[float]) -> None:
    def fig(v):
        return f"median {statistics.median(v):6.1f} ms, 95th percentile {float(np.percentile(v, 95)):6.1f} ms"
    print(f"{label:44s} default ({torch.get_num_threads()} threads): {fig(default)}\n{'':44s} one thread:          {fig(single)}", flush=True)


BUSY = "import torch\ntorch.set_num_threads(1)\na = torch.randn(512, 512)\nwhile True:\n    a = (a @ a).tanh()\n"


def main() -> None:
    import subprocess

    print("# idle CPU", flush=True)
    measure()
    busy = subprocess.Popen([sys.executable, "-c", BUSY])
    try:
        time.sleep(1.0)
        print("# the other core busy", flush=True)
        measure()
    finally:
        busy.kill()


def measure() -> None:
    pts, labels = preset_points("two moons", 2000, 0)
    trainer = Trainer2D(make_schedule("cosine", 1000), pts, labels)
    raw_steps = Trainer2D.steps.__wrapped__  # the method without its one-thread wrapper

    def train_default():
        raw_steps(trainer, 2)

    def train_single():
        with one_thread():
            raw_steps(trainer, 2)
    show("score lab: 2 training steps of the MLP", times_ms(train_default, 150), times_ms(train_single, 150))

    model = load_pretrained("text_mdlm").model

    def names():
        for _ in _diffusion_steps(model, 16, 16, "confident", 0, None, MaskingSchedule()):
            pass

    def names_single():
        with one_thread():
            names()
    show("text: 16 names in 16 steps", times_ms(names, 9), times_ms(names_single, 9))


if __name__ == "__main__":
    main()
