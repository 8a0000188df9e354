"""The compare tab's 'measured now' timing is always computed: the DiT's rows are never answered from the shared
batcher's cache of an earlier identical run (issue 32, item 9: lesson 7 points at this line)."""
from diffusion_core.app.compare import compare_ui as cui
from diffusion_core.app.wording import cache_note


def test_a_repeated_comparison_is_computed_again_not_served_from_the_cache():
    from diffusion_core.pipelines.generation import app_batcher

    batcher = app_batcher(cui.loaded("dit"), "cpu")
    _, first = cui.samples_and_costs("3", 12345, n=2)
    before = batcher.rows_evaluated
    _, again = cui.samples_and_costs("3", 12345, n=2)
    assert first["dit"][2] == 0 and again["dit"][2] == 0  # no row of either came from the cache
    assert batcher.rows_evaluated - before >= 2 * again["dit"][1]  # the network ran again: 2 samples x their passes
    assert again["gan"][2] == 0 and again["vae"][2] == 0 and cache_note(again["dit"][2]) == ""


def test_a_fresh_member_is_computed_while_others_still_share_the_cache():
    import torch

    from diffusion_core.pipelines.step_batcher import StepBatcher

    calls = []
    batcher = StepBatcher(lambda x, t, y: (calls.append(len(x)), x * 2)[1], null_label=10, chunk=4)
    x, t, y = torch.ones(2, 1, 2, 2), torch.full((2,), 5.0), torch.tensor([1, 2])
    for fresh, evaluated in ((False, 1), (False, 0), (True, 1)):
        member = batcher.join(fresh)
        n = len(calls)
        torch.testing.assert_close(batcher.evaluate(member, x, t, y), x * 2)
        assert len(calls) - n == evaluated and member.reused == (2 if evaluated == 0 else 0)
        batcher.leave(member)


def test_another_users_cached_runs_at_the_same_time_do_not_count_as_this_comparisons():
    """The share is this generation's own (its batcher member's), not the batcher's global counters, which
    another user's repeat of an identical run, served from the cache in the same second, would inflate."""
    import threading

    import numpy as np

    from diffusion_core.pipelines.generation import generate

    pre = cui.loaded("dit")
    done = threading.Event()
    repeats = []

    def other_user():  # a repeat of one small run, answered by the cache after its first time
        while not done.is_set():
            generate("dit", np.full(2, 5), seed=777, pretrained=pre, app_precision=True)
            repeats.append(1)

    thread = threading.Thread(target=other_user)
    thread.start()
    try:
        while len(repeats) < 2:  # the other run is cached from now on
            done.wait(0.05)
        _, fresh = cui.samples_and_costs("4", 424242, n=2)
    finally:
        done.set()
        thread.join()
    assert len(repeats) >= 3  # the other user ran during the comparison
    assert fresh["dit"][2] < 0.05
