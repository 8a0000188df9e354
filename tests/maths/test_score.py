"""The exact score of noised point sets, the 2D data, the sliced Wasserstein distance, the live trainer and
the samplers on particles: against finite differences, closed forms and the data-vs-data floor."""
import numpy as np
import pytest
import torch

from diffusion_core.data.points2d import PRESETS, checked_points, parse_points_csv, preset_points
from diffusion_core.evaluation.distance2d import distance_and_floor, sliced_wasserstein
from diffusion_core.maths.schedules import make_schedule
from diffusion_core.maths.score import ExactDenoiser, eps_from_score, mixture_log_density, mixture_score, score_from_eps
from diffusion_core.pipelines.particles import particle_paths, score_error
from diffusion_core.training.train_2d import DivergedError, Trainer2D

SCHEDULE = make_schedule("cosine", 1000)


@pytest.mark.parametrize("alpha_bar", [0.02, 0.5, 0.97])
def test_the_mixture_score_is_the_gradient_of_the_log_density(alpha_bar):
    rng = np.random.default_rng(0)
    centres, x = rng.normal(size=(40, 2)) * 1.5, rng.normal(size=(25, 2)) * 2
    h = 1e-5
    fd = np.stack([(mixture_log_density(x + h * e, centres, alpha_bar) - mixture_log_density(x - h * e, centres, alpha_bar)) / (2 * h)
                   for e in np.eye(2)], 1)
    np.testing.assert_allclose(mixture_score(x, centres, alpha_bar), fd, rtol=1e-5, atol=1e-6)


def test_one_gaussian_component_has_the_textbook_score():
    """One data point c: p_t = N(sqrt(ab) c, (1 - ab) I), score (sqrt(ab) c - x) / (1 - ab)."""
    c, x, ab = np.array([[1.0, -2.0]]), np.array([[0.3, 0.4], [-1.0, 2.0]]), 0.3
    np.testing.assert_allclose(mixture_score(x, c, ab), (np.sqrt(ab) * c - x) / (1 - ab))
    np.testing.assert_allclose(score_from_eps(eps_from_score(x, ab), ab), x)
    with pytest.raises(ValueError):
        mixture_score(x, c, 1.0)


def test_the_density_integrates_to_one_in_2d():
    g = np.linspace(-6, 6, 241)
    gx, gy = np.meshgrid(g, g)
    p = np.exp(mixture_log_density(np.stack([gx.ravel(), gy.ravel()], 1), np.array([[0.5, 0.5], [-1, 0]]), 0.6))
    assert abs(p.sum() * (g[1] - g[0]) ** 2 - 1) < 1e-3


def test_the_ode_on_the_exact_score_carries_noise_to_the_data():
    """DDIM eta = 0 (the probability-flow ODE) with the ideal denoiser: samples as close to the data as a
    second draw of the data is (the floor)."""
    pts, labels = preset_points("two moons", 1000, 0)
    run = particle_paths(ExactDenoiser(SCHEDULE, pts, labels, null_label=8), SCHEDULE, "ddim", 30, 0.0, n=1000, seed=0)
    m = distance_and_floor(run["paths"][-1], lambda n, s: preset_points("two moons", n, s)[0])
    assert run["paths"].shape == (31, 1000, 2) and m["ratio"] < 1.5, m


def test_sliced_wasserstein_of_a_shift_and_of_itself():
    a = np.random.default_rng(0).normal(size=(3000, 2))
    assert sliced_wasserstein(a, a) == 0
    shift = np.array([0.6, -0.8])  # |c| = 1: E_theta (theta . c)^2 = 1/2
    assert abs(sliced_wasserstein(a, a + shift, projections=2000) - np.sqrt(0.5)) < 0.02
    assert abs(sliced_wasserstein(a, a[:1000] + shift, projections=2000) - np.sqrt(0.5)) < 0.05


def test_presets_and_user_points_are_checked():
    for name in PRESETS:
        pts, labels = preset_points(name, 500, 1)
        assert pts.shape == (500, 2) and np.isfinite(pts).all() and np.abs(pts).max() < 4 and labels.max() < 8
    for bad, words in [([[0, 0]], "at least 2"), (np.zeros((0, 2)), "at least 2"), ([[0, 0], [np.nan, 1]], "not numbers"),
                       ([[1, 1], [1, 1]], "one place"), ([[0, 0], [50, 0]], "within"), (np.zeros((30_000, 2)), "At most")]:
        with pytest.raises(ValueError, match=words):
            checked_points(bad)
    pts, labels = parse_points_csv("x,y,label\n0,0,1\n1,1,2\n0.5,-1,1\n")
    assert pts.shape == (3, 2) and list(labels) == [1, 2, 1]
    for text, words in [("0,0\n1,nan\n", "not numbers"), ("0,0\n1,1,2,3\n", "Row 2"), ("0,0\n__import__('os'),1\n", "Row 2"),
                        ("\n".join(["0,1"] * 1_000_001), "too large|At most"), ("0,0,1.5\n1,1,0\n", "whole numbers")]:
        with pytest.raises(ValueError, match=words):
            parse_points_csv(text)


def test_training_learns_the_score_at_mid_t():
    """After 1500 steps on the ring, the learned score's relative error where the data lives is small at
    mid t (stated tolerance: 10% at t = 500), and the loss fell."""
    pts, labels = preset_points("ring of 8 Gaussians", 2000, 0)
    tr = Trainer2D(SCHEDULE, pts, labels, lr=1e-2)
    first = tr.steps(50)
    while tr.step < 1500:
        tr.steps(250)
    assert tr.losses[-1][1] < first
    assert score_error(tr.eps, pts, SCHEDULE, 500) < 0.10


def test_a_diverging_run_is_stopped_and_rolled_back():
    pts, labels = preset_points("two moons", 200, 0)
    tr = Trainer2D(SCHEDULE, pts, labels, lr=1e-2)
    tr.steps(5)
    with torch.no_grad():
        tr.model.out.weight.mul_(1e12)  # what a far too large step does
    before = {k: v.clone() for k, v in tr.model.state_dict().items()}
    with pytest.raises(DivergedError, match="lower the learning rate"):
        tr.steps(5)
    after = tr.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # the slice's updates are undone
    assert tr.step == 5
    with pytest.raises(ValueError):
        Trainer2D(SCHEDULE, pts, labels, lr=5.0)
