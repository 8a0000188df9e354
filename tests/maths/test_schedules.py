"""Noise schedules against independent references: diffusers' schedulers and the papers' formulas."""
import json
import math

import numpy as np
import pytest
from diffusers import DDPMScheduler
from diffusers.schedulers.scheduling_ddpm import rescale_zero_terminal_snr as diffusers_rescale

from diffusion_core.maths.schedule_io import from_diffusers_config, parse_csv_schedule, schedule_from_text
from diffusion_core.maths.schedule_makers import karras_sigmas
from diffusion_core.maths.schedules import from_alphas_cumprod, from_betas, make_schedule

DIFFUSERS_NAMES = [("linear", "linear"), ("scaled_linear", "scaled_linear"), ("squaredcos_cap_v2", "cosine"), ("sigmoid", "sigmoid")]


def diffusers_scheduler(name, T, **kw):
    if name == "scaled_linear":
        kw = {"beta_start": 0.00085, "beta_end": 0.012, **kw}
    return DDPMScheduler(num_train_timesteps=T, beta_schedule=name, **kw)


@pytest.mark.parametrize("T", [1000, 50])
@pytest.mark.parametrize("dname,ours", DIFFUSERS_NAMES)
def test_alphas_cumprod_match_diffusers(dname, ours, T):
    ref = diffusers_scheduler(dname, T)
    s = make_schedule(ours, T)
    ref_ac = ref.alphas_cumprod.double().numpy()
    # diffusers stores betas in float32, which cannot hold 1 - 0.999 to 1e-6 relative: the steps where
    # the cosine schedule clips beta at 0.999 are compared at float32 precision instead.
    clipped = s.betas >= 0.999
    np.testing.assert_allclose(s.alphas_cumprod[~clipped], ref_ac[~clipped], rtol=1e-6)
    np.testing.assert_allclose(s.betas[clipped], ref.betas.double().numpy()[clipped], rtol=1e-7)
    assert s.alphas_cumprod.dtype == np.float64


@pytest.mark.parametrize("dname,ours", DIFFUSERS_NAMES)
def test_zero_snr_rescale_matches_diffusers(dname, ours):
    s = make_schedule(ours, 1000, rescale_zero_snr=True)
    base = diffusers_scheduler(dname, 1000).betas.double()
    ref = diffusers_rescale(base).numpy()
    np.testing.assert_allclose(s.betas, ref, rtol=1e-6, atol=1e-9)
    assert s.alphas_cumprod[-1] == pytest.approx(0.0, abs=1e-20)
    assert s.sqrt_alphas_cumprod[0] == pytest.approx(math.sqrt(1 - s.betas[0]))


def test_karras_sigmas_follow_edm_formula():
    n, smin, smax, rho = 18, 0.002, 80.0, 7.0
    ours = karras_sigmas(n, smin, smax, rho)
    # EDM (Karras et al. 2022) eq. 5, written out term by term.
    ref = [(smax ** (1 / rho) + i / (n - 1) * (smin ** (1 / rho) - smax ** (1 / rho))) ** rho for i in range(n)]
    np.testing.assert_allclose(ours, ref, rtol=1e-12)
    assert ours[0] == pytest.approx(smax) and ours[-1] == pytest.approx(smin)


def test_karras_schedule_has_edm_sigmas():
    s = make_schedule("karras", 100, sigma_min=0.01, sigma_max=50.0)
    np.testing.assert_allclose(s.sigmas, karras_sigmas(100, 0.01, 50.0)[::-1], rtol=1e-9)


def test_constant_schedule_is_one_step_alpha_power():
    s = make_schedule("constant", 300, alpha=0.98)
    np.testing.assert_allclose(s.alphas_cumprod, 0.98 ** np.arange(1, 301), rtol=1e-12)


def test_derived_quantities_are_consistent():
    s = make_schedule("cosine", 1000)
    ac = s.alphas_cumprod
    np.testing.assert_allclose(s.snr, ac / (1 - ac), rtol=1e-12)
    np.testing.assert_allclose(np.exp(s.log_snr), s.snr, rtol=1e-9)
    np.testing.assert_allclose(s.sigmas, 1 / np.sqrt(s.snr), rtol=1e-12)
    np.testing.assert_allclose(s.sqrt_alphas_cumprod**2 + s.sqrt_one_minus_alphas_cumprod**2, 1.0, rtol=1e-12)


def test_posterior_matches_gaussian_product():
    """q(x_{t-1}|x_t,x0) ∝ q(x_t|x_{t-1}) q(x_{t-1}|x0): multiply the two Gaussians by hand."""
    s = make_schedule("linear", 1000)
    for i in [1, 10, 500, 999]:
        a, b, ab_prev = s.alphas[i], s.betas[i], s.alphas_cumprod[i - 1]
        precision = a / b + 1 / (1 - ab_prev)
        var = 1 / precision
        c_xt = var * math.sqrt(a) / b
        c_x0 = var * math.sqrt(ab_prev) / (1 - ab_prev)
        assert s.posterior_variance[i] == pytest.approx(var, rel=1e-9)
        assert s.posterior_mean_coef2[i] == pytest.approx(c_xt, rel=1e-9)
        assert s.posterior_mean_coef1[i] == pytest.approx(c_x0, rel=1e-9)


