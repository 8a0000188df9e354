"""Tiny networks on one intra-op thread.

The score lab's and the race's MLPs and the text model multiply matrices of at most a few hundred rows
and columns. On an idle 2-core CPU two threads gain little; with the other core busy (another user's
request, a training run: the normal case on a shared Space) the second thread waits for a core and every
op waits for it. Measured in one run (`python benchmarks/tiny_threads.py`): two training steps of the
score lab's MLP, idle CPU, median 5.6 ms on two threads, 6.2 ms on one; the other core busy, 17.7 ms with a
95th percentile of 113 ms on two, 6.0 / 7.0 ms on one. 16 names in 16 steps of the text model: idle 123 ms
on two, 144 ms on one; busy 425 ms on two, 152 ms on one. One thread is the steady choice.

`one_thread()` runs a block on one thread and gives the thread back its count afterwards; `one_thread_steps`
does the same around each step of a generator (a server may run each step of a stream on a different
worker thread, so the setting never spans a `yield`). The count torch keeps is per thread for OpenMP's
own part, so a DiT generation running meanwhile in another thread keeps its two.
"""
from __future__ import annotations

import contextlib
import functools
from typing import Callable, Iterator, TypeVar

import torch

T = TypeVar("T")


@contextlib.contextmanager
def one_thread():
    """Torch's intra-op threads set to 1 inside the block, restored after it."""
    before = torch.get_num_threads()
    if before != 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if before != 1:
            torch.set_num_threads(before)


def on_one_thread(fn: Callable[..., T]) -> Callable[..., T]:
    """`fn` (a plain function) run inside `one_thread()`."""
    @functools.wraps(fn)
    def run(*args, **kwargs):
        with one_thread():
            return fn(*args, **kwargs)
    return run


def one_thread_steps(steps: Iterator[T]) -> Iterator[T]:
    """The items of `steps`, each computed inside `one_thread()`."""
    while True:
        with one_thread():
            try:
                item = next(steps)
            except StopIteration:
                return
        yield item
