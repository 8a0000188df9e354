"""Forward-process properties: they hold for any correct implementation and fail for a wrong one."""
import numpy as np
import pytest
import torch

from diffusion_core.maths.forward import (
    eps_from_v, predict_eps_from_x0, predict_x0_from_eps, q_posterior, q_sample, q_step, q_step_alpha,
    v_from_eps_x0, x0_from_v,
)
from diffusion_core.maths.schedules import CLEAN, make_schedule


@pytest.fixture(scope="module")
def schedule():
    return make_schedule("linear", 1000)


def test_q_sample_at_the_clean_timestep_is_x0_and_at_t0_one_step_of_noise(schedule):
    x0 = torch.rand(4, 1, 8, 8) * 2 - 1
    noise = torch.randn_like(x0)
    assert torch.equal(q_sample(schedule, x0, CLEAN, noise), x0)
    assert torch.equal(q_sample(schedule, x0, torch.full((4,), CLEAN, dtype=torch.long), noise), x0)
    b0 = float(schedule.betas[0])  # t = 0 is the first noisy step: alpha_bar_0 = 1 - beta_0
    torch.testing.assert_close(q_sample(schedule, x0, 0, noise), (1 - b0) ** 0.5 * x0 + b0**0.5 * noise)


@pytest.mark.parametrize("name", ["linear", "cosine", "scaled_linear"])
def test_q_sample_at_T_has_the_predicted_mean_and_std(name):
    s = make_schedule(name, 1000)
    g = torch.Generator().manual_seed(0)
    x0 = torch.full((200_000,), 0.8, dtype=torch.float64)
    xT = q_sample(s, x0, s.num_timesteps - 1, torch.randn(x0.shape, generator=g, dtype=torch.float64))
    ab = s.alphas_cumprod[-1]
    assert xT.mean().item() == pytest.approx(0.8 * np.sqrt(ab), abs=4 / np.sqrt(x0.numel()))
    assert xT.std().item() == pytest.approx(np.sqrt(1 - ab), rel=0.01)


def test_chained_single_steps_match_closed_form_in_distribution(schedule):
    """x_t built by t + 1 one-step draws q(x_s|x_{s-1}), s = 0 .. t, has the law of one draw from q(x_t|x_0)."""
    g = torch.Generator().manual_seed(1)
    n, t = 100_000, 300
    x0 = torch.full((n,), -0.5, dtype=torch.float64)
    x = x0.clone()
    for s_ in range(0, t + 1):
        x = q_step(schedule, x, s_, torch.randn(n, generator=g, dtype=torch.float64))
    ab = schedule.alpha_bar(t)
    assert x.mean().item() == pytest.approx(-0.5 * np.sqrt(ab), abs=4 / np.sqrt(n))
    assert x.std().item() == pytest.approx(np.sqrt(1 - ab), rel=0.01)
    # and a fixed alpha chain gives alpha^t signal
    y = x0.clone()
    for _ in range(50):
        y = q_step_alpha(y, 0.97, torch.randn(n, generator=g, dtype=torch.float64))
    assert y.mean().item() == pytest.approx(-0.5 * 0.97**25, abs=4 / np.sqrt(n))
    assert y.std().item() == pytest.approx(np.sqrt(1 - 0.97**50), rel=0.01)


def test_posterior_is_consistent_with_one_step_forward(schedule):
    """Sampling x_{t-1} ~ q(x_{t-1}|x_t,x0) over x_t ~ q(x_t|x0) reproduces q(x_{t-1}|x0)."""
    g = torch.Generator().manual_seed(2)
    n, t = 200_000, 40
    x0 = torch.full((n,), 0.7, dtype=torch.float64)
    xt = q_sample(schedule, x0, t, torch.randn(n, generator=g, dtype=torch.float64))
    mean, var = q_posterior(schedule, x0, xt, t)
    x_prev = mean + float(np.sqrt(var)) * torch.randn(n, generator=g, dtype=torch.float64)
    ab = schedule.alpha_bar(t - 1)
    assert x_prev.mean().item() == pytest.approx(0.7 * np.sqrt(ab), abs=4 / np.sqrt(n))
    assert x_prev.std().item() == pytest.approx(np.sqrt(1 - ab), rel=0.01)


def test_eps_x0_v_conversions_round_trip(schedule):
    g = torch.Generator().manual_seed(3)
    x0 = torch.rand(5, 1, 4, 4, generator=g, dtype=torch.float64) * 2 - 1
    eps = torch.randn(5, 1, 4, 4, generator=g, dtype=torch.float64)
    t = torch.tensor([0, 10, 200, 700, 999])
    xt = q_sample(schedule, x0, t, eps)
    torch.testing.assert_close(predict_x0_from_eps(schedule, xt, t, eps), x0)
    torch.testing.assert_close(predict_eps_from_x0(schedule, xt, t, x0), eps)
    v = v_from_eps_x0(schedule, t, eps, x0)
    torch.testing.assert_close(x0_from_v(schedule, xt, t, v), x0)
    torch.testing.assert_close(eps_from_v(schedule, xt, t, v), eps)


def test_numpy_inputs_work_too(schedule):
    x0 = np.linspace(-1, 1, 16, dtype=np.float32).reshape(4, 4)
    out = q_sample(schedule, x0, 500, np.zeros_like(x0))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, x0 * np.sqrt(schedule.alpha_bar(500)), rtol=1e-6)


@pytest.mark.parametrize("t", [-2, 1000, 2.5, float("nan")])
def test_out_of_range_timesteps_raise(schedule, t):
    with pytest.raises(ValueError):
        q_sample(schedule, torch.zeros(3), t, torch.zeros(3))


def test_x0_from_eps_refuses_zero_terminal_snr():
    s = make_schedule("linear", 100, rescale_zero_snr=True)
    with pytest.raises(ValueError, match="zero terminal SNR"):
        predict_x0_from_eps(s, torch.zeros(2), 99, torch.zeros(2))


def test_tensor_timesteps_give_the_host_paths_values(schedule):
    """A tensor t is looked up on its own device (the training path), a list on the host with numpy. In
    float32, what the DiT trains in, the two agree to the bit; in float64 to an ulp or two (torch's float64
    square root is not numpy's in the last bit)."""
    g = torch.Generator().manual_seed(3)
    x0 = torch.rand(256, 1, 4, 4, generator=g, dtype=torch.float64) * 2 - 1
    noise = torch.randn(x0.shape, generator=g, dtype=torch.float64)
    t = torch.randint(CLEAN, schedule.num_timesteps, (256,), generator=g)
    x32, n32 = x0.float(), noise.float()
    assert torch.equal(q_sample(schedule, x32, t, n32), q_sample(schedule, x32, t.tolist(), n32))
    assert torch.equal(q_sample(schedule, x32, t.float(), n32), q_sample(schedule, x32, t.numpy(), n32))
    torch.testing.assert_close(q_sample(schedule, x0, t, noise), q_sample(schedule, x0, t.tolist(), noise),
                               rtol=1e-15, atol=1e-15)


@pytest.mark.parametrize("t", [torch.tensor([0, 1000]), torch.tensor([0.5, 3.0]), torch.tensor([float("nan")])])
def test_bad_tensor_timesteps_on_the_cpu_raise_a_clear_message(schedule, t):
    with pytest.raises(ValueError, match="Timestep"):
        q_sample(schedule, torch.zeros(len(t), 1, 2, 2), t, torch.zeros(len(t), 1, 2, 2))
