"""Cross-user batching: every generation running at the same time shares one network call per round.

A class of 30 pressing Generate at once would otherwise queue 30 generations behind each other. Here
each generation's sampler runs in its own (web-server) thread, as before, but its denoiser is a
`BatchedDenoiser`: a call posts the rows it needs to the `StepBatcher` and waits. The batcher's one
thread gathers what every waiting generation asked for, evaluates the network once per round and
hands each generation its own rows back. So:

- **Same result as alone, to the bit.** The network only ever sees calls of a few fixed sizes
  (padded): `chunk` rows, and its doubles up to `max_chunk` only where a check at start-up finds that
  this machine's kernels give every row the same bits at each of those sizes (matrix kernels may choose
  their blocking by shape). So a row's result never depends on which other rows share its call. Classifier-free guidance (Ho & Salimans 2022, eq. 6) is combined
  per request with the same arithmetic as `guidance.CFGDenoiser`, per-row t, label, scale and
  guidance interval included. A generation alone goes through the same path. (Not so for an int8 network,
  `DIFFUSION_CLASSROOM_SERVE_PRECISION=int8`: its dynamic quantization scales a call's activations by the whole
  call, so a row's result moves slightly with its neighbours.)
- **Shared work.** Identical rows (the same x_t, t and label: a class all on the default seed) are
  evaluated once: within a round, and across rounds through a small cache of the latest results, so
  30 students who press Generate within a second of each other on the same seed share one run.
- **Fair, and never stopped.** A round takes the waiting requests of the generations that have been served
  the fewest rows so far, up to `max_rows` distinct rows, so a 250-step Heun run beside a default 20-step one
  does not slow it to its own pace. Requests that have waited `max_wait_s` (1 s) go first, the oldest first,
  whatever their runs' counts: a run well ahead of a class that has just joined slows to about a step a second instead of
  stopping until they catch up (measured with the classroom burst, spread over a second: the first student's
  run stopped for 20 s at step 11 of 20, and the Ray front end's 20-s step timeout ended it).
- **One OpenMP team.** All network calls run on the batcher's one thread (on 2 cores, threads that
  each call into torch keep several thread teams spinning against each other).
- **New runs first.** While a run that has just started has not yet shown its first frame (`priority`),
  the batcher holds its rounds (at most `hold_s`): the running generations then wait without taking the
  interpreter's lock, and the newcomer's first frame is drawn and sent at once instead of queueing behind
  thirty threads (measured with 30 students: the last first frame at 1.9 s without, see the classroom
  benchmark for with).
"""
from __future__ import annotations

import contextlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

import torch

from diffusion_core.maths.guidance import NO_UPPER, check_interval, combine, guided_rows

CPU_CHUNK = 16  # rows per network call on a CPU, the smallest: a lone 16-digit run pads nothing
CPU_MAX_CHUNK = 64  # with 2 threads, bf16: 1.15 ms a row in calls of 64 against 1.76 in calls of 16
CUDA_CHUNK = 128


@dataclass(eq=False)
class Member:
    """One generation taking part; `served` counts the distinct rows evaluated for it, `asked` the rows it
    asked for and `reused` those answered from the cache of earlier rounds (an identical recent run's)."""

    served: int = 0
    asked: int = 0
    reused: int = 0
    closed: bool = False
    fresh: bool = False  # never answered from earlier rounds' cache: its timings are the network's (a timing a page quotes)


@dataclass(eq=False)
class _Request:
    member: Member
    rows: list[tuple[torch.Tensor, float, int]]  # (x (C, H, W), t, label) per row asked
    keys: list[tuple]  # what makes two rows the same computation, per row
    done: threading.Event = field(default_factory=threading.Event)
    out: list[torch.Tensor] | None = None  # eps (C, H, W) per row, in order
    error: BaseException | None = None
    arrived: float = field(default_factory=time.monotonic)


