"""Metrics against closed forms and toy point clouds with a known answer."""
import numpy as np
import pytest

from diffusion_core.evaluation.metrics import (
    frechet_distance, frechet_distance_features, knn_radii, mean_pairwise_distance, precision_recall,
    within_class_diversity,
)


def test_frechet_distance_of_diagonal_gaussians_has_closed_form():
    a, b = np.array([1.0, 4.0, 0.25]), np.array([2.0, 1.0, 1.0])
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    expected = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-10)


def test_frechet_distance_is_rotation_invariant_and_zero_on_itself():
    rng = np.random.default_rng(0)
    m = rng.normal(size=(5, 5))
    s1 = m @ m.T + np.eye(5)
    s2 = np.diag(rng.uniform(0.5, 2, 5))
    q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    d = frechet_distance(mu1, s1, mu2, s2)
    assert frechet_distance(q @ mu1, q @ s1 @ q.T, q @ mu2, q @ s2 @ q.T) == pytest.approx(d, rel=1e-9)
    assert frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-9)
    # and it does not depend on the order of the non-commuting matrices
    assert frechet_distance(mu2, s2, mu1, s1) == pytest.approx(d, rel=1e-9)


def test_frechet_distance_from_samples_converges():
    rng = np.random.default_rng(1)
    x = rng.normal(0, 1, size=(20000, 3))
    y = rng.normal(0.5, 2, size=(20000, 3))
    expected = 3 * 0.25 + 3 * (1 - 2) ** 2
    assert frechet_distance_features(x, y) == pytest.approx(expected, rel=0.03)


def test_knn_radii_on_a_line():
    x = np.array([[0.0], [1.0], [3.0], [6.0]])
    np.testing.assert_allclose(knn_radii(x, 1), [1, 1, 2, 3])
    np.testing.assert_allclose(knn_radii(x, 2), [3, 2, 3, 5])


def test_precision_recall_on_toy_clouds():
    rng = np.random.default_rng(2)
    real = rng.normal(size=(500, 2))
    # identical distribution: both high
    p, r = precision_recall(real, rng.normal(size=(500, 2)), k=3)
    assert p > 0.9 and r > 0.9
    # mode collapse onto one tight cluster at the centre: precise, but recalls little
    collapsed = rng.normal(scale=0.05, size=(500, 2))
    p, r = precision_recall(real, collapsed, k=3)
    assert p > 0.95 and r < 0.2
    # far away: neither
    p, r = precision_recall(real, rng.normal(size=(500, 2)) + 20, k=3)
    assert p == 0.0 and r == 0.0
    # half the samples off-manifold: precision about one half
    mixed = np.concatenate([rng.normal(size=(250, 2)), rng.normal(size=(250, 2)) + 20])
    p, _ = precision_recall(real, mixed, k=3)
    assert p == pytest.approx(0.5, abs=0.06)


def test_exact_precision_recall_on_a_hand_checked_example():
    real = np.array([[0.0, 0], [1, 0], [0, 1], [1, 1]])  # k=1 radius of every real point is 1
    fake = np.array([[0.5, 0.5], [5.0, 5.0]])
    p, r = precision_recall(real, fake, k=1)
    assert p == 0.5  # (0.5, 0.5) is within 1 of a real point; (5, 5) is not
    # fake k=1 radius: distance between the two fakes (~6.36); every real point is within it of (0.5, 0.5)
    assert r == 1.0


def test_diversity():
    pts = np.array([[0.0, 0], [3, 4]])
    assert mean_pairwise_distance(pts) == pytest.approx(5.0)
    feats = np.array([[0.0], [2.0], [10.0], [10.0]])
    assert within_class_diversity(feats, np.array([0, 0, 1, 1])) == pytest.approx(1.0)
