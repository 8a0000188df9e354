"""The Ray Serve backend on a real local cluster (`ray.init(num_cpus=2)`, two replicas of 1 CPU each, the shipped
DiT): a stream is bit-for-bit the local backend's at the same thread count; a replica killed mid-run gives its
users a message at once while the runs on the other replica finish; and the retry runs. Slow: a cluster and two
replicas start (README, "Past one machine": its start-up and memory)."""
import os
import signal
import threading

import numpy as np
import pytest
import torch

serve = pytest.importorskip("ray.serve")
ray = pytest.importorskip("ray")

from diffusion_core.networks.loaded import loaded  # noqa: E402
from diffusion_core.pipelines import backends, ray_backend, ray_deployment  # noqa: E402
from diffusion_core.pipelines.serve_config import serve_config  # noqa: E402
from diffusion_core.pipelines.step_stream import ARRAYS  # noqa: E402
from diffusion_core.settings import sampling  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    saved = {k: os.environ.get(k) for k in ("RAY_AUTH_MODE", "RAY_USAGE_STATS_ENABLED")}
    os.environ.update(RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0")  # loopback only; no token file written
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    config = serve_config(app_name="test-cluster", num_cpus=1, min_replicas=2, max_replicas=2, step_timeout_s=30)
    try:
        yield ray_backend.RayBackend(config, ray_deployment.deploy(config))
    finally:
        serve.shutdown()
        ray.shutdown()
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)


def test_a_replica_on_a_cluster_streams_the_local_backends_bits(cluster):
    s = sampling(loaded("dit").meta, seed=101, images=4)
    remote = list(cluster.steps(s))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the replicas' one thread each (num_cpus=1)
    try:
        here = list(backends.LocalBackend().steps(s))
    finally:
        torch.set_num_threads(threads)
    assert len(remote) == len(here) == s.steps + 1 and remote[-1].done
    assert np.array_equal(remote[0].x_T, here[0].x_T)
    assert all(np.array_equal(getattr(a, n), getattr(b, n)) for a, b in zip(remote[1:], here[1:]) for n in ARRAYS)


def test_a_replica_killed_mid_run_gives_its_users_a_message_and_the_others_finish(cluster):
    streams = [cluster.steps(sampling(loaded("dit").meta, seed=200 + i, images=2, steps=40)) for i in range(6)]
    heads = [next(stream) for stream in streams]
    for stream in streams:
        next(stream)  # every run has its first step: mid-run from here
    replicas = {h.replica for h in heads}
    assert len(replicas) == 2, replicas  # Serve spread the six runs over both replicas
    victim = heads[0].replica
    os.kill(int(victim.rsplit(":", 1)[1]), signal.SIGKILL)
    outcome = {}

    def finish(i):
        try:
            outcome[i] = [f for f in streams[i]][-1].done
        except backends.ServingError as exc:
            outcome[i] = str(exc)

    threads = [threading.Thread(target=finish, args=(i,)) for i in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    for i, head in enumerate(heads):
        assert i in outcome, "a run neither finished nor was told within 120 s"
        if head.replica == victim:
            assert "The model server stopped during your run" in outcome[i] and "Press Generate to try again" in outcome[i]
        else:
            assert outcome[i] is True
    retry = list(cluster.steps(sampling(loaded("dit").meta, seed=200, images=2, steps=20)))  # the user presses Generate
    assert retry[-1].done and retry[0].replica != victim
