"""Samplers against the diffusers scheduler loops (same fake denoiser, same noise), and against the
exact answer for Gaussian data, where the ideal denoiser is known in closed form."""
import numpy as np
import pytest
import torch
from diffusers import DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler

from diffusion_core.maths.guidance import CFGDenoiser
from diffusion_core.maths.samplers import (
    SAMPLERS, ddim_steps, ddpm_steps, dpmpp_2m_steps, make_timesteps, sample, sampler_steps, step_grid, timestep_grid,
)
from diffusion_core.maths.schedules import make_schedule

SHAPE = (3, 1, 6, 6)


_AB = torch.tensor(make_schedule("linear", 1000).alphas_cumprod, dtype=torch.float32)


def fake_denoiser(x, t, **_):
    """A stand-in for a network that keeps trajectories in a realistic range: the ideal denoiser
    for N(0, 0.5^2) data under the linear schedule, plus a nonlinear term in x and t."""
    ab = _AB[t.long().clamp(0, 999)].view(-1, 1, 1, 1)
    return x * (1 - ab).sqrt() / (0.25 * ab + 1 - ab) + 0.1 * torch.sin(3 * x + t.view(-1, 1, 1, 1) / 100)


def start(seed=0):
    return torch.randn(SHAPE, generator=torch.Generator().manual_seed(seed))


CASES = [("linear", "leading", 20), ("linear", "trailing", 10), ("scaled_linear", "linspace", 25), ("cosine", "leading", 20)]


@pytest.mark.parametrize("T", [1000])
@pytest.mark.parametrize("spacing", ["leading", "trailing", "linspace"])
@pytest.mark.parametrize("n", [1, 7, 20, 50])
def test_timesteps_match_diffusers(T, spacing, n):
    ref = DDPMScheduler(num_train_timesteps=T, timestep_spacing=spacing)
    ref.set_timesteps(n)
    np.testing.assert_array_equal(make_timesteps(T, n, spacing), ref.timesteps.numpy())


@pytest.mark.parametrize("eta", [0.0, 1.0])
@pytest.mark.parametrize("schedule_name,spacing,n", [c for c in CASES if c[1] != "linspace"])
def test_ddim_matches_diffusers_step_by_step(schedule_name, spacing, n, eta):
    # (diffusers' DDIM steps to t - T//n, which is the next visited timestep for leading and
    # trailing spacing; for linspace it is not, and we step to the next visited timestep.)
    dname = {"cosine": "squaredcos_cap_v2"}.get(schedule_name, schedule_name)
    kw = {"beta_start": 0.00085, "beta_end": 0.012} if dname == "scaled_linear" else {}
    ref = DDIMScheduler(num_train_timesteps=1000, beta_schedule=dname, clip_sample=False, timestep_spacing=spacing, **kw)
    ref.set_timesteps(n)
    s = make_schedule(schedule_name, 1000)
    x = start()
    ours = list(ddim_steps(fake_denoiser, x.clone(), timestep_grid(s, make_timesteps(1000, n, spacing)), eta=eta,
                           generator=torch.Generator().manual_seed(5)))
    g = torch.Generator().manual_seed(5)
    assert len(ours) == len(ref.timesteps)
    for rec, t in zip(ours, ref.timesteps):
        assert rec.t == int(t)
        out = ref.step(fake_denoiser(x, t.view(1).expand(x.shape[0])), t, x, eta=eta, generator=g)
        # x0 = (...) / sqrt(alpha_bar) magnifies float32 rounding by 1/sqrt(alpha_bar) (~150 at the
        # first step), so compare sqrt(alpha_bar) x0, the quantity the update actually uses.
        k = rec.alpha_bar**0.5
        torch.testing.assert_close(k * rec.x0, k * out.pred_original_sample, atol=1e-5, rtol=0)
        torch.testing.assert_close(rec.x_next, out.prev_sample, atol=1e-5, rtol=0)
        x = out.prev_sample


