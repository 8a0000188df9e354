"""The race's three 2D models: each training step lowers its loss on a fixed seed, mode coverage is 8/8 on
the data and 1/8 on one mode, and bad settings get a clear message or a caught divergence, never a crash."""
import numpy as np
import pytest
import torch

from diffusion_core.data.points2d import preset_points
from diffusion_core.evaluation.coverage2d import coverage, modes_of
from diffusion_core.maths.schedules import make_schedule
from diffusion_core.networks.rivals2d import vae_loss
from diffusion_core.evaluation.race_measures import measure_race, race_stability
from diffusion_core.training.race_2d import GANTrainer2D, Race, VAETrainer2D
from diffusion_core.training.train_2d import DivergedError

RING = preset_points("ring of 8 Gaussians", 2000, 0)


def test_coverage_counts_the_modes_the_samples_reach():
    pts, labels = RING
    centres, radius = modes_of("ring of 8 Gaussians", pts, labels)
    assert coverage(pts, centres, radius) == {"modes_hit": 8, "modes": 8, "near_share": pytest.approx(0.99, abs=0.01)}
    one = pts[labels == 3]
    assert coverage(one, centres, radius)["modes_hit"] == 1
    assert coverage(np.zeros((100, 2)), centres, radius) == {"modes_hit": 0, "modes": 8, "near_share": 0.0}
    moons, moon_labels = preset_points("two moons", 1000, 0)
    c, r = modes_of("two moons", moons, moon_labels)  # class means for a set without fixed centres
    assert len(c) == 2 and coverage(moons, c, r)["modes_hit"] == 2


def test_the_vae_step_lowers_its_loss():
    tr = VAETrainer2D(RING[0], lr=3e-3)
    x = torch.from_numpy(RING[0][:512])
    before = vae_loss(tr.model, x, 1.0, torch.Generator().manual_seed(0))[0].item()
    for _ in range(150):
        tr.one_step()
    after = vae_loss(tr.model, x, 1.0, torch.Generator().manual_seed(0))[0].item()
    assert after < 0.7 * before, (before, after)


def test_the_gan_steps_train_both_players():
    """The discriminator's loss on fixed real and fake batches falls after D steps alone, and the
    generator's loss against a fixed D falls after G steps alone."""
    tr = GANTrainer2D(RING[0], lr=2e-3)
    real = torch.from_numpy(RING[0][:256])
    fake = tr.model.sample(256, torch.Generator().manual_seed(0)).detach()
    from diffusion_core.networks.rivals2d import d_loss, g_loss
    D, G = tr.model.discriminator, tr.model.generator
    before = d_loss(D(real), D(fake)).item()
    for _ in range(40):
        loss = d_loss(D(real), D(fake))
        tr.opt_d.zero_grad()
        loss.backward()
        tr.opt_d.step()
    assert d_loss(D(real), D(fake)).item() < 0.8 * before
    z = torch.randn(256, 2, generator=torch.Generator().manual_seed(1))
    g_before = g_loss(D(G(z))).item()
    for _ in range(40):
        loss = g_loss(D(G(z)))
        tr.opt_g.zero_grad()
        loss.backward()
        tr.opt_g.step()
    assert g_loss(D(G(z))).item() < g_before
    d, g = tr.one_step()  # the trainer's own step runs both, R1 included
    assert np.isfinite(d) and np.isfinite(g)
    tr2 = GANTrainer2D(RING[0], r1=1.0, spectral_norm=True, d_steps=2)
    assert all(np.isfinite(tr2.one_step()))


def test_a_short_race_measures_all_three():
    pts, labels = RING
    centres, radius = modes_of("ring of 8 Gaussians", pts, labels)
    race = Race(make_schedule("cosine", 1000), pts, labels, centres, radius, diffusion_steps=10)
    race.steps(20)
    row = measure_race(race, 300)
    for m in ("diffusion", "gan", "vae"):
        assert row[m]["modes"] == 8 and row[m]["distance"] > 0 and len(race.losses[m]) == 1
    assert row["floor"] > 0 and race.step == 20 and race.nbytes > 0
    assert np.isnan(race_stability(race, "gan"))  # one measurement has no spread yet
    race.steps(20)
    measure_race(race, 300)
    assert race_stability(race, "gan") >= 0 and "samples" not in race.history[0] and "samples" in race.history[1]


def test_bad_settings_get_clear_messages():
    pts, labels = RING
    centres, radius = modes_of("ring of 8 Gaussians", pts, labels)
    with pytest.raises(ValueError, match="learning rate"):
        Race(make_schedule("cosine", 1000), pts, labels, centres, radius, lr={"diffusion": 1e-2, "gan": 10.0, "vae": 1e-3})
    with pytest.raises(ValueError, match="beta"):
        VAETrainer2D(pts, beta=1e6)
    tr = GANTrainer2D(pts, lr=1e-3)
    with torch.no_grad():
        for p in tr.model.discriminator.parameters():
            p.fill_(float("nan"))  # what a runaway learning rate leaves behind
    with pytest.raises(DivergedError, match="diverged"):
        tr.one_step()
