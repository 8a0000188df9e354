"""The front end's side of the Ray Serve backend: each generation is one call to the `ray_deployment`, its steps
streamed back, and every way the cluster can fail turned into a message for the page.

- **One call per generation**: `handle.options(stream=True).steps.remote(settings)` returns a
  `DeploymentResponseGenerator`; a thread of this process reads it into a queue, and the generation reads the
  queue, so it can wait with a timeout (Serve's synchronous iteration has none).
- **Faults**: a replica that dies mid-run raises in that thread (RayActorError and kin); the run ends at once with
  `ServingError` ("the model server stopped during your run ... press Generate to try again": Serve starts a new
  replica, and the other replicas serve the retry). Silence is a fault too: no first answer within
  `start_timeout_s` (a run may queue behind a class) or no next step within `step_timeout_s`. A run the page stops
  (Stop, a newer run, a closed tab) cancels its call, and the replica ends it after the step in flight.
- **New runs first**, as the local batcher does (`StepBatcher.priority`): the replicas compute on, but while a run
  that has just started has not shown its first frame (x_T), this front end holds the other runs' step frames (each
  at most `HOLD_S`), so the new run's frame is not drawn behind a class's worth of others.
- **No cluster at start**: `connect` says why (nothing at the address, nothing answering in `connect_timeout_s`, no
  Serve application of that name) without hanging the app; until it connects, each generation tries again (at
  most every `RETRY_S`) and otherwise says the same. `backends.use` falls back to the local backend only when the
  setting `fallback` says so.
- Bad input found on a replica comes back as the ValueError it raised there, in its own words.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import queue
import socket
import sys
import threading
import time

# Serve's router asks a replica how many runs it holds before it sends one there, and by default waits 0.1 s for
# the answer. A replica busy with a class answers later, falls out of the router's cache, and the other replica
# takes every new run: measured with 2 replicas on 2 cores, a burst of 30 split 26 and 4. The front end waits up
# to 1 s (2 s when retrying); set either variable to choose otherwise. Read when ray.serve is first imported.
ROUTER_ENV = {"RAY_SERVE_QUEUE_LENGTH_RESPONSE_DEADLINE_S": "1.0", "RAY_SERVE_MAX_QUEUE_LENGTH_RESPONSE_DEADLINE_S": "2.0"}
for _name, _value in ROUTER_ENV.items():
    os.environ.setdefault(_name, _value)

import ray  # noqa: E402
from ray import serve  # noqa: E402
from ray.exceptions import RayTaskError  # noqa: E402
from ray.serve.handle import DeploymentHandle  # noqa: E402

from diffusion_core.networks.pretrained import WeightsError  # noqa: E402
from diffusion_core.pipelines.backends import ServingError  # noqa: E402
from diffusion_core.pipelines.serve_config import ServeConfig  # noqa: E402
from diffusion_core.pipelines.step_stream import RunStart  # noqa: E402
from diffusion_core.settings import Sampling  # noqa: E402

log = logging.getLogger("diffusion_classroom")
RETRY_S = 5.0  # a front end without its cluster tries to connect again at most this often
HOLD_S = 0.3  # a step frame waits at most this long for the runs that are starting (the local batcher's `hold_s`)
_JOINING: dict[str, threading.Thread] = {}  # this process's one attempt to join a cluster (ray.init), while it runs
_JOIN_LOCK = threading.Lock()


class RayBackend:
    """Generations on the Ray Serve application `config.app_name` (`handle`: one already at hand, e.g. from Serve's
    local testing mode; otherwise found on the cluster at `config.address` by `connect`)."""

    name = "ray"

    def __init__(self, config: ServeConfig, handle: DeploymentHandle | None = None):
        self.config = config
        self._handle = handle
        self._lock = threading.Lock()
        self._tried = float("-inf")
        self._why = ""
        self._starting = _Starting()

    # ------------------------------------------------------------------ connecting
    def connect(self) -> None:
        """Join the cluster and find the application; a `ServingError` says why it cannot."""
        with self._lock:
            self._tried = time.monotonic()
            if self._handle is None:
                try:
                    self._handle = _application(self.config)
                except ServingError as exc:
                    self._why = str(exc)
                    raise

    def _ready(self) -> DeploymentHandle:
        if self._handle is None:
            if time.monotonic() - self._tried < RETRY_S:
                raise ServingError(self._why)
            self.connect()
        return self._handle

    def describe(self) -> str:
        """What runs the generations, as the page says it: the application and its replicas as the cluster reports
        them (the deployment's own settings live where it was started, not in this front end's)."""
        where = f"Ray Serve app '{self.config.app_name}' at {self.config.address}"
        if self._handle is None:
            return f"{where}, not connected: {self._why or 'not tried yet'}"
        try:
            from diffusion_core.pipelines.ray_deployment import replicas_line

            return f"{where} ({replicas_line(self.config.app_name)})"
        except Exception:  # noqa: BLE001 - local testing mode has no controller to ask; the line stays short
            return where

    # ------------------------------------------------------------------ generations
    def steps(self, settings: Sampling):
        """A run's `RunStart` and `StepFrame`s from a replica, read with timeouts (see the module's text)."""
        response = self._ready().options(stream=True).steps.remote(settings.to_dict())
        received, finished, starting = 0, False, True
        items: queue.Queue = queue.Queue()
        threading.Thread(target=_pump, args=(response, items), name="serve-stream", daemon=True).start()
        self._starting.add()
        try:
            while True:
                wait = self.config.start_timeout_s if received == 0 else self.config.step_timeout_s
                try:
                    kind, item = items.get(timeout=wait)
                except queue.Empty:
                    raise ServingError(_silent(wait, received - 1, settings.steps)) from None  # the head is no step
                if kind == "error":
                    raise _failure(item, received - 1, settings.steps)
                if kind == "end":
                    finished = True
                    return
                received += 1
                if isinstance(item, RunStart):
                    item.device = f"{item.device} on a Ray Serve replica"
                    yield item  # resumed once the page has taken this frame
                    self._starting.done()
                    starting = False
                    continue
                self._starting.wait(HOLD_S)
                yield item
        finally:
            if starting:
                self._starting.done()
            if not finished:
                _cancel(response)

    def images(self, labels, seed: int, settings: Sampling | None = None, fresh: bool = False):
        labels = [int(v) for v in labels]
        return self._call("images", labels, int(seed), settings.to_dict() if settings else None, bool(fresh))

    def interpolate(self, label: int, seed_a: int, seed_b: int, frames: int = 8):
        return self._call("interpolate", int(label), int(seed_a), int(seed_b), int(frames))

    def sdedit(self, x0, label: int, t_star: int, steps: int, seed: int, guidance: float, eta: float) -> dict:
        return self._call("sdedit", x0, int(label), int(t_star), int(steps), int(seed), float(guidance), float(eta))

    def replica(self) -> dict:
        """What one replica (any) says of itself: pid, host, device, threads, and its batcher's counts."""
        return self._call("replica")

    def _call(self, method: str, *args):
        if _in_event_loop():  # Serve refuses a blocking wait on an event loop's thread (an async caller): wait on another
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                return pool.submit(self._call, method, *args).result()
        response = getattr(self._ready(), method).remote(*args)
        try:
            return response.result(timeout_s=self.config.start_timeout_s)
        except TimeoutError:
            _cancel(response)
            raise ServingError(f"The model server did not answer within {self.config.start_timeout_s:g} s; "
                               "try again in a moment.") from None
        except Exception as exc:  # noqa: BLE001 - every failure becomes a message (or the replica's own ValueError)
            raise _failure(exc, None, None) from None


