"""The Cost tab's handlers (`app/cost/cost_ui.py`) and lesson 11: every figure shown is the recorded one, each
section names the machine it was measured on, a missing record says what to run, the lesson's answer follows the
figures, and bad input gets a sentence."""
import copy
import json

import pytest

from diffusion_core.app.cost import cost_ui
from diffusion_core.app.learn import lessons as ls
from diffusion_core.evaluation import cost_report
from diffusion_core.evaluation.measured_figures import COST_FIGURES


@pytest.fixture(scope="module")
def shipped():
    return json.loads(COST_FIGURES.read_text())


def test_the_view_shows_the_recorded_figures_with_their_machine(shipped):
    out = cost_ui.recorded_view()
    assert len(out) == cost_ui.OUTPUTS and all(x is not None for x in out)
    source, acc, fd, frontier, precision, pruning, flops, ms, compute, memory_fig, memory = out
    f = shipped["frontier"]
    default = f["presets"]["default"]
    assert f"{100 * default['accuracy']:.1f}%" in frontier and f"{default['frechet_ratio_to_floor']:.2f}x" in frontier
    assert f["measured"]["machine"] in frontier and f"N = {f['measured']['n']}" in frontier
    assert len(acc.data) == len({r["sampler"] for r in f["rows"]}) + 2 + 2  # samplers, GAN and VAE, two presets
    for row in shipped["precision"]["rows"]:
        assert f"{row['ms_per_guided_step']:.1f}" in precision and f"{100 * row['accuracy']:.1f}%" in precision
    assert all(f"{r['parameters'] / 1e6:.2f} M" in pruning for r in shipped["pruning"]["rows"])
    assert all(f"| {r['tokens']} ({r['patch_size']}) |" in compute for r in shipped["compute"]["rows"])
    assert all(f"| {r['batch']} |" in memory for r in shipped["memory"]["rows"])
    for text in (frontier, precision, pruning, compute, memory):
        assert "Measured on " in text and "[@" not in text
    assert shipped["command"] in source


def test_a_missing_record_says_what_to_run(monkeypatch):
    monkeypatch.setattr(cost_ui, "read_cost_figures", lambda: None)
    out = cost_ui.recorded_view()
    assert out[0] == cost_ui.NOT_RECORDED and "benchmarks/cost_lab.py --record" in out[0]
    assert out[1] is None and out[4] == ""


def test_a_record_that_cannot_be_drawn_opens_as_not_recorded(shipped, monkeypatch):
    broken = copy.deepcopy(shipped)
    del broken["frontier"]["rows"][0]["passes"]  # a hand-edited file: the page is built anyway
    monkeypatch.setattr(cost_ui, "read_cost_figures", lambda: broken)
    with pytest.raises(KeyError):
        cost_ui.recorded_view()
    assert cost_ui.opening_view() == cost_ui.EMPTY_VIEW
    monkeypatch.setattr(cost_ui, "read_cost_figures", lambda: shipped)
    assert cost_ui.opening_view()[0] == cost_ui.recorded_view()[0]


@pytest.mark.parametrize("times, answer", [((5, 9, 9), 0), ((9, 5, 9), 1), ((9, 9, 5), 2)])
def test_lesson_11_answers_from_the_figures(shipped, monkeypatch, times, answer):
    data = copy.deepcopy(shipped)  # every part's default at 10 ms, each remedy at its time
    data["frontier"]["presets"]["default"]["ms_per_image"] = 10
    data["frontier"]["presets"]["fast"]["ms_per_image"] = times[0]
    for r in data["precision"]["rows"]:  # int8 and pruning are timed per guided step in their own part
        r["ms_per_guided_step"] = {"int8": times[1], data["frontier"]["precision"]: 10}.get(r["dtype"], 20)
    for r in data["pruning"]["rows"]:
        r["ms_per_guided_step"] = times[2] if (r["fraction"], r["tuned"]) == (0.5, True) else 10 if r["fraction"] == 0 else 20
    monkeypatch.setattr(cost_report, "read_cost_figures", lambda: data)
    lesson = ls.LESSONS[10]
    assert lesson.key == "cost" and lesson.right_answer() == answer
    text = ls.reveal(10, lesson.choices[answer])
    assert text.startswith(f"**Right**: {lesson.choices[answer]}.") and f"{times[answer]:.2f} ms" in text and data["frontier"]["measured"]["machine"] in text


@pytest.mark.parametrize("args, message", [(("x", 0, 8), "digit from 0 to 9"), (("3", -1, 8), "seed"),
                                           (("3", 0, 99), "between"), (("3", 0, 2, "slow"), "Choose a preset")])
def test_bad_input_gets_a_sentence(args, message):
    with pytest.raises(ValueError, match=message):
        cost_ui.live_precisions(*args)
