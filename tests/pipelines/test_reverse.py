"""The reverse-process library: settings, fair starting noise, recorded trajectories, the moments the
schedule predicts, attention pictures, adaLN modulation, SDEdit and the eps-MSE curve.
Runs on a small random DiT (the `test` preset) so it is fast and does not depend on the shipped weights."""
import numpy as np
import pytest
import torch

from diffusion_core.app.reverse import attention_view as av
from diffusion_core.pipelines import denoising as rl
from diffusion_core.app.reverse import reverse_views as rv
from diffusion_core.pipelines import sdedit as sd
from diffusion_core.networks.dit import DiT, PRESETS
from diffusion_core.networks.pretrained import Pretrained
from diffusion_core.maths.schedules import make_schedule
from diffusion_core.settings import sampling


@pytest.fixture(scope="module")
def pre():
    torch.manual_seed(0)
    m = DiT(PRESETS["test"]).eval()
    for p in m.parameters():  # move off adaLN-Zero's zeros so everything matters
        p.data.add_(0.05 * torch.randn_like(p))
    return Pretrained(m, {"schedule": make_schedule("cosine", 1000).to_dict(), "config": m.config.to_dict()}, "test")


def test_settings_are_validated():
    assert sampling(steps="20", seed=3.0, images=4).steps == 20
    for bad in (dict(n_images=17), dict(n_images=0), dict(steps=0), dict(steps=1001), dict(guidance=-1),
                dict(eta=2), dict(sampler="plms"), dict(spacing="odd"), dict(label="11"), dict(seed=float("nan")),
                dict(guidance="abc"), dict(seed=-1), dict(guidance_min_t=-10), dict(guidance_min_t=1001),
                dict(guidance_min_t="abc")):
        with pytest.raises(ValueError):
            sampling(**bad)


def test_labels_for_each_choice():
    assert rl.labels_for(sampling(label="mixed 0-9", images=12)).tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    assert rl.labels_for(sampling(label="7", images=3)).tolist() == [7, 7, 7]
    assert rl.labels_for(sampling(label="unconditional", images=2)).tolist() == [10, 10]


def test_start_noise_is_shared_across_samplers_and_image_counts(pre):
    a = rl.run_trajectory(sampling(sampler="ddim", steps=3, images=2, seed=5), pre)
    b = rl.run_trajectory(sampling(sampler="heun", steps=4, images=4, seed=5), pre)
    np.testing.assert_array_equal(a.x_T, b.x_T[:2])
    np.testing.assert_array_equal(a.x_t[0], a.x_T)  # the first step starts from x_T
    c = rl.run_trajectory(sampling(sampler="ddim", steps=3, images=2, seed=6), pre)
    assert not np.array_equal(a.x_T, c.x_T)


@pytest.mark.parametrize("sampler", ["ddpm", "ddim", "dpm++2m", "euler", "heun"])
def test_trajectory_records_every_step_and_matches_the_plain_sampler(pre, sampler, monkeypatch):
    from diffusion_core.pipelines.generation import dit_denoiser
    from diffusion_core.maths.samplers import sample, step_grid

    monkeypatch.setenv("DIFFUSION_CLASSROOM_CPU_BF16", "0")  # float32 on both sides: the same numbers

    s = sampling(sampler=sampler, steps=4, images=3, guidance=2.0, seed=1)
    frames = list(rl.denoise(s, pre))
    traj = frames[-1]
    assert traj.done and traj.num_steps == 4 and len(frames) == 5  # x_T first, then one per step
    assert traj.x_t[0].shape == (3, 28, 28) and len(traj.ms) == 4
    assert traj.nfe[-1] == 2 * (7 if sampler == "heun" else 4)  # guided: two passes per evaluation
    for k in range(3):  # each step starts where the previous ended
        np.testing.assert_array_equal(traj.x_t[k + 1], traj.x_next[k])
    if sampler != "ddpm":  # deterministic samplers: the same result as the plain form
        schedule, den = dit_denoiser(pre, 2.0)
        y = torch.as_tensor(rl.labels_for(s))
        with torch.no_grad():
            ref = sample(sampler, den, rl.start_noise(1, 3), step_grid(sampler, schedule, 4, "leading"), {"y": y}, clip_x0=1.0)
        np.testing.assert_allclose(traj.final(), ref[:, 0].numpy(), rtol=2e-3, atol=5e-3)  # float16 storage


