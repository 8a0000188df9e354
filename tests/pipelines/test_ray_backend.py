"""The Ray Serve backend under Serve's local testing mode (in this process, no cluster): each user's stream is
bit-for-bit the local backend's, users on one replica share its network calls, a stopped run stops on the replica,
and every failure (a replica that dies mid-run, silence, no cluster) becomes a message, never a hung stream.
The same on a real local cluster, with a replica killed mid-run: tests/pipelines/test_ray_cluster.py (slow)."""
import threading
import time

import numpy as np
import pytest

serve = pytest.importorskip("ray.serve")

from diffusion_core.maths.schedules import make_schedule  # noqa: E402
from diffusion_core.networks.dit import DiT  # noqa: E402
from diffusion_core.networks.pretrained import Pretrained  # noqa: E402
from diffusion_core.pipelines import backends, denoising as rl, ray_backend, ray_deployment  # noqa: E402
from diffusion_core.pipelines.serve_config import serve_config  # noqa: E402
from diffusion_core.pipelines.step_stream import ARRAYS, RunStart  # noqa: E402
from diffusion_core.settings import sampling  # noqa: E402
from tests.networks.tiny_dit import tiny_dit  # noqa: E402

SETTINGS = [
    sampling(label="mixed 0-9", guidance=2.0, sampler="ddpm", steps=6, seed=3, images=16, spacing="leading", guidance_min_t=700),
    sampling(label="7", guidance=3.0, sampler="heun", steps=4, seed=5, images=5, spacing="trailing", guidance_max_t=600),
    sampling(label="unconditional", guidance=1.0, sampler="ddim", eta=0.5, steps=5, seed=1, images=3, spacing="linspace"),
]


def pretrained(model) -> Pretrained:
    return Pretrained(model, {"schedule": make_schedule("cosine", 1000).to_dict(), "config": model.config.to_dict()}, "test")


@pytest.fixture(scope="module")
def local():
    return backends.LocalBackend(pretrained(tiny_dit(0.05)), "cpu")


@pytest.fixture(scope="module")
def served():
    config = serve_config(app_name="test-denoiser")  # the replica's own model: nothing answered from the local run's cache
    return ray_backend.RayBackend(config, ray_deployment.deploy(config, pretrained(tiny_dit(0.05)), local_testing=True))


def same_stream(a: list, b: list) -> bool:
    head_a, head_b = a[0], b[0]
    assert isinstance(head_a, RunStart) and isinstance(head_b, RunStart) and len(a) == len(b)
    same = head_a.labels == head_b.labels and np.array_equal(head_a.x_T, head_b.x_T)
    for fa, fb in zip(a[1:], b[1:]):
        same &= all(np.array_equal(getattr(fa, n), getattr(fb, n)) for n in ARRAYS)
        same &= (fa.step, fa.t, fa.t_next, fa.alpha_bar, fa.passes) == (fb.step, fb.t, fb.t_next, fb.alpha_bar, fb.passes)
    return bool(same) and b[-1].done


@pytest.mark.parametrize("k", range(len(SETTINGS)))
def test_each_stream_is_bit_for_bit_the_local_backends(local, served, k):
    assert same_stream(list(local.steps(SETTINGS[k])), list(served.steps(SETTINGS[k])))


