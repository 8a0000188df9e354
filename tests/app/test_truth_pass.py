"""The expert fact-check of the lessons, reveals, cards and tab texts (issue 31), one test per finding: each reads
the text a learner sees and checks it against the cited paper's claim, a formula computed here, or the recorded
figures it must quote."""
import json

import numpy as np
import pytest
import torch

from diffusion_core.app.learn import lessons as ls
from diffusion_core.app.learn import sampling_reveals as sr
from diffusion_core.evaluation.measured_figures import dit_figures, read_measured, RACE_FIGURES, TEXT_FIGURES
from diffusion_core.maths.schedules import make_schedule, schedule_from_dict
from diffusion_core.paths import ASSETS_DIR
from diffusion_core.references import cited

LESSON = {lesson.key: i for i, lesson in enumerate(ls.LESSONS)}


def everything(key: str) -> str:
    """A lesson's body, question, reveal (of the right answer) and banner, as the page shows them."""
    i = LESSON[key]
    lesson = ls.LESSONS[i]
    return "\n".join([ls.lesson_markdown(i), ls.reveal(i, lesson.choices[lesson.right_answer()]), ls.look_for_banner(i)])


def dit_card() -> str:
    from diffusion_core import model_cards

    report = json.loads((ASSETS_DIR / "comparison.json").read_text())
    return model_cards.card("dit", json.loads((ASSETS_DIR / "dit_mnist.json").read_text()), report["models"]["dit"], report)


# 1. Guidance in a limited interval: the paper's finding, the two-sided control, measured here.
def test_1_the_guidance_lesson_says_what_the_interval_paper_found():
    text = everything("guidance")
    assert "harmful at the highest noise levels" in text and "unnecessary at the lowest" in text
    assert "only sharpens and narrows" not in text  # the backwards reading
    from diffusion_core.app.reverse.reverse_tab import SETTINGS_HELP
    assert "harmful at the highest noise levels" in SETTINGS_HELP and "Guide only where t ≥ … and t ≤" in SETTINGS_HELP


def test_1_the_interval_is_measured_two_sided_at_n_1000_and_quoted_from_the_record():
    rec = dit_figures("guidance_interval")
    rows = rec["rows"]
    assert all(r["n"] >= 1000 for r in rows) and "--record guidance_interval" in rec["command"]
    two_sided = [r for r in rows if r["guidance"] != 1.0 and 0 < r["guidance_min_t"] and r.get("guidance_max_t", 1000) < 999]
    assert two_sided, "no interval with both ends was measured"
    text = everything("guidance")
    for r in sr.guidance_rows()[1]:
        assert f"Fréchet distance {r['frechet_distance']:.1f}, precision {r['precision']:.2f}, recall {r['recall']:.2f}" in text


# 2. The comparison: budgets shown, a matched-budget DiT, a verdict row by row, settings reported on another seed.
def test_2_the_table_shows_every_models_budget_and_a_dit_at_the_gans_budget():
    from diffusion_core.app.compare.compare_ui import comparison_table

    report = json.loads((ASSETS_DIR / "comparison.json").read_text())
    models = report["models"]
    assert set(models) == {"dit", "dit_matched", "gan", "vae"}
    assert models["dit_matched"]["training"]["images_seen"] == models["gan"]["training"]["images_seen"]
    table = comparison_table(report)
    for row in ("**Training**: images seen", "**Training**: epochs", "**Training**: hardware", "**Training**: wall time"):
        assert row in table
    for m in models.values():
        assert f"{m['training']['images_seen'] / 1e6:.2f} M" in table and m["training_hardware"] in table
    verdict = report["verdict"]
    assert "most realistic" not in verdict and "At equal budget" in verdict and "At the shipped budgets" in verdict
    assert "the highest precision" in verdict and "the highest recall" in verdict


def test_2_the_table_reports_a_seed_no_setting_was_chosen_on():
    report = json.loads((ASSETS_DIR / "comparison.json").read_text())
    chosen_on = {r["seed"] for key in ("sweep_karras", "sweep_ddpm", "default_preset") for r in dit_figures(key)["rows"]}
    assert report["seed"] not in chosen_on