def test_schedule_is_immutable():
    s = make_schedule("linear", 10)
    with pytest.raises(ValueError):
        s.betas[0] = 0.5
    with pytest.raises(Exception):
        s.name = "other"


@pytest.mark.parametrize("name", ["linear", "cosine", "scaled_linear", "sigmoid", "quadratic", "constant", "karras"])
def test_lookups_round_trip(name):
    s = make_schedule(name, 1000)
    t = np.array([-1, 0, 7, 250, 500, 998, 999])
    assert np.array_equal(s.t_for_alpha_bar(s.alpha_bar(t)), t)
    assert np.array_equal(s.t_for_log_snr(s.log_snr_at(t)), t)
    np.testing.assert_allclose(s.t_for_sigma(s.sigma_at(t[1:-1])), t[1:-1], atol=1e-6)
    assert s.alpha_bar(-1) == 1.0 and s.alpha_bar(0) == s.alphas_cumprod[0]  # -1: the clean image
    np.testing.assert_array_equal(s.alpha_bar(np.arange(1000)), s.alphas_cumprod)  # t is the arrays' index


def test_fractional_lookup_interpolates_between_steps():
    s = make_schedule("linear", 1000)
    t = s.t_for_alpha_bar((s.alpha_bar(100) + s.alpha_bar(101)) / 2, integer=False)
    assert 100 < t < 101


def test_from_betas_and_alphas_cumprod_round_trip():
    s = make_schedule("sigmoid", 200)
    np.testing.assert_allclose(from_betas(list(s.betas)).alphas_cumprod, s.alphas_cumprod, rtol=1e-12)
    np.testing.assert_allclose(from_alphas_cumprod(s.alphas_cumprod).betas, s.betas, rtol=1e-9)


def test_diffusers_config_matches_diffusers():
    cfg = {"num_train_timesteps": 500, "beta_start": 0.0002, "beta_end": 0.03, "beta_schedule": "scaled_linear",
           "rescale_betas_zero_snr": True, "timestep_spacing": "trailing", "prediction_type": "v_prediction"}
    ours = from_diffusers_config(json.dumps(cfg))
    # diffusers rescales in float32, losing ~1e-3 relative on the small betas; apply its own
    # rescale function in float64 to its un-rescaled betas instead.
    plain = DDPMScheduler.from_config({**cfg, "rescale_betas_zero_snr": False})
    ref = diffusers_rescale(plain.betas.double()).numpy()
    np.testing.assert_allclose(ours.betas, ref, rtol=1e-6, atol=1e-9)
    assert DDPMScheduler.from_config(cfg).alphas_cumprod[-1] == 0  # diffusers rescaled the same config too
    assert ours.timestep_spacing == "trailing"


def test_diffusers_config_trained_betas_and_export_round_trip():
    s = make_schedule("cosine", 100)
    again = from_diffusers_config(json.dumps(s.to_diffusers_config()))
    np.testing.assert_array_equal(again.betas, s.betas)
    ref = DDPMScheduler.from_config(s.to_diffusers_config())
    np.testing.assert_allclose(ref.alphas_cumprod.double().numpy()[:-1], s.alphas_cumprod[:-1], rtol=1e-6)


def test_csv_export_round_trip():
    s = make_schedule("linear", 50)
    back = parse_csv_schedule(s.to_csv())
    np.testing.assert_array_equal(back.betas, s.betas)


@pytest.mark.parametrize("call,match", [
    (lambda: make_schedule("linaer"), "Unknown schedule"),
    (lambda: make_schedule("linear", 0), "at least 1"),
    (lambda: make_schedule("linear", 2.5), "whole number"),
    (lambda: make_schedule("linear", 10, beta_end=float("nan")), "finite"),
    (lambda: make_schedule("linear", 10, bogus=1), "no parameter"),
    (lambda: from_betas([0.1, 1.5, 0.2]), "must be < 1"),
    (lambda: from_betas([0.1, -0.1]), "must be > 0"),
    (lambda: from_betas([0.1, float("nan")]), "finite"),
    (lambda: from_betas([]), "at least one step"),
    (lambda: from_alphas_cumprod([0.9, 0.95]), "strictly decrease"),
    (lambda: from_diffusers_config("{not json"), "not valid JSON"),
    (lambda: from_diffusers_config('{"beta_schedule": "exotic"}'), "not supported"),
    (lambda: from_diffusers_config('{"num_train_timesteps": -5}'), "num_train_timesteps"),
    (lambda: from_diffusers_config('{"beta_start": NaN}'), "finite"),
    (lambda: from_diffusers_config("[1, 2]"), "JSON object"),
    (lambda: schedule_from_text("0.1, 0.2, __import__('os')"), "not a number"),
    (lambda: schedule_from_text("", "betas"), "No numbers"),
    (lambda: schedule_from_text("0.1, nan", "betas"), "finite"),
])
def test_bad_input_raises_value_error_with_message(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_pasted_text_is_parsed_not_evaluated(tmp_path):
    marker = tmp_path / "pwned"
    text = f"0.1, 0.2\n__import__('pathlib').Path('{marker}').touch()"
    with pytest.raises(ValueError):
        schedule_from_text(text)
    assert not marker.exists()
    s = schedule_from_text("[0.001, 0.002; 0.003]\n0.004")
    np.testing.assert_array_equal(s.betas, [0.001, 0.002, 0.003, 0.004])
