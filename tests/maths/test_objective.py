"""The training objective's Min-SNR weights, against an independent computation."""


def test_min_snr_weights_follow_hang_et_al():
    """min(SNR, gamma) / SNR per timestep (Hang et al. 2023), computed independently from alpha_bar."""
    import numpy as np

    from diffusion_core.maths.schedules import make_schedule
    from diffusion_core.maths.objective import loss_weights

    s = make_schedule("cosine", 1000)
    ab = np.asarray(s.alphas_cumprod)
    snr = ab / (1 - ab)
    w = loss_weights(s, "min-snr", 5.0).numpy()
    np.testing.assert_allclose(w, np.minimum(snr, 5.0) / snr, rtol=1e-6)
    assert (w[snr <= 5.0] == 1.0).all() and w[0] < 1e-3
    assert (loss_weights(s, "none").numpy() == 1.0).all()