def test_guidance_limited_to_noisy_steps_costs_one_pass_below_it(pre, monkeypatch):
    from diffusion_core.pipelines.generation import nfe_per_sample
    from diffusion_core.maths.samplers import make_timesteps

    monkeypatch.setenv("DIFFUSION_CLASSROOM_CPU_BF16", "0")
    ts = make_timesteps(1000, 6, "leading")
    s = sampling(sampler="ddim", steps=6, images=2, guidance=3.0, seed=1, guidance_min_t=400)
    traj = rl.run_trajectory(s, pre)
    per_step = np.diff([0] + traj.nfe)
    np.testing.assert_array_equal(per_step, np.where(ts >= 400, 2, 1))  # guided steps: two passes
    assert "guided, w = 3" in rv.step_caption(traj, 0) and "t < 400: not guided" in rv.step_caption(traj, 5)
    everywhere = rl.run_trajectory(sampling(sampler="ddim", steps=6, images=2, guidance=3.0, seed=1), pre)
    np.testing.assert_array_equal(everywhere.x_t[1], traj.x_t[1])  # the first step (t = 830) is guided in both
    assert not np.array_equal(everywhere.final(), traj.final())  # the unguided low-noise steps differ
    meta = dict(pre.meta, sampling={"sampler": "ddim", "steps": 6, "guidance": 3.0, "guidance_min_t": 400})
    assert nfe_per_sample("dit", meta) == traj.nfe[-1]
    assert nfe_per_sample("dit", meta, sampling(meta, guidance_min_t=0)) == 12
    assert nfe_per_sample("dit", meta, sampling(meta, sampler="heun", guidance=1.0)) == 11


def test_bf16_trajectory_stays_close_to_float32(pre, monkeypatch):
    """Where the CPU has bf16 the app samples in it; the first steps agree with float32 closely."""
    s = sampling(sampler="ddim", steps=3, images=2, guidance=2.0, seed=1)
    monkeypatch.setenv("DIFFUSION_CLASSROOM_CPU_BF16", "0")
    ref = rl.run_trajectory(s, pre)
    monkeypatch.setenv("DIFFUSION_CLASSROOM_CPU_BF16", "1")
    fast = rl.run_trajectory(s, pre)
    assert "bf16" in fast.device and "bf16" not in ref.device
    eps, eps_ref = np.asarray(fast.eps[0], np.float32), np.asarray(ref.eps[0], np.float32)
    assert 0 < np.linalg.norm(eps - eps_ref) / np.linalg.norm(eps_ref) < 0.03


def test_closing_the_generator_stops_and_releases_the_run(pre):
    gen = rl.denoise(sampling(steps=50, images=1), pre)
    next(gen), next(gen)
    assert rl.active_runs() == 1
    gen.close()
    assert rl.active_runs() == 0


def test_predicted_moments_match_sampled_forward_process():
    from diffusion_core.data.mnist import load_mnist, to_model_space

    imgs, _ = load_mnist("train")  # the constants are the training set's
    pick = np.random.default_rng(0).choice(len(imgs), min(5000, len(imgs)), replace=False)  # 2000 in the test fixture
    x0 = torch.from_numpy(to_model_space(imgs[pick]))
    for ab in (0.9, 0.3, 0.01):
        xt = ab**0.5 * x0 + (1 - ab) ** 0.5 * torch.randn_like(x0)  # q(x_t | x_0), Ho et al. eq. 4
        mean, std = rl.predicted_moments(np.array([ab]))
        assert abs(xt.mean().item() - mean[0]) < 0.01 and abs(xt.std().item() - std[0]) < 0.01


def test_views_and_gif(pre, tmp_path):
    traj = rl.run_trajectory(sampling(steps=3, images=5), pre)
    imgs = rv.step_images(traj, 1)
    assert imgs["x_t"].dtype == np.uint8 and imgs["update"].ndim == 3  # signed views are coloured
    assert imgs["x0"].shape == rv.step_images(traj, 99)["x0"].shape  # out-of-range steps clamp
    assert "Step 2 of 3" in rv.step_caption(traj, 1)
    fig = rv.moments_figure(traj, 1)
    assert len(fig.data) == 4 and len(fig.data[0].x) == 4  # x_T plus 3 outputs
    from PIL import Image

    path = rv.trajectory_gif(traj, tmp_path / "t.gif")
    assert Image.open(path).n_frames == 4