def test_2_the_verdict_names_each_rows_winner_from_the_numbers():
    from diffusion_core.evaluation.comparison import verdict

    def model(fd, p, r, acc):
        return {"model": "x", "frechet_distance": fd, "precision": p, "recall": r, "accuracy": acc, "ms_per_sample_cpu": 1.0,
                "nfe_per_sample": 1, "training_time_s": 60.0, "training_hardware": "CPU",
                "training": {"images_seen": 240000, "epochs": 4}}

    text = verdict({"dit": model(6.0, 0.87, 0.88, 0.99), "gan": model(24.0, 0.84, 0.78, 0.96), "vae": model(31.0, 0.92, 0.69, 0.95)})
    assert "the lowest Fréchet distance: the DiT (6.00" in text and "the highest precision (fidelity): the VAE (0.920" in text


def test_2_stability_is_not_ranked_across_different_losses():
    from diffusion_core.app.compare.compare_ui import ROWS

    for label, _, _, best, meaning in ROWS:
        if "Stability" in label:
            assert best is None
        if "Diversity" in label:
            assert "broken strokes" not in meaning


# 3. Lesson 3: the training weight, the identity, "for this model".
def test_3_the_eps_and_x0_errors_are_tied_by_the_snr():
    from diffusion_core.maths.forward import predict_x0_from_eps, q_sample

    s = make_schedule("cosine", 1000)
    g = torch.Generator().manual_seed(0)
    x0, eps, err = (torch.randn(8, 1, 28, 28, generator=g, dtype=torch.float64) for _ in range(3))
    for t in (0, 100, 261, 700, 999):
        tt = torch.full((8,), t)
        x_t = q_sample(s, x0, tt, eps)
        x0_hat = predict_x0_from_eps(s, x_t, tt, eps + err)
        lhs = (err ** 2).sum()  # ||eps_hat - eps||^2
        rhs = float(s.snr[t]) * ((x0_hat - x0) ** 2).sum()
        assert float(lhs) == pytest.approx(float(rhs), rel=1e-9)


def test_3_the_weight_sentence_is_computed_from_the_models_json_and_schedule():
    meta = json.loads((ASSETS_DIR / "dit_mnist.json").read_text())
    gamma = meta["training"]["snr_gamma"]
    snr = schedule_from_dict(meta["schedule"]).snr
    first_full = next(t for t in range(len(snr)) if min(snr[t], gamma) / snr[t] == 1.0)
    text = everything("objective")
    assert f"t ≥ {first_full}" in text and f"below 1 exactly for t < {first_full}" in text and "for this model" in text
    assert "t >= 262" not in dit_card() and f"t >= {first_full} of 1000" in dit_card()


def test_3_the_eps_mse_figure_shows_the_training_weight_and_the_x0_error():
    from diffusion_core.pipelines import sdedit as sd
    from diffusion_core.networks.loaded import loaded

    pre = loaded("dit")
    ts = np.array([0, 100, 500, 999])
    w = sd.training_weights(pre)[ts]
    fig = sd.eps_mse_figure(ts, np.ones(4), snr=schedule_from_dict(pre.meta["schedule"]).snr[ts], weights=w)
    names = [tr.name for tr in fig.data]
    assert any("training weight" in n for n in names) and any("x0-MSE" in n for n in names)
    assert w[0] < 1 and w[-1] == 1


# 4. The text lesson: the bound's sign, the checkpoint chosen on validation names, the passes.
def test_4_the_negative_elbo_is_the_bound_and_the_twin_is_chosen_on_validation():
    text = everything("text")
    assert "an ELBO is never below the true NLL" not in text and "the negative ELBO is never below the diffusion model's own NLL" in text
    for kind in ("text_ar", "text_mdlm"):
        chosen = json.loads((ASSETS_DIR / f"{kind}.json").read_text())["training"]["selected"]
        assert chosen["split"] == "validation" and chosen["names"] > 1000


def test_4_the_reveal_quotes_both_models_passes_and_times_from_the_record():
    fig = read_measured(TEXT_FIGURES)
    text = everything("text")
    assert f"diffusion {fig['passes']['diffusion']} network passes" in text
    assert f"the twin {fig['passes']['autoregressive']} passes" in text and f"{fig['ms_16_names_ar']:.0f} ms" in text


