"""Quality rows measured side by side: each row samples N digits from one network at one setting and scores
them (accuracy, Frechet distance, precision / recall, `evaluation/quality.py`). Rows do not depend on one another,
so the cost lab hands them to worker processes of one thread each, one worker per core: on this 2-core CPU two
one-thread workers sample about 1.25x the digits per second of one two-thread process (a DiT step of 16 tokens
does not split well across threads). Each worker samples 64 digits per batch (128 guided rows per forward): with
both workers busy that measured 2.3 ms per row against 2.7 ms at the generators' 250 (bfloat16; float32 3.0 against
4.1 ms), a working set that fits the shared caches better (timed with two processes at once).

    pool = QualityPool(pre.meta, n=1000, seed=0, workers=2)
    rows = pool.rows([QualityJob("bfloat16", "bfloat16", s), QualityJob("pruned", "bfloat16", s, model=pruned)])
    pool.close()

A row's ms_per_image is the time of its own worker, one thread, while the other worker is busy too: compare
those times with each other, not with a step timed alone.
"""
from __future__ import annotations

import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

BATCH = 64  # digits per sampling batch in a worker
METRICS = ("accuracy", "frechet_distance", "frechet_distance_real_floor", "frechet_ratio_to_floor", "precision", "recall")


@dataclass(frozen=True)
class QualityJob:
    """One row: `key` names the network (a row is measured once per key and setting); `precision` is what
    `networks/precision.precision_net` takes; `model` is None for the shipped DiT, else the nn.Module to run."""

    key: str
    precision: str
    setting: object  # settings.Sampling
    model: object = None

    def cache_key(self) -> tuple:
        return (self.key, tuple(self.setting.recipe().values()))


_WORKER: dict = {}  # in each worker process: the shipped model, the labels, N and the seed


def _start_worker(n: int, seed: int, threads: int, batch: int) -> None:
    sys.path.insert(0, str(ROOT))
    import torch

    from diffusion_core.networks.pretrained import load_pretrained
    from diffusion_core.pipelines.generation import parse_labels

    torch.set_num_threads(threads)
    _WORKER.update(pre=load_pretrained("dit"), labels=parse_labels("balanced", n), n=n, seed=seed, batch=batch)


def measure(job: QualityJob) -> dict:
    """The setting's recipe, passes, ms per image and METRICS of `job`, in this process."""
    from diffusion_core.data.mnist import to_uint8
    from diffusion_core.evaluation.quality import evaluate_samples
    from diffusion_core.networks.precision import precision_net
    from diffusion_core.pipelines.generation import nfe_per_sample
    from diffusion_core.pipelines.variant_sampling import generate_variant

    pre, labels, n, seed = _WORKER["pre"], _WORKER["labels"], _WORKER["n"], _WORKER["seed"]
    s = job.setting
    net = precision_net(pre.model if job.model is None else job.model, job.precision)
    start = time.perf_counter()
    images = generate_variant(net, pre, labels, seed, s, batch_size=_WORKER["batch"])
    ms = (time.perf_counter() - start) * 1000 / n
    r = evaluate_samples(to_uint8(images.numpy()), labels, seed=seed)
    return {**s.recipe(), "passes": nfe_per_sample("dit", pre.meta, s), "ms_per_image": round(ms, 2),
            **{k: round(float(r[k]), 5) for k in METRICS}}


def _say(job: QualityJob, row: dict) -> None:
    s = job.setting
    print(f"  {job.key}: {s.sampler} {s.steps} steps {s.spacing} w={s.guidance:g}, {row['passes']} passes: accuracy "
          f"{100 * row['accuracy']:.1f}%, FD {row['frechet_distance']:.2f} ({row['frechet_ratio_to_floor']:.2f}x the floor), "
          f"{row['ms_per_image']:.1f} ms per image", flush=True)


class QualityPool:
    """`workers` processes of one thread each (workers=1: one process of every thread, in this one), and every row
    measured so far."""

    def __init__(self, meta: dict, n: int, seed: int, workers: int = 2, batch: int = BATCH):
        self.meta, self.n, self.seed, self.workers, self.batch = meta, n, seed, workers, batch
        self.done: dict = {}
        self._pool = None
        if workers > 1:
            context = multiprocessing.get_context("spawn")  # no fork of a process that holds torch's thread pools
            self._pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                                             initargs=(n, seed, 1, batch))
        else:
            import torch
            _start_worker(n, seed, torch.get_num_threads(), batch)

    def rows(self, jobs: list[QualityJob]) -> list[dict]:
        """Each job's row, in the order given; a row measured before is not measured again. The longest jobs start
        (the most network passes) first so that the workers finish together."""
        todo = list({job.cache_key(): job for job in jobs if job.cache_key() not in self.done}.values())
        from diffusion_core.pipelines.generation import nfe_per_sample

        todo.sort(key=lambda job: -nfe_per_sample("dit", self.meta, job.setting))
        if self._pool is None:
            for job in todo:
                self.done[job.cache_key()] = measure(job)
                _say(job, self.done[job.cache_key()])
        else:
            futures = [(job, self._pool.submit(measure, job)) for job in todo]
            for job, future in futures:
                self.done[job.cache_key()] = future.result()
                _say(job, self.done[job.cache_key()])
        return [self.done[job.cache_key()] for job in jobs]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
