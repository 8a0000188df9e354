"""The schedule checks find the known problems of known schedules, and their fixes remove them."""
import numpy as np
import pytest

from diffusion_core.maths.schedule_checks import check_schedule, fix_schedule
from diffusion_core.maths.schedules import NoiseSchedule, from_betas, make_schedule


def codes(schedule):
    return {f.code: f for f in check_schedule(schedule)}


def test_scaled_linear_leaves_signal_at_T():
    s = make_schedule("scaled_linear", 1000)
    found = codes(s)
    assert "terminal_signal" in found and found["terminal_signal"].severity == "warning"
    assert "0.068" in found["terminal_signal"].message  # Lin et al. 2023's figure
    assert found["terminal_signal"].fix_action == "rescale_zero_snr"


def test_linear_with_50_steps_is_flagged_as_an_error_with_a_more_steps_fix():
    s = make_schedule("linear", 50)
    assert s.alphas_cumprod[-1] == pytest.approx(0.6, abs=0.01)  # the "~0.6" is alpha_bar_T (sqrt: 0.78)
    found = codes(s)
    assert found["terminal_signal"].severity == "error"
    assert found["few_steps"].fix_action == "more_steps"


@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_good_schedules_have_no_warnings(name):
    assert {f.severity for f in check_schedule(make_schedule(name, 1000))} == {"info"}


def test_half_signal_step_is_reported():
    s = make_schedule("linear", 1000)
    k = int(np.flatnonzero(s.alphas_cumprod <= 0.5)[0])
    assert f"at t = {k} of 0 .. 999" in codes(s)["half_signal"].message


def test_alpha_bar_reaching_zero_early_is_an_error():
    betas = np.full(10, 0.1)
    betas[-1] = 1.0
    ok = codes(from_betas(betas))
    assert "zero_terminal_snr" in ok and "alpha_bar_zero_early" not in ok
    # alpha_bar hitting 0 before T cannot be built through the validating constructors; forge one
    forged = object.__new__(NoiseSchedule)
    object.__setattr__(forged, "betas", np.array([0.1, 1.0, 0.1]))
    object.__setattr__(forged, "alphas_cumprod", np.array([0.9, 0.0, 0.0]))
    found = codes(forged)
    assert found["alpha_bar_zero_early"].severity == "error"
    assert found["betas_range"].severity == "error" or found["not_monotonic"].severity == "error"


def test_non_monotonic_alpha_bar_is_an_error():
    forged = object.__new__(NoiseSchedule)
    object.__setattr__(forged, "betas", np.array([0.1, 0.1, 0.1]))
    object.__setattr__(forged, "alphas_cumprod", np.array([0.9, 0.95, 0.5]))
    assert codes(forged)["not_monotonic"].severity == "error"


def test_findings_are_sorted_by_severity():
    sev = [f.severity for f in check_schedule(make_schedule("linear", 50))]
    order = {"error": 0, "warning": 1, "info": 2}
    assert sev == sorted(sev, key=order.get)


def test_fixes_remove_the_finding():
    s = make_schedule("scaled_linear", 1000)
    fixed = fix_schedule(s, "rescale_zero_snr")
    assert fixed.alphas_cumprod[-1] == pytest.approx(0.0, abs=1e-15)
    assert "terminal_signal" not in codes(fixed)
    longer = fix_schedule(make_schedule("linear", 50), "more_steps")
    assert longer.num_timesteps == 800  # 200 still leaves 36% of the image's amplitude in x_T: an error
    assert not [f for f in check_schedule(longer) if f.severity != "info"]
    assert np.sqrt(longer.alphas_cumprod[-1]) < np.sqrt(make_schedule("linear", 50).alphas_cumprod[-1])
    with pytest.raises(ValueError):
        fix_schedule(s, "magic")
    with pytest.raises(ValueError, match="most this tool handles"):
        fix_schedule(make_schedule("linear", 100000), "more_steps")
