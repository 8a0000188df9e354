"""The compare tab's 'measured now' timing says so when the shared batcher's cache did the DiT's work."""
from diffusion_core.app.compare import compare_ui as cui
from diffusion_core.app.wording import cache_note


def test_a_repeated_comparison_is_flagged_as_served_from_the_cache_not_timed_as_its_cost():
    _, first = cui.samples_and_costs("3", 12345, n=2)
    _, again = cui.samples_and_costs("3", 12345, n=2)
    assert first["dit"][2] < 0.05 and again["dit"][2] > 0.95  # the second run's rows all came from the cache
    assert again["gan"][2] == 0 and again["vae"][2] == 0
    assert "not its cost" in cache_note(again["dit"][2]) and cache_note(first["dit"][2]) == ""


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