@pytest.mark.parametrize("schedule_name,spacing,n", CASES)
def test_ddpm_matches_diffusers_step_by_step(schedule_name, spacing, n):
    dname = {"cosine": "squaredcos_cap_v2"}.get(schedule_name, schedule_name)
    kw = {"beta_start": 0.00085, "beta_end": 0.012} if dname == "scaled_linear" else {}
    ref = DDPMScheduler(num_train_timesteps=1000, beta_schedule=dname, clip_sample=False, timestep_spacing=spacing, **kw)
    ref.set_timesteps(n)
    s = make_schedule(schedule_name, 1000)
    x = start(1)
    ours = list(ddpm_steps(fake_denoiser, x.clone(), timestep_grid(s, make_timesteps(1000, n, spacing)),
                           generator=torch.Generator().manual_seed(9)))
    g = torch.Generator().manual_seed(9)
    for rec, t in zip(ours, ref.timesteps):
        out = ref.step(fake_denoiser(x, t.view(1).expand(x.shape[0])), t, x, generator=g)
        torch.testing.assert_close(rec.x_next, out.prev_sample, atol=1e-5, rtol=0)
        x = out.prev_sample
    assert len(ours) == len(ref.timesteps)


@pytest.mark.parametrize("schedule_name,spacing,n", CASES + [("linear", "trailing", 20)])
def test_dpmpp_2m_matches_diffusers_step_by_step(schedule_name, spacing, n):
    dname = {"cosine": "squaredcos_cap_v2"}.get(schedule_name, schedule_name)
    kw = {"beta_start": 0.00085, "beta_end": 0.012} if dname == "scaled_linear" else {}
    ref = DPMSolverMultistepScheduler(num_train_timesteps=1000, beta_schedule=dname, algorithm_type="dpmsolver++",
                                      solver_order=2, **kw)
    ts = make_timesteps(1000, n, spacing)
    if schedule_name == "cosine":
        ts = ts[ts < 999]  # diffusers' float32 cannot hold alpha_bar at cosine's clipped last step
    ref.set_timesteps(timesteps=ts.tolist())
    s = make_schedule(schedule_name, 1000)
    # diffusers keeps its sigma table in float32, and the rounding of lambda = log(alpha/sigma)
    # shows up in exp(-h) - 1 at the 1e-5 level; give its algorithm the same table in float64.
    sig64 = np.sqrt((1 - s.alphas_cumprod) / s.alphas_cumprod)
    ref.sigmas = torch.from_numpy(np.concatenate([sig64[ts], [0.0]]))
    x = start(2)
    ours = list(dpmpp_2m_steps(fake_denoiser, x.clone(), timestep_grid(s, ts)))
    for rec, t in zip(ours, ref.timesteps):
        out = ref.step(fake_denoiser(x, t.view(1).expand(x.shape[0])), t, x)
        torch.testing.assert_close(rec.x_next, out.prev_sample, atol=1e-5, rtol=0)
        x = out.prev_sample
    assert len(ours) == len(ref.timesteps)


class GaussianOracle:
    """Data x0 ~ N(0, s^2 I): the ideal eps-predictor is E[eps | x_t] = sqrt(1-ab) x_t / (ab s^2 + 1 - ab)."""

    def __init__(self, schedule, s):
        self.schedule, self.s = schedule, s
        self.log_sigmas = np.log(schedule.sigmas)

    def __call__(self, x, t, **_):
        t = float(t[0])
        # network index -> sigma, linear in log sigma (k-diffusion's t_to_sigma)
        sigma = float(np.exp(np.interp(t, np.arange(self.log_sigmas.size), self.log_sigmas)))
        ab = 1.0 / (1.0 + sigma**2)
        return x * ((1 - ab) ** 0.5 / (ab * self.s**2 + 1 - ab))