def test_patch_lookup_and_overlay():
    assert av.patch_at(0, 0) == 0 and av.patch_at(279, 0) == 6 and av.patch_at(0, 279) == 42 and av.patch_at(139, 139) == 24
    assert av.patch_at(-5, 1e6) == 42  # clicks off the edge clamp
    w = np.zeros(49)
    w[48] = 1.0
    img = av.overlay(np.zeros((28, 28)), w, patch=0)
    assert img.shape == (280, 280, 3)
    hot = img[250:270, 250:270].astype(int).sum()
    cold = img[130:150, 130:150].astype(int).sum()
    assert hot > 3 * cold  # the attended patch is bright
    assert (img[20, 1] == [40, 220, 80]).all()  # the query patch is outlined in green


def test_internals_attention_rows_sum_to_one_and_head_grid(pre):
    inner = av.internals(pre.model, np.zeros((28, 28)), 500, 3)
    a = inner["attention"]
    assert a.shape == (2, 2, 49, 49)
    np.testing.assert_allclose(a.sum(-1), 1.0, atol=1e-5)
    grid = av.head_grid(a, 10)
    assert grid.shape == (2 * (56 + 4) + 4, 2 * (56 + 4) + 4, 3)
    assert "Patch (row 2, column 4)" in av.attention_summary(a, 0, 1, 10)


def test_modulation_depends_on_t_and_matches_the_forward_pass(pre):
    ts = np.array([10.0, 900.0])
    m = av.modulation_by_t(pre.model, 4, ts)
    assert m.shape == (2, 2, 6) and not np.allclose(m[0], m[1])
    _, inner = pre.model(torch.zeros(1, 1, 28, 28), torch.tensor([900.0]), torch.tensor([4]), return_internals=True)
    ref = inner["modulation"][0].pow(2).mean(-1).sqrt().detach().numpy()  # (depth, 6)
    np.testing.assert_allclose(m[1], ref, rtol=1e-5)
    assert len(av.modulation_figure(pre.model, 4, 500.0, num=5).data) == 6 * 2


def test_sdedit_timesteps_and_run(pre):
    assert sd.sdedit_timesteps(10, 20).tolist() == list(range(10, -1, -1))
    ts = sd.sdedit_timesteps(600, 5)
    assert ts[0] == 600 and ts[-1] == 0 and len(ts) == 5 and (np.diff(ts) < 0).all()
    r = sd.sdedit(pre, np.zeros((28, 28)), 3, 300, steps=4, seed=0, guidance=1.0)
    assert r["frames"].shape == (4, 28, 28) and -1 <= r["result"].min() and r["result"].max() <= 1
    ab = make_schedule("cosine", 1000).alphas_cumprod[300]
    np.testing.assert_allclose(r["x_t"], np.sqrt(1 - ab) * r["noise"], atol=1e-5)  # x0 = 0 here
    with pytest.raises(ValueError):
        sd.sdedit(pre, np.zeros((28, 28)), 3, 1000)


def test_eps_mse_curve_is_the_training_loss(pre):
    """Against a hand computation with the same noise draws."""
    imgs = np.random.default_rng(0).uniform(-1, 1, (3, 28, 28)).astype(np.float32)
    labels = np.array([1, 2, 3])
    got = sd.eps_mse_curve(pre, imgs, labels, [100, 800], draws=2, seed=7)
    g = torch.Generator().manual_seed(7)
    x = torch.from_numpy(imgs)[:, None].repeat(2, 1, 1, 1)
    ab = make_schedule("cosine", 1000).alphas_cumprod
    for i, t in enumerate([100, 800]):
        noise = torch.randn(x.shape, generator=g)
        xt = float(ab[t]) ** 0.5 * x + (1 - float(ab[t])) ** 0.5 * noise
        with torch.no_grad():
            pred = pre.model(xt, torch.full((6,), float(t)), torch.tensor([1, 2, 3] * 2))
        assert got[i] == pytest.approx(((pred - noise) ** 2).mean().item(), rel=1e-5)