# 5. Samplers: skipping steps is not DDIM's alone; solvers converge; the spacing confound is said.
def test_5_the_samplers_lesson_says_what_is_true_of_strides_solvers_and_spacing():
    text = everything("samplers")
    assert "so it can skip steps" not in text and "fewer steps, same picture" not in text
    assert "strided sampling works for DDPM too" not in text and "learns its step variances" in text
    assert "every \nODE solver" not in text and "ODE solver, DDIM included, converges to the same image" in text
    assert "for the same number of network evaluations" in text
    row = sr.sampler_rows()[1]
    if row["spacing"] == "leading":
        start, _ = sr.grid_start(row)
        assert f"starts at t = {start:g}" in text


# 6. DDPM vs DDIM at many steps: DDIM's Table 1 has eta = 1 worse at every step count.
def test_6_no_lesson_claims_ddpm_scores_better_than_ddim_at_many_steps():
    for lesson in ls.LESSONS:
        assert "DDPM often scores better than DDIM" not in everything(lesson.key)
    assert "at every step count" in everything("score")


# 7. Citations: the two Song et al. 2021 apart, the reverse SDE's backward time.
def test_7_ddim_and_the_score_sde_paper_are_cited_apart_and_time_runs_backwards():
    assert "Song, Meng & Ermon 2021, eq. 12" in everything("samplers")
    score = everything("score")
    assert "Song et al. 2021, eq. 6" in score and "Song et al. 2021, eq. 13" in score
    assert "dt is a negative time step" in score


# 8. The race reveal: the three costs and the counted evaluations, from the record.
def test_8_the_race_reveal_quotes_every_models_cost_from_the_record():
    fig = read_measured(RACE_FIGURES)
    text = everything("race")
    for key in ("diffusion", "gan", "vae"):
        assert f"{fig['models'][key]['ms_per_step']['mean']:.1f} ± {fig['models'][key]['ms_per_step']['std']:.1f} ms" in text
    assert f"{fig['models']['diffusion']['nfe_per_sample']} network evaluations per diffusion sample" in text


def test_8_the_race_counts_the_evaluations_a_sample_takes():
    from diffusion_core.data.points2d import preset_points
    from diffusion_core.evaluation.coverage2d import modes_of
    from diffusion_core.training.race_2d import Race

    pts, labels = preset_points("ring of 8 Gaussians", 200, 0)
    centres, radius = modes_of("ring of 8 Gaussians", pts, labels)
    race = Race(make_schedule("cosine", 1000), pts, labels, centres, radius, diffusion_steps=7)
    race.samples(10)
    assert race.nfe_per_sample == {"diffusion": 7, "gan": 1, "vae": 1}


# 9. The model card: the depth's cost and the sweeps, from records.
def test_9_the_card_quotes_the_depths_cost_and_the_sweeps_from_records():
    text = dit_card()
    assert "1.3x the compute" not in text
    sizes = {(r["width"], r["depth"]): r for r in dit_figures("sizes")["rows"]}
    ratio = sizes[(128, 8)]["guided_step_ms_16_digits"] / sizes[(128, 6)]["guided_step_ms_16_digits"]
    assert f"8 blocks cost {ratio:.2f}x the time of 6" in text
    for key in ("sweep_karras", "sweep_ddpm", "fast_sweep"):
        assert dit_figures(key)["command"] in text
    assert "no guidance (w = 1)" in text  # the unguided rows the claim rests on


# 10. The smaller ones.
def test_10_the_smaller_findings():
    assert "88,799 surnames" not in everything("text")
    from diffusion_core.settings import LIMITS
    assert "950" not in LIMITS["spacing"].info
    assert "fig. 3" not in everything("schedules") and "fig. 4" in everything("schedules")
    race = everything("race")
    assert "non-saturating" in race and "maximises $\\mathbb{E}\\log D(G(z))$" in race
    assert "not a bound itself" in everything("objective") and "so it is a bound" in everything("text")
    with pytest.raises(ValueError):
        cited("[@nichol2021improved fig. 99]")


