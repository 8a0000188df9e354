"""The compare tab's 'measured now' timing says so when the shared batcher's cache did the DiT's work."""
from diffusion_core.app.compare import compare_ui as cui


def test_a_repeated_comparison_is_flagged_as_served_from_the_cache_not_timed_as_its_cost():
    _, first = cui.samples_and_costs("3", 12345, n=2)
    _, again = cui.samples_and_costs("3", 12345, n=2)
    assert first["dit"][2] < 0.05 and again["dit"][2] > 0.95  # the second run's rows all came from the cache
    assert again["gan"][2] == 0 and again["vae"][2] == 0
    assert "not its cost" in cui.reused_note(again["dit"][2]) and cui.reused_note(first["dit"][2]) == ""