def test_users_on_one_replica_share_its_calls_and_each_gets_its_own_run(local, served):
    rounds, out = served.replica()["rounds"], {}
    threads = [threading.Thread(target=lambda k=k: out.__setitem__(k, list(served.steps(SETTINGS[k])))) for k in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    assert all(same_stream(list(local.steps(SETTINGS[k])), out[k]) for k in range(3))
    rounds = served.replica()["rounds"] - rounds  # the replica's batcher (local testing mode copies its arguments)
    assert 0 < rounds < sum(s.steps * (2 if s.sampler == "heun" else 1) for s in SETTINGS)  # shared rounds


def test_the_reverse_tab_records_the_same_trajectory_through_either_backend(local, served, monkeypatch):
    monkeypatch.setitem(backends._ACTIVE, "backend", served)
    remote = rl.run_trajectory(SETTINGS[0])
    here = rl.run_trajectory(SETTINGS[0], local.where()[0], "cpu")
    assert all(np.array_equal(a, b) for n in ARRAYS for a, b in zip(getattr(remote, n), getattr(here, n)))
    assert remote.nfe == here.nfe and remote.done and "Ray Serve replica" in remote.device


def test_images_interpolation_and_sdedit_match_the_local_backend(local, served):
    s = sampling(steps=3, images=4, guidance=2.0)
    (a, _), (b, _) = local.images([1, 2, 3], 5, s, fresh=True), served.images(np.array([1, 2, 3]), 5, s, fresh=True)
    assert a.shape == (3, 28, 28) and np.array_equal(a, b)
    assert np.array_equal(local.interpolate(4, 1, 2, 3), served.interpolate(4, 1, 2, 3))
    digit = np.linspace(-1, 1, 784, dtype=np.float32).reshape(28, 28)
    mine, theirs = local.sdedit(digit, 3, 400, 3, 0, 2.0, 0.0), served.sdedit(digit, 3, 400, 3, 0, 2.0, 0.0)
    assert all(np.array_equal(mine[k], theirs[k]) for k in ("x_t", "eps_pred", "frames", "result"))
    with pytest.raises(ValueError, match="t\\* must be between 0 and 999"):  # a replica's own words, no traceback
        served.sdedit(digit, 3, 5000, 3, 0, 2.0, 0.0)


class SlowDiT(DiT):
    """The tiny DiT, 20 ms a call: a run long enough to stop halfway."""

    def forward(self, *args, **kwargs):
        time.sleep(0.02)
        return super().forward(*args, **kwargs)


def test_a_stopped_run_stops_on_the_replica():
    model = SlowDiT(tiny_dit(0.05).config).eval()
    pre = pretrained(model)
    config = serve_config(app_name="test-slow")
    slow = ray_backend.RayBackend(config, ray_deployment.deploy(config, pre, local_testing=True))
    stream = slow.steps(sampling(steps=200, images=1))
    next(stream), next(stream)
    assert slow.replica()["running"] == 1
    stream.close()  # the page's Stop, a newer run, a closed tab
    deadline = time.monotonic() + 10
    while slow.replica()["running"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert slow.replica()["running"] == 0 and slow.replica()["rounds"] < 100


class FakeStream:
    """A streamed call that yields `items` and then fails with `error`, or (error None) stays silent."""

    def __init__(self, items, error=None):
        self.items, self.error, self.cancelled = list(items), error, threading.Event()

    def __iter__(self):
        yield from self.items
        if self.error is not None:
            raise self.error
        self.cancelled.wait(30)
        raise ray_backend.ray.exceptions.TaskCancelledError()

    def cancel(self):
        self.cancelled.set()


class FakeHandle:
    def __init__(self, response):
        self.response = response
        self.steps = self

    def options(self, **_):
        return self

    def remote(self, *_):
        return self.response


def test_a_replica_that_dies_mid_run_gives_its_user_a_message(local):
    items = list(local.steps(SETTINGS[0]))[:3]  # the head and two steps, then the replica's process dies
    died = FakeStream(items, ray_backend.ray.exceptions.ActorDiedError())
    stream = ray_backend.RayBackend(serve_config(), FakeHandle(died)).steps(SETTINGS[0])
    assert len([next(stream) for _ in range(3)]) == 3
    with pytest.raises(backends.ServingError, match="stopped during your run after step 2 of 6.*Press Generate to try again"):
        next(stream)


def test_a_silent_server_ends_the_run_with_a_message_and_cancels_the_call(local):
    silent = FakeStream(list(local.steps(SETTINGS[0]))[:2])
    stream = ray_backend.RayBackend(serve_config(step_timeout_s=0.3), FakeHandle(silent)).steps(SETTINGS[0])
    next(stream), next(stream)
    with pytest.raises(backends.ServingError, match="sent nothing for 0.3 s after step 1 of 6"):
        next(stream)
    assert silent.cancelled.wait(5)


class GatedStream(FakeStream):
    """A streamed call whose items come only once `gate` is set."""

    def __init__(self, items, gate: threading.Event):
        super().__init__(items)
        self.gate = gate

    def __iter__(self):
        self.gate.wait(30)
        yield from super().__iter__()


class Handles(FakeHandle):
    """A handle whose calls answer with `responses` in turn."""

    def __init__(self, responses):
        super().__init__(None)
        self.responses = list(responses)

    def remote(self, *_):
        return self.responses.pop(0)


def test_a_starting_run_shows_its_x_T_before_the_others_step_frames(local):
    """While one user's run waits for its first frame, another user's step frames wait (at most HOLD_S): the front
    end draws the new run's x_T first, as the local batcher holds its rounds for it."""
    items = list(local.steps(SETTINGS[0]))[:3]
    gate = threading.Event()
    backend = ray_backend.RayBackend(serve_config(), Handles([FakeStream(items), GatedStream(items, gate)]))
    running, starting = backend.steps(SETTINGS[0]), backend.steps(SETTINGS[0])
    assert isinstance(next(running), RunStart)
    when = {}

    def new_user():
        next(starting)  # its x_T, once the replica sends it
        when["x_T"] = time.monotonic()
        next(starting)  # the page has drawn it and asks for the next frame

    user = threading.Thread(target=new_user, daemon=True)
    user.start()
    time.sleep(0.05)  # the new run has started: its call is out, its head not yet in
    threading.Timer(0.1, gate.set).start()
    start = time.monotonic()
    frame = next(running)  # held while the new run starts
    got = time.monotonic()
    user.join(10)
    assert frame.step == 0 and when["x_T"] <= got and got - start >= 0.05
    running.close(), starting.close()


def test_no_cluster_at_start_is_a_message_and_local_only_when_the_setting_says_so(monkeypatch):
    import socket

    with socket.socket() as s:  # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{s.getsockname()[1]}"
    monkeypatch.setitem(backends._ACTIVE, "backend", None)
    line = backends.use("ray", serve_config(address=address))
    assert f"No Ray cluster answers at {address}" in line and "serves anyway" in line
    with pytest.raises(backends.ServingError, match="No Ray cluster answers"):
        next(backends.active().steps(SETTINGS[0]))
    line = backends.use("ray", serve_config(address=address, fallback=True))
    assert "on this machine instead" in line and isinstance(backends.active(), backends.LocalBackend)


def test_the_deployment_carries_the_documented_options():
    config = serve_config(num_cpus=1, num_gpus=1, max_ongoing_requests=48, min_replicas=2, max_replicas=3)
    deployment = ray_deployment.DenoiserDeployment.options(**config.deployment_options())
    assert deployment.max_ongoing_requests == 48
    assert deployment.ray_actor_options["num_cpus"] == 1 and deployment.ray_actor_options["num_gpus"] == 1
    scaling = deployment._deployment_config.autoscaling_config
    assert (scaling.min_replicas, scaling.max_replicas, scaling.target_ongoing_requests) == (2, 3, 16)
    assert config.threads() == 1 and serve_config(num_cpus=0.5, num_gpus=1).threads() is None


def test_a_caller_on_an_event_loop_is_answered(served):
    """Serve refuses a blocking wait on a thread that runs an event loop (an async caller, or a sync API built on one,
    such as playwright's): the backend waits on another thread instead of failing."""
    import asyncio

    async def ask():
        return served.replica()

    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # a thread of its own, whatever loop this one runs
        assert pool.submit(asyncio.run, ask()).result()["pid"] > 0
