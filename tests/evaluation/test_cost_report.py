"""The cost lab's recorded figures (`evaluation/cost_report.py`): the shipped assets/cost_figures.json passes its
schema, a broken part is left out rather than shown, a missing or foreign file reads as not measured, the remedies
are weighed from the rows, and the training-memory measurement runs in a fresh process."""
import copy
import json

import pytest

from diffusion_core.evaluation import cost_report as cr
from diffusion_core.evaluation.measured_figures import COST_FIGURES, write_figures


@pytest.fixture(scope="module")
def shipped():
    return json.loads(COST_FIGURES.read_text())


def test_the_shipped_figures_pass_the_schema_and_say_where_they_were_measured(shipped):
    assert cr.schema_problems(shipped) == []
    assert cr.read_cost_figures() is not None
    for part in cr.PARTS:
        m = shipped[part]["measured"]
        assert m["machine"] and m["command"].startswith("python benchmarks/cost_lab.py") and m["seconds"] > 0
    samplers = {r["sampler"] for r in shipped["frontier"]["rows"]}
    assert samplers == {"ddpm", "ddim", "dpm++2m", "euler", "heun"}
    passes = [r["passes"] for r in shipped["frontier"]["rows"]]
    assert min(passes) <= 2 and 90 <= max(passes) <= 110
    assert {r["dtype"] for r in shipped["precision"]["rows"]} == {"float32", "bfloat16", "int8"}
    assert {(r["fraction"], r["tuned"]) for r in shipped["pruning"]["rows"]} >= {(0.25, False), (0.25, True), (0.5, False), (0.5, True)}
    assert [r["tokens"] for r in shipped["compute"]["rows"]] == [16, 49, 196]
    assert {r["checkpointing"] for r in shipped["memory"]["rows"]} == {False, True}


def test_a_broken_part_is_left_out_and_a_foreign_file_is_not_read(shipped, tmp_path):
    broken = copy.deepcopy(shipped)
    broken["pruning"]["rows"][0]["accuracy"] = "high"
    del broken["memory"]["measured"]
    path = tmp_path / "cost_figures.json"
    write_figures(path, broken)
    problems = cr.schema_problems(broken)
    assert any("pruning row 0: accuracy" in p for p in problems) and "memory: no measured" in problems
    read = cr.read_cost_figures(path)
    assert "pruning" not in read and "memory" not in read and "frontier" in read
    write_figures(path, {**shipped, "schema": 99})
    assert cr.read_cost_figures(path) is None
    assert cr.read_cost_figures(tmp_path / "missing.json") is None
    path.write_text("{not json")
    assert cr.read_cost_figures(path) is None


def with_times(shipped, fast, int8, pruned):
    """The shipped figures with each remedy's time set, every part's default at 10 ms but the frontier's at 30 (timed
    apart, on a busier machine: it must not tilt the other parts' ratios)."""
    data = copy.deepcopy(shipped)
    data["frontier"]["presets"]["default"]["ms_per_image"] = 30
    data["frontier"]["presets"]["fast"]["ms_per_image"] = fast * 3
    app = data["frontier"]["precision"]
    for r in data["precision"]["rows"]:  # int8 and pruning: their part's step times (per digit, the cached default's 30)
        r["ms_per_guided_step"] = {"int8": int8, app: 10}.get(r["dtype"], 12)
        r["ms_per_image"] = 30
    for r in data["pruning"]["rows"]:
        r["ms_per_guided_step"] = pruned if (r["fraction"], r["tuned"]) == (0.5, True) else 10 if r["fraction"] == 0 else 8
        r["ms_per_image"] = 30
    return data


@pytest.mark.parametrize("times, cheapest", [((5, 9, 9), 0), ((9, 5, 9), 1), ((9, 9, 5), 2)])
def test_the_remedies_are_weighed_from_the_rows(shipped, times, cheapest):
    data = with_times(shipped, *times)
    found = cr.remedies(data)
    assert [r["key"] for r in found] == ["fast", "int8", "pruned"] and cr.cheapest_remedy(data) == cheapest
    assert found[cheapest]["speedup"] == pytest.approx(2.0)  # against its own part's default, 10 ms (the frontier's 30)
    assert [r["base_ms"] for r in found] == [30, 10, 10]
    assert cr.cheapest_remedy({}) is None


def test_the_training_memory_is_measured_in_a_fresh_process_and_checkpointing_keeps_less():
    from diffusion_core.evaluation.train_memory import peak_step_memory

    kept, recomputed = (peak_step_memory(32, on, preset="small") for on in (False, True))
    assert kept["device"] == "cpu" and kept["held_mb"] > 0 and kept["batch"] == 32
    assert 0 < recomputed["step_mb"] < kept["step_mb"] / 2