class _Starting:
    """The runs of this front end whose first frame is not out yet; `wait` holds a step frame while there are any."""

    def __init__(self):
        self._count = 0
        self._cv = threading.Condition()

    def add(self) -> None:
        with self._cv:
            self._count += 1

    def done(self) -> None:
        with self._cv:
            self._count -= 1
            self._cv.notify_all()

    def wait(self, at_most: float) -> None:
        deadline = time.monotonic() + at_most
        with self._cv:
            while self._count and time.monotonic() < deadline:
                self._cv.wait(max(0.0, deadline - time.monotonic()))


def _in_event_loop() -> bool:
    """Whether this thread runs an asyncio event loop (a coroutine's caller, or a sync API built on one)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _pump(response, items: queue.Queue) -> None:
    """Read a streamed call to its end into `items`: ("item", x) ..., then ("end", None) or ("error", exception)."""
    try:
        for item in response:
            items.put(("item", item))
        items.put(("end", None))
    except BaseException as exc:  # noqa: BLE001 - handed to the generation that reads `items`
        items.put(("error", exc))


def _cancel(response) -> None:
    """Cancel a call without waiting: Serve's `cancel` first waits for the call to reach a replica. (Not while the
    interpreter exits, when an abandoned run is collected: no thread can start then, and the cluster ends it.)"""
    if sys.is_finalizing():
        return

    def quietly():
        try:
            response.cancel()
        except Exception:  # noqa: BLE001 - a call that already ended or never started has nothing to cancel
            pass

    threading.Thread(target=quietly, name="serve-cancel", daemon=True).start()


def _where(done: int | None, total: int | None) -> str:
    """Where a run stopped, `done` of its `total` steps received."""
    if done is None or total is None:
        return ""
    return " before its first step" if done <= 0 else f" after step {done} of {total} (the steps so far are kept)"


def _failure(exc: BaseException, done: int | None, total: int | None) -> Exception:
    """The exception the page shows for a failed call: the replica's own ValueError / WeightsError, else a ServingError."""
    cause = exc.cause if isinstance(exc, RayTaskError) else exc
    if isinstance(cause, (ValueError, WeightsError)) and not isinstance(cause, ray.exceptions.RayError):
        return cause  # bad input or broken weights, found on the replica: in its own words
    log.warning("the model server failed: %s: %s", type(exc).__name__, str(exc)[:300])
    what = "during your run" + _where(done, total) if done is not None else "before it answered"
    return ServingError(f"The model server stopped {what} ({type(exc).__name__}). Press Generate to try again: "
                        "another replica, or the one the cluster starts in its place, takes the new run.")