# Issue 32, item 8: lesson 5's Show me showed clean, smooth DDPM digits while its reveal said DDPM "leaves noise".
def test_the_samplers_reveal_says_what_the_page_shows_and_the_figures_measure():
    text = everything("samplers")
    ddpm, ddim = sr.sampler_rows()
    assert "too little time to remove" not in text
    for name, r in (("DDPM", ddpm), ("DDIM", ddim)):  # each sampler's figures together, under its own name
        assert (f"{name}: Fréchet distance {r['frechet_distance']:.1f}, precision {r['precision']:.2f}, recall "
                f"{r['recall']:.2f}, {r['accuracy']:.1%} recognised") in text
    assert f"guidance w = {ddim['guidance']:g}" in text
    assert ("smoother and more alike" in text) == (ddpm["recall"] < ddim["recall"])


# The independent expert reader's second pass (review of the rewritten texts).
def test_the_guidance_reveal_counts_the_guided_steps_as_the_recorded_passes_do():
    text = everything("guidance")
    for r in sr.guidance_rows(every_seed=True)[1]:
        guided, _ = sr.guided_steps(r)
        assert guided == r["passes"] - r["steps"]  # the grid's count against the sampler's own count of passes
    for r in sr.guidance_rows()[1]:
        assert f"({sr.guided_steps(r)[0]} of {r['steps']} steps)" in text
    assert "It is not just the number of guided steps" in text


def comparison_entry(precision: float, ms: float, nfe: int) -> dict:
    return {"frechet_distance": 5.0, "precision": precision, "precision_real_floor": 0.898, "recall": 0.8,
            "accuracy": 0.99, "ms_per_sample_cpu": ms, "nfe_per_sample": nfe,
            "training": {"images_seen": 240_000, "epochs": 4.0, "wall_time_s": 600.0}, "training_hardware": "CPU (1 thread)"}


@pytest.mark.parametrize("vae_precision, caveat", [(0.918, True), (0.880, False)])
def test_the_verdict_says_when_the_best_precision_is_above_what_real_digits_score(vae_precision, caveat):
    from diffusion_core.evaluation.comparison import verdict

    models = {"dit": comparison_entry(0.870, 75.0, 40), "gan": comparison_entry(0.839, 0.2, 1),
              "vae": comparison_entry(vae_precision, 0.15, 1)}
    text = verdict(models)
    assert ("above the 0.898 that real digits score" in text) == caveat
    # 500x per sample = 40 passes x 12.5x per pass: both factors are said
    assert "about 500x quicker than the DiT: 40 network passes against 1" in text and "about 12x costlier" in text


def test_a_training_on_two_kinds_of_hardware_shows_each_part_of_its_wall_time():
    from diffusion_core.evaluation.comparison import training_budget, wall_text

    budget = training_budget({"steps": 10, "batch_size": 2, "wall_time_s": 38289.9, "wall_time_parts": [
        {"hardware": "CPU", "what": "stages 1-8", "wall_time_s": 38289.9},
        {"hardware": "NVIDIA H200", "what": "stage 10", "wall_time_s": 330.0}]})
    assert wall_text(budget) == "638 min on CPU (stages 1-8) + 5.5 min on NVIDIA H200 (stage 10)"
    assert wall_text(training_budget({"wall_time_s": 888.4})) == "15 min"


def race_row(modes: dict, near: dict) -> dict:
    return {m: {"modes_hit": modes[m], "modes": 8, "near_share": near[m], "distance": 0.1} for m in modes}


def test_the_race_is_set_beside_the_cited_trilemma_and_says_where_it_differs():
    from diffusion_core.app.race.race_ui import _against_the_trilemma

    nfe = {"diffusion": 100, "gan": 1, "vae": 1}
    text = cited(_against_the_trilemma(race_row({"diffusion": 8, "gan": 5, "vae": 8},
                                                {"diffusion": 0.9, "gan": 0.95, "vae": 0.6}), nfe))
    assert "Xiao et al. 2022, fig. 1" in text and "differs here" not in text and "**gan** (5 of 8" in text
    text = cited(_against_the_trilemma(race_row({"diffusion": 8, "gan": 8, "vae": 6},
                                                {"diffusion": 0.9, "gan": 0.8, "vae": 0.95}), nfe))
    assert text.count("differs here") == 2  # the VAE has the most samples near a mode and the fewest modes