class StepBatcher:
    """Evaluates `net(x, t, y) -> eps` for many generations at once, on one thread.

    `net` takes x (B, C, H, W) float32, t (B,) float32 network timesteps, y (B,) int64 labels (the null
    label for unconditional rows) and returns eps (B, C, H, W) float32; B is always `chunk`.
    """

    def __init__(self, net, null_label: int, device="cpu", chunk: int | None = None, max_rows: int = 256,
                 gather_s: float = 0.01, cache_rows: int = 2048, max_chunk: int | None = None, hold_s: float = 0.3,
                 max_wait_s: float = 1.0):
        self.net = net
        self.null_label = int(null_label)
        self.device = torch.device(device)
        self.chunk = int(chunk or (CUDA_CHUNK if self.device.type == "cuda" else CPU_CHUNK))
        self.max_chunk = int(max_chunk or (self.chunk if self.device.type == "cuda" or chunk else CPU_MAX_CHUNK))
        self.sizes: tuple[int, ...] | None = None  # the call sizes in use, settled by `_settle_sizes`
        self.max_rows = max(int(max_rows), self.chunk)
        self.gather_s = gather_s
        self.hold_s = hold_s
        self.max_wait_s = max_wait_s
        self._holds = 0  # runs starting now: rounds wait for their first frame (see `priority`)
        self._cv = threading.Condition()
        self._pending: list[_Request] = []
        self._members: set[Member] = set()
        self._thread: threading.Thread | None = None
        self._cache: OrderedDict[tuple, torch.Tensor] = OrderedDict()  # row key -> eps, the latest results
        self.cache_rows = int(cache_rows)
        self.rounds = 0  # network rounds so far
        self.rows_asked = 0  # rows requested, and rows evaluated after de-duplication
        self.rows_evaluated = 0

    # ------------------------------------------------------------------ members
    def join(self, fresh: bool = False) -> Member:
        """A new generation taking part; `fresh`: its rows are always evaluated (within a round identical rows are
        still computed once), so what it measures is computed, not an earlier run's cached answer."""
        member = Member(fresh=fresh)
        with self._cv:
            self._members.add(member)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="step-batcher", daemon=True)
                self._thread.start()
        return member

    def leave(self, member: Member) -> None:
        with self._cv:
            member.closed = True
            self._members.discard(member)
            self._cv.notify_all()

    @contextlib.contextmanager
    def priority(self):
        """While inside, the batcher holds its rounds (each for at most `hold_s`): for a new run, from its
        start until its first frame is out."""
        with self._cv:
            self._holds += 1
        try:
            yield
        finally:
            with self._cv:
                self._holds -= 1
                self._cv.notify_all()

    def active(self) -> int:
        """Generations taking part now."""
        with self._cv:
            return len(self._members)

    def clear_cache(self) -> None:
        """Forget the cached results (the next rounds evaluate everything again)."""
        with self._cv:
            self._cache.clear()

    def denoiser(self, member: Member, scale: float = 1.0, min_t: float = 0.0,
                 max_t: float = NO_UPPER) -> "BatchedDenoiser":
        return BatchedDenoiser(self, member, scale, min_t, max_t)

    # ------------------------------------------------------------------ requests
    def evaluate(self, member: Member, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """eps for rows (x, t, y): x (N, C, H, W), t (N,), y (N,); blocks until the round that serves it."""
        xs = x.detach().float().cpu()
        rows = [(xs[i], float(t[i]), int(y[i])) for i in range(x.shape[0])]
        req = _Request(member, rows, [(r[0].numpy().tobytes(), r[1], r[2]) for r in rows])
        with self._cv:
            if member.closed:
                raise RuntimeError("This generation has ended.")
            self._pending.append(req)
            self._cv.notify_all()
        req.done.wait()
        if req.error is not None:
            raise req.error
        return torch.stack(req.out).to(x.device)

    def _gather(self) -> list[_Request]:
        """Wait for requests; give the other running generations `gather_s` to post theirs; then take
        those waiting `max_wait_s` or more, oldest first, then the least-served, up to `max_rows` distinct rows (at
        least one)."""
        with self._cv:
            while not self._pending:
                self._cv.wait()
            held_until = time.monotonic() + self.hold_s
            while self._holds and time.monotonic() < held_until:
                self._cv.wait(max(0.0, held_until - time.monotonic()))
            deadline = time.monotonic() + self.gather_s
            while len({r.member for r in self._pending}) < len(self._members) and time.monotonic() < deadline:
                self._cv.wait(max(0.0, deadline - time.monotonic()))
            overdue = time.monotonic() - self.max_wait_s
            order = sorted(self._pending, key=lambda r: (0, r.arrived) if r.arrived <= overdue else (1, r.member.served, r.arrived))
            taken, keys = [], set()
            for req in order:
                new = set(req.keys) - keys
                if taken and len(keys) + len(new) > self.max_rows:
                    continue
                taken.append(req)
                keys |= new
            for req in taken:
                self._pending.remove(req)
            return taken

    def _settle_sizes(self, rows: list[tuple[torch.Tensor, float, int]]) -> tuple[int, ...]:
        """The call sizes this machine may use: `chunk`, and its doubles up to `max_chunk` when the same rows
        come out with the same bits at every one of them (checked once, on the first rows served)."""
        sizes = [self.chunk]
        while sizes[-1] * 2 <= self.max_chunk:
            sizes.append(sizes[-1] * 2)
        if len(sizes) == 1:
            return tuple(sizes)
        probe = (rows * self.chunk)[: self.chunk]
        ref = self._call(probe, self.chunk)
        agree = [n for n in sizes[1:] if torch.equal(self._call(probe, n)[: self.chunk], ref)]
        return tuple(sizes) if len(agree) == len(sizes) - 1 else (self.chunk,)

    def _loop(self) -> None:
        while True:
            requests = self._gather()
            try:
                self._serve(requests)
            except BaseException as exc:  # noqa: BLE001 - handed to every waiting generation
                for req in requests:
                    req.error = exc
            for req in requests:
                req.done.set()

    @torch.no_grad()
    def _serve(self, requests: list[_Request]) -> None:
        unique: dict[tuple, int] = {}
        rows: list[tuple[torch.Tensor, float, int]] = []
        for req in requests:
            req.member.asked += len(req.keys)
            cached = set() if req.member.fresh else {k for k in req.keys if k in self._cache}
            req.member.reused += sum(k in cached for k in req.keys)  # before this round adds its own
            for row, k in zip(req.rows, req.keys):
                if k not in unique and k not in cached:
                    unique[k] = len(rows)
                    rows.append(row)
        eps = self._run(rows)
        for k, i in unique.items():
            self._cache[k] = eps[i]
        for req in requests:
            req.out = [self._cache[k] for k in req.keys]
            for k in req.keys:
                self._cache.move_to_end(k)
            req.member.served += len(set(req.keys))
        while len(self._cache) > max(self.cache_rows, len(unique)):
            self._cache.popitem(last=False)
        self.rounds += 1
        self.rows_asked += sum(len(r.rows) for r in requests)
        self.rows_evaluated += len(rows)

    def _run(self, rows: list[tuple[torch.Tensor, float, int]]) -> list[torch.Tensor]:
        """The network over `rows` in calls of the settled sizes: the largest while the rows left fill it,
        then one call of the smallest size that holds the rest (padded)."""
        if not rows:
            return []
        if self.sizes is None:
            self.sizes = self._settle_sizes(rows)
        out: list[torch.Tensor] = []
        k = 0
        while k < len(rows):
            left = len(rows) - k
            size = self.sizes[-1] if left >= self.sizes[-1] else min(n for n in self.sizes if n >= left)
            part = rows[k:k + size]
            out.extend(self._call(part, size)[: len(part)].unbind(0))
            k += len(part)
        return out

    def _call(self, part: list[tuple[torch.Tensor, float, int]], size: int) -> torch.Tensor:
        """One network call on `part` padded to `size` rows; eps (size, C, H, W) float32 on the CPU."""
        pad = size - len(part)
        x = torch.stack([r[0] for r in part] + [torch.zeros_like(part[0][0])] * pad).to(self.device)
        t = torch.tensor([r[1] for r in part] + [0.0] * pad, dtype=torch.float32, device=self.device)
        y = torch.tensor([r[2] for r in part] + [self.null_label] * pad, dtype=torch.long, device=self.device)
        return self.net(x, t, y).float().cpu()


class BatchedDenoiser:
    """`guidance.CFGDenoiser`'s contract over a `StepBatcher`: `den(x, t, y=labels) -> guided eps`,
    with the same `calls` and `passes` counts. x (N, C, H, W), t (N,), y (N,) int64."""

    def __init__(self, batcher: StepBatcher, member: Member, scale: float = 1.0, min_t: float = 0.0,
                 max_t: float = NO_UPPER):
        if not -1.0 <= float(scale) <= 50.0:
            raise ValueError(f"Guidance scale must be between -1 and 50, got {scale}.")
        self.batcher, self.member = batcher, member
        self.scale = float(scale)
        self.min_t, self.max_t = check_interval(min_t, max_t)
        self.null_label = batcher.null_label
        self.calls = 0
        self.passes = 0

    @property
    def reused_share(self) -> float:
        """The share of this generation's network rows answered from the cache of an identical recent run
        (0 .. 1): where it is high, its timings are the cache's, not the network's."""
        return self.member.reused / self.member.asked if self.member.asked else 0.0

    def __call__(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None, **_) -> torch.Tensor:
        self.calls += 1
        n = x.shape[0]
        if y is None:
            y = torch.full((n,), self.null_label, dtype=torch.long)
        t = torch.as_tensor(t, dtype=torch.float32).reshape(-1).expand(n)
        rows = guided_rows(t, n, self.min_t, self.max_t)  # (N,) guided rows
        if self.scale == 1.0 or not bool(rows.any()):
            self.passes += 1
            return self.batcher.evaluate(self.member, x, t, y)
        self.passes += 2
        null = torch.full_like(y, self.null_label)
        eps = self.batcher.evaluate(self.member, torch.cat([x, x]), torch.cat([t, t]), torch.cat([y.cpu(), null.cpu()]))
        cond, uncond = eps.chunk(2)
        return combine(cond, uncond, self.scale, rows, y, self.null_label)
