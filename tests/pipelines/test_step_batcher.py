"""Cross-user batching: a generation's run is the same to the bit alone or beside others, guidance
and its interval match `CFGDenoiser`, identical work is shared, and no generation starves."""
import copy
import threading
import time

import numpy as np
import pytest
import torch

from diffusion_core.pipelines import denoising as rl
from diffusion_core.pipelines.generation import app_batcher
from diffusion_core.maths.guidance import CFGDenoiser
from diffusion_core.networks.pretrained import Pretrained
from diffusion_core.maths.schedules import make_schedule
from diffusion_core.pipelines.step_batcher import Member, StepBatcher, _Request
from diffusion_core.settings import sampling
from tests.networks.tiny_dit import tiny_dit


@pytest.fixture(scope="module")
def model():
    return tiny_dit(0.05)


@pytest.fixture(scope="module")
def pre(model):
    return Pretrained(model, {"schedule": make_schedule("cosine", 1000).to_dict(), "config": model.config.to_dict()}, "test")


def arrays(traj):
    return [np.asarray(a) for name in ("x_t", "eps", "x0", "x_next") for a in getattr(traj, name)]


def run_together(pre, settings_list):
    out = {}

    def go(i, s):
        out[i] = rl.run_trajectory(s, pre)

    threads = [threading.Thread(target=go, args=(i, s)) for i, s in enumerate(settings_list)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    return [out[i] for i in range(len(settings_list))]


def test_a_run_is_the_same_to_the_bit_alone_and_beside_others(pre):
    mine = sampling(label="mixed 0-9", guidance=2.0, sampler="ddpm", eta=0, steps=12, seed=3, images=16, spacing="leading", guidance_min_t=700)
    alone = rl.run_trajectory(mine, pre)
    fresh = Pretrained(copy.deepcopy(pre.model), pre.meta, "copy")  # its own batcher: nothing cached from `alone`
    others = [sampling(label="7", guidance=4.0, sampler="heun", eta=0, steps=8, seed=5, images=9, spacing="trailing", guidance_min_t=0),
              sampling(label="unconditional", guidance=1.0, sampler="ddim", eta=0.5, steps=6, seed=1, images=3, spacing="linspace", guidance_min_t=0),
              sampling(label="mixed 0-9", guidance=3.0, sampler="dpm++2m", eta=0, steps=10, seed=2, images=1, spacing="leading", guidance_min_t=300)]
    together = run_together(fresh, [mine] + others)
    assert all(np.array_equal(a, b) for a, b in zip(arrays(alone), arrays(together[0])))
    assert alone.nfe == together[0].nfe and alone.t == together[0].t
    assert all(t.done for t in together)
    assert app_batcher(fresh, "cpu").rounds < sum(t.num_steps for t in together)  # they did share calls


def test_batched_guidance_matches_cfg_denoiser(model):
    batcher = StepBatcher(lambda x, t, y: model(x, t, y), null_label=10, chunk=8)
    member = batcher.join()
    x, y = torch.randn(5, 1, 28, 28), torch.tensor([1, 2, 10, 4, 5])
    for t_value, min_t, max_t, scale in ((800.0, 700.0, 1000.0, 3.0), (500.0, 700.0, 1000.0, 3.0), (800.0, 0.0, 1000.0, 1.0),
                                         (200.0, 0.0, 1000.0, 0.0), (800.0, 200.0, 600.0, 3.0), (400.0, 200.0, 600.0, 3.0)):
        t = torch.full((5,), t_value)
        ref = CFGDenoiser(model, scale, null_label=10, min_t=min_t, max_t=max_t)
        den = batcher.denoiser(member, scale, min_t, max_t)
        with torch.no_grad():
            torch.testing.assert_close(den(x, t, y=y), ref(x, t, y=y), rtol=1e-5, atol=1e-6)
        assert (den.calls, den.passes) == (ref.calls, ref.passes)
    batcher.leave(member)


def test_identical_rows_are_evaluated_once(model):
    calls = []

    def net(x, t, y):
        calls.append(x.shape[0])
        return model(x, t, y)

    batcher = StepBatcher(net, null_label=10, chunk=4, gather_s=0.5)
    a, b = batcher.join(), batcher.join()
    x, t, y = torch.randn(4, 1, 28, 28), torch.full((4,), 500.0), torch.tensor([1, 2, 3, 4])
    got = {}
    threads = [threading.Thread(target=lambda m=m: got.__setitem__(m, batcher.evaluate(m, x, t, y))) for m in (a, b)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=30)
    assert torch.equal(got[a], got[b])
    assert batcher.rows_asked == 8 and batcher.rows_evaluated == 4 and calls == [4]
    assert all(n == batcher.chunk for n in calls)  # every network call has the same shape


def test_the_least_served_generation_goes_first(model):
    order = []

    def net(x, t, y):
        order.append(int(y[0]))
        return model(x, t, y)

    batcher = StepBatcher(net, null_label=10, chunk=4, max_rows=4, gather_s=0.2)
    heavy, light = batcher.join(), batcher.join()
    heavy.served = 1000  # it has had many rounds already
    x, t = torch.randn(4, 1, 28, 28), torch.full((4,), 500.0)
    threads = [threading.Thread(target=batcher.evaluate, args=(heavy, x, t, torch.full((4,), 1))),
               threading.Thread(target=batcher.evaluate, args=(light, x + 1, t, torch.full((4,), 2)))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=30)
    assert order == [2, 1]  # one request per round (max_rows), the light one first


def test_a_request_that_waited_max_wait_goes_first_whatever_its_count(model):
    """A run far ahead of newcomers is slowed, never stopped: its request, once it has waited `max_wait_s`,
    is taken before the least-served ones."""
    batcher = StepBatcher(lambda x, t, y: x, null_label=10, chunk=4, max_rows=4, max_wait_s=0.5)
    ahead, newcomer = Member(), Member()  # members without the batcher's thread: `_gather` is called here alone
    batcher._members = {ahead, newcomer}
    ahead.served = 1000
    x, t = torch.randn(4, 1, 28, 28), torch.full((4,), 500.0)
    def request(member, shift, age):
        rows = [(x[i] + shift, 500.0, 1) for i in range(4)]
        return _Request(member, rows, [("row", shift, i) for i in range(4)], arrived=time.monotonic() - age)

    fresh_ahead, old_ahead = request(ahead, 0.0, 0.1), request(ahead, 1.0, 0.6)
    batcher._pending = [request(newcomer, 2.0, 0.3), fresh_ahead]
    assert batcher._gather()[0].member is newcomer  # not yet overdue: the least-served first
    batcher._pending = [request(newcomer, 2.0, 0.3), old_ahead]
    assert batcher._gather() == [old_ahead]  # overdue: first, whatever its count
    batcher._pending = [request(newcomer, 2.0, 0.55), old_ahead]
    assert batcher._gather() == [old_ahead]  # both overdue (a slow round for a class): the oldest first


def test_a_network_error_reaches_the_generation_that_asked(model):
    def net(x, t, y):
        raise RuntimeError("out of memory")

    batcher = StepBatcher(net, null_label=10, chunk=4)
    member = batcher.join()
    with pytest.raises(RuntimeError, match="out of memory"):
        batcher.evaluate(member, torch.randn(2, 1, 28, 28), torch.full((2,), 3.0), torch.tensor([1, 2]))


def test_larger_calls_are_used_only_where_they_give_the_same_bits(model):
    calls = []

    def net(x, t, y):
        calls.append(x.shape[0])
        return model(x, t, y)

    batcher = StepBatcher(net, null_label=10, chunk=4, max_chunk=16, gather_s=0.2)
    member = batcher.join()
    x, t, y = torch.randn(21, 1, 28, 28), torch.full((21,), 300.0), torch.arange(21) % 10
    out = batcher.evaluate(member, x, t, y)
    assert batcher.sizes in ((4,), (4, 8, 16))  # settled by the check, whatever this machine's kernels do
    assert set(calls[-3:]) <= set(batcher.sizes)
    if batcher.sizes == (4, 8, 16):
        assert calls[-2:] == [16, 8]  # 21 rows: one call of 16, then 5 rows padded to 8
    ref = torch.cat([model(x[k:k + 4], t[k:k + 4], y[k:k + 4]) for k in range(0, 20, 4)])
    torch.testing.assert_close(out[:20], ref)

    def shape_dependent(x, t, y):  # a network whose result for a row depends on the call's size
        return model(x, t, y) + 1e-3 * x.shape[0]

    strict = StepBatcher(shape_dependent, null_label=10, chunk=4, max_chunk=16)
    strict.evaluate(strict.join(), x, t, y)
    assert strict.sizes == (4,)


def test_a_run_repeated_from_the_cache_says_so_in_its_summary(pre):
    from diffusion_core.app.reverse.reverse_views import run_summary

    s = sampling(label="mixed 0-9", guidance=2.0, sampler="ddim", eta=0, steps=4, seed=987654, images=3, spacing="leading",
                 guidance_min_t=0)
    first = rl.run_trajectory(s, pre)
    again = rl.run_trajectory(s, pre)
    assert first.reused == 0.0 and again.reused == 1.0  # every row of the repeat came from the cache
    assert "cache" not in run_summary(first) and "100% of its network rows came from the cache" in run_summary(again)