def exact_ode_error(name, steps, s_data=0.5, spacing="trailing"):
    """Largest relative error of an ODE sampler against the exact map for Gaussian data:
    the probability-flow ODE is linear there, x0 = x_T * s / sqrt(ab_T s^2 + 1 - ab_T)."""
    schedule = make_schedule("linear", 1000)
    x = torch.randn(256, 1, 1, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    recs = list(sampler_steps(name, GaussianOracle(schedule, s_data), x, step_grid(name, schedule, steps, spacing)))
    ab0 = recs[0].alpha_bar
    exact = x * s_data / (ab0 * s_data**2 + 1 - ab0) ** 0.5
    return ((recs[-1].x_next - exact).abs() / exact.abs()).max().item()


@pytest.mark.parametrize("name,steps", [("ddim", 500), ("dpm++2m", 50), ("euler", 500), ("heun", 50)])
def test_ode_samplers_converge_to_exact_gaussian_map(name, steps):
    assert exact_ode_error(name, steps) < 0.01


def test_ddim_on_the_karras_grid_is_euler_and_dpm_solver_solves_the_ode_there():
    """DDIM (eta 0) is Euler's method on the probability-flow ODE in sigma (Karras et al. 2022, sec. 3;
    Song et al. 2021, eq. 14): on the same grid they give the same images, whatever the denoiser."""
    s = make_schedule("cosine", 1000)
    grid = step_grid("ddim", s, 9, "karras")
    ddim, euler = (sample(name, fake_denoiser, start().double(), grid) for name in ("ddim", "euler"))
    torch.testing.assert_close(ddim, euler, rtol=1e-9, atol=1e-9)
    assert exact_ode_error("dpm++2m", 50, spacing="karras") < 0.01


@pytest.mark.parametrize("name", SAMPLERS)
@pytest.mark.parametrize("spacing", ["leading", "trailing", "linspace", "karras"])
def test_every_grid_runs_down_to_the_clean_image(name, spacing):
    s = make_schedule("cosine", 1000)
    grid = step_grid(name, s, 12, spacing)
    assert grid.num_steps == 12 and grid.t[-1] == -1 and grid.alpha_bar[-1] == 1 and grid.sigma[-1] == 0
    assert np.all(np.diff(grid.t) < 0) and np.all(np.diff(grid.alpha_bar) > 0)
    np.testing.assert_allclose(grid.sigma**2, (1 - grid.alpha_bar) / grid.alpha_bar, rtol=1e-12)
    on_schedule = grid.t[:-1] == np.round(grid.t[:-1])  # integer levels carry the schedule's own alpha_bar
    idx = grid.t[:-1][on_schedule].astype(int)
    np.testing.assert_allclose(grid.alpha_bar[:-1][on_schedule], np.maximum(s.alphas_cumprod[idx], 2.0**-24))


def test_every_sampler_has_the_one_signature():
    import inspect

    from diffusion_core.maths.samplers import STEPPERS

    shapes = {name: list(inspect.signature(fn).parameters) for name, fn in STEPPERS.items()}
    assert all(p == ["denoiser", "x", "grid", "cond", "generator", "eta", "clip_x0"] for p in shapes.values()), shapes


@pytest.mark.parametrize("name,order", [("ddim", 1), ("euler", 1), ("dpm++2m", 2), ("heun", 2)])
def test_convergence_order(name, order):
    """Doubling the steps divides a p-th order solver's error by about 2^p."""
    measured = np.log2(exact_ode_error(name, 25) / exact_ode_error(name, 50))
    if order == 1:
        assert 0.6 < measured < 1.4
    else:  # at least second order (DPM-Solver++ measures ~4 here: its error is near the floor)
        assert measured > 1.6


def test_ddpm_recovers_gaussian_data_distribution():
    schedule = make_schedule("linear", 1000)
    x = torch.randn(8000, 1, 1, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    out = sample("ddpm", GaussianOracle(schedule, 0.5), x, step_grid("ddpm", schedule, 1000), generator=torch.Generator().manual_seed(1))
    assert out.std().item() == pytest.approx(0.5, rel=0.03)  # sampling noise ~1%
    assert abs(out.mean().item()) < 0.02


def test_ddim_eta0_is_deterministic_and_ddpm_is_seeded():
    s = make_schedule("linear", 1000)
    a = sample("ddim", fake_denoiser, start(), step_grid("ddim", s, 10), eta=0.0, generator=torch.Generator().manual_seed(1))
    b = sample("ddim", fake_denoiser, start(), step_grid("ddim", s, 10), eta=0.0, generator=torch.Generator().manual_seed(2))
    assert torch.equal(a, b)
    c = sample("ddpm", fake_denoiser, start(), step_grid("ddpm", s, 10), generator=torch.Generator().manual_seed(1))
    d = sample("ddpm", fake_denoiser, start(), step_grid("ddpm", s, 10), generator=torch.Generator().manual_seed(1))
    e = sample("ddpm", fake_denoiser, start(), step_grid("ddpm", s, 10), generator=torch.Generator().manual_seed(2))
    assert torch.equal(c, d) and not torch.allclose(c, e)


@pytest.mark.parametrize("name", SAMPLERS)
def test_generator_form_streams_records_and_can_stop_early(name):
    s = make_schedule("cosine", 1000)
    calls = []

    def counting(x, t, **kw):
        calls.append(1)
        return fake_denoiser(x, t)

    gen = sampler_steps(name, counting, start(), step_grid(name, s, 8), generator=torch.Generator().manual_seed(0))
    first = next(gen)
    assert first.step == 0 and first.num_steps == 8 and first.x_t.shape == SHAPE
    assert first.eps.shape == first.x0.shape == first.x_next.shape == SHAPE
    gen.close()
    assert len(calls) == first.nfe <= 2  # stopping early stopped the work
    recs = list(sampler_steps(name, fake_denoiser, start(), step_grid(name, s, 8), generator=torch.Generator().manual_seed(0)))
    assert len(recs) == 8 and recs[-1].t_next == -1
    assert all(torch.equal(a.x_next, b.x_t) for a, b in zip(recs, recs[1:]))
    assert recs[-1].nfe == (15 if name == "heun" else 8)


def test_cfg_scale_one_is_conditional_and_batches_once():
    calls = []

    def model(x, t, y):
        calls.append(x.shape[0])
        return x * (y.float().view(-1, 1, 1, 1) + 1) + t.view(-1, 1, 1, 1) / 1000

    x, t, y = start(), torch.full((3,), 500.0), torch.tensor([1, 2, 10])
    torch.testing.assert_close(CFGDenoiser(model, 1.0)(x, t, y=y), model(x, t, y))
    calls.clear()
    g = CFGDenoiser(model, 3.0, null_label=10)(x, t, y=y)
    assert calls == [6]  # one call, cond and uncond together
    cond, uncond = model(x, t, y), model(x, t, torch.full_like(y, 10))
    torch.testing.assert_close(g, uncond + 3.0 * (cond - uncond))
    torch.testing.assert_close(g[2], uncond[2])  # the unconditional row stays unguided


@pytest.mark.parametrize("call", [
    lambda s: make_timesteps(1000, 0, "leading"),
    lambda s: make_timesteps(1000, 2000, "leading"),
    lambda s: make_timesteps(1000, 10, "sideways"),
    lambda s: step_grid("plms", s, 10),
    lambda s: sample("plms", fake_denoiser, start(), step_grid("ddim", s, 10)),
    lambda s: step_grid("ddim", s, 10, "sideways"),
    lambda s: step_grid("euler", s, 1001),
    lambda s: timestep_grid(s, [5, 500]),  # not descending
    lambda s: timestep_grid(s, [1000, 5]),  # outside 0 .. T-1
    lambda s: sample("ddim", fake_denoiser, start(), step_grid("ddim", s, 10), eta=-1.0),
    lambda s: CFGDenoiser(fake_denoiser, float("nan")),
])
def test_sampler_bad_arguments_raise_value_error(call):
    with pytest.raises(ValueError):
        call(make_schedule("linear", 1000))