def _silent(wait: float, done: int, total: int) -> str:
    return (f"The model server sent nothing for {wait:g} s{_where(done, total)}, so the run was stopped. "
            "Press Generate to try again; if this keeps happening, the cluster needs attention.")


# ---------------------------------------------------------------------------- joining the cluster
def _application(config: ServeConfig) -> DeploymentHandle:
    """Join the cluster at `config.address` (once per process) and return the handle of the application."""
    join_cluster(config)
    try:
        return serve.get_app_handle(config.app_name)
    except Exception as exc:  # noqa: BLE001 - no Serve, or no such application
        raise ServingError(f"The Ray cluster at {config.address} has no Serve application '{config.app_name}' "
                           f"({str(exc)[:120]}). Start it with `python -m diffusion_core.serve_denoiser up` "
                           "(or `bash scripts/ray_serve.sh`).") from None


def join_cluster(config: ServeConfig) -> None:
    """`ray.init(address)` with a bounded wait: a quick look that something listens at the address first (ray.init
    retries an absent address for minutes), then at most `connect_timeout_s` for the join itself."""
    if ray.is_initialized():
        return
    _resolved(config.address)
    with _JOIN_LOCK:
        joining = _JOINING.get("thread")
        if joining is None or not joining.is_alive():
            joining = threading.Thread(target=_init, args=(config.address,), name="ray-join", daemon=True)
            _JOINING["thread"] = joining
            joining.start()
    joining.join(config.connect_timeout_s)
    if not ray.is_initialized():
        why = _JOINING.get("error") or f"no answer within {config.connect_timeout_s:g} s"
        raise ServingError(f"Could not join the Ray cluster at {config.address} ({why}).")


def _init(address: str) -> None:
    """ray.init as given ("auto" stays "auto": with it Ray reads this machine's cluster token, `ray start`'s default)."""
    _JOINING.pop("error", None)
    try:
        ray.init(address=address, log_to_driver=False, namespace="diffusion-classroom")
    except Exception as exc:  # noqa: BLE001 - read by `join_cluster`
        _JOINING["error"] = f"{type(exc).__name__}: {str(exc)[:160]}"


def _resolved(address: str) -> str:
    """host:port of the cluster ("auto": the one this machine joined), checked to be listening; else ServingError."""
    try:
        bootstrap = ray._private.services.canonicalize_bootstrap_address(address) or address
    except Exception as exc:  # noqa: BLE001 - "auto" with no cluster on this machine
        raise ServingError(f"No Ray cluster found at {address}: start one with `ray start --head` "
                           f"(or `bash scripts/ray_serve.sh`) ({str(exc)[:100]}).") from None
    host, _, port = bootstrap.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=3).close()
    except (OSError, ValueError):
        raise ServingError(f"No Ray cluster answers at {address} ({bootstrap}): start it with `ray start --head`, "
                           "or set DIFFUSION_CLASSROOM_RAY_ADDRESS to its head node's host:port.") from None
    return bootstrap
