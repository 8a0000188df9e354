"""Shareable views (URL query <-> dict, whitelisted) and the lessons that use them."""
import json
import math

import pytest

from diffusion_core.app.learn import lessons as ls
from diffusion_core.app import view_state as vs
from diffusion_core.app.forward import custom_specs as cs


def parse(query: str):
    from urllib.parse import parse_qsl

    return vs.parse_query(dict(parse_qsl(query)))


def test_query_round_trip():
    view = {"tab": "reverse", "schedule": "linear", "T": 500, "t": 40, "seed": 7, "sampler": "heun", "label": "3",
            "steps": 12, "guidance": 2.5, "guidance_min_t": 400, "spacing": "trailing", "images": 4, "digit": 9,
            "eta": 0.5, "rescale": True, "mode": "chain", "alpha": 0.995, "compare": ["cosine", "sigmoid"],
            "strip": "log_snr", "frames": 6, "same_scale": True, "log_beta": False, "samples": 5, "lesson": 3,
            "image": "Photo: coffee", "sdedit": True}
    back, notes = parse(vs.to_query(view))
    assert back == view and notes == []


def test_a_custom_schedule_travels_in_a_link_exactly():
    betas = [0.0001, 0.0002, 0.0003, 0.0004, 0.0005, 0.01, 0.02, 0.05, 0.1, 0.2]
    query = vs.to_query(cs.link_view({"name": "custom", "betas": betas, "label": "pasted"}, t=7))
    back, notes = parse(query)
    assert back["betas"] == betas and back["t"] == 7 and notes == [] and len(query) < 200
    long = [0.0001 + 1e-6 * k for k in range(vs.MAX_LINK_BETAS + 1)]
    assert "betas" not in cs.link_view({"name": "custom", "betas": long})  # too long for a link: left out
    applied = cs.resolve_view(back)
    assert '"name": "custom"' in applied["spec"] and applied["t"] == 7


@pytest.mark.parametrize("name", ["cosine", "linear", "scaled_linear", "sigmoid", "random"])
def test_a_long_custom_schedule_travels_in_a_link_under_2_kb_with_its_name_and_prediction_type(name):
    """A 1000-step schedule's exact betas are ~10 KB of query; packed as rounded log-betas they fit in 2 KB
    (to about 6 significant digits for a smooth curve, 4 for random betas), with the legend's name."""
    import numpy as np

    from diffusion_core.maths.schedules import make_schedule

    rng = np.random.default_rng(0)
    betas = list(np.sort(rng.uniform(1e-4, 0.02, 1000)) if name == "random" else make_schedule(name, 1000).betas)
    spec = {"name": "custom", "betas": betas, "label": f"config: {name}", "prediction_type": "v_prediction"}
    query = vs.to_query(cs.link_view(spec, t=700, seed=3))
    assert len(query) < 2000
    back, notes = parse(query)
    assert notes == [] and back["custom_name"] == f"config: {name}" and back["prediction"] == "v_prediction"
    np.testing.assert_allclose(back["betas"], betas, rtol=1e-4 if name == "random" else 1e-6)
    applied = json.loads(cs.resolve_view(back)["spec"])
    assert applied["label"] == f"config: {name}" and applied["prediction_type"] == "v_prediction"


@pytest.mark.parametrize("packed", ["~27" + "A" * 50, "~99eNo", "~1", "~25" + vs._b64(b"\xff" * 100),
                                    vs._b64(bytes(8 * vs.MAX_LINK_BETAS + 8)), "~15" + vs._b64(vs._varints([10**9] * 5))])
def test_a_hostile_packed_schedule_is_refused(packed):
    view, notes = vs.parse_query({"betas": packed})
    assert view == {} and len(notes) == 1
    for bad in ("abc", "eJzLSM3JyVcozy/KSQEAGgQEXQ", vs.pack_betas([float("nan")])):
        assert parse(f"betas={bad}")[0] == {}


@pytest.mark.parametrize("params, note", [
    ({"tab": "admin"}, "'tab=admin' is not one of"),
    ({"t": "-1"}, "outside"),
    ({"steps": "9999"}, "outside"),
    ({"guidance": "nan"}, "outside"),
    ({"guidance_min_t": "1001"}, "outside"),
    ({"T": "0"}, "outside"),
    ({"t": "100001"}, "outside"),
    ({"compare": "cosine,linear,sigmoid"}, "up to two"),
    ({"rescale": "maybe"}, "not 0 or 1"),
    ({"seed": "__import__('os')"}, "not a number"),
    ({"label": "<script>"}, "not one of"),
    ({"evil": "1"}, "unknown setting 'evil'"),
])
def test_bad_values_are_ignored_with_a_note(params, note):
    view, notes = vs.parse_query(params)
    assert view == {} and len(notes) == 1 and note in notes[0]


def test_gradio_parameters_pass_silently_and_links_keep_the_page():
    view, notes = vs.parse_query({"__theme": "dark", "t": "5"})
    assert view == {"t": 5} and notes == []
    link = vs.share_link("http://host:7860/app?tab=learn#x", {"tab": "forward", "t": 5, "sampler": None})
    assert link == "http://host:7860/app?tab=forward&t=5"
    assert vs.share_link(None, {"t": 5}) == "?t=5"


def test_resolve_makes_the_schedule_spec_and_clamps_t():
    v = cs.resolve_view({"schedule": "linear", "T": 50, "t": 400})
    assert v["t"] == 49 and '"name": "linear"' in v["spec"] and '"T": 50' in v["spec"]
    assert "spec" not in cs.resolve_view({"tab": "reverse"})


def test_every_lesson_is_complete_and_its_view_is_valid():
    assert len(ls.LESSONS) == 11 and sum(lesson.minutes for lesson in ls.LESSONS) == 48
    for i, lesson in enumerate(ls.LESSONS):
        assert "$" in lesson.body, f"lesson {lesson.key} has no equation"
        answer = lesson.right_answer()
        assert 0 <= answer < len(lesson.choices)
        view, notes = parse(vs.to_query(lesson.view))
        assert notes == [] and view == lesson.view and view["tab"] in vs.TABS
        right = ls.reveal(i, lesson.choices[answer])
        wrong = ls.reveal(i, lesson.choices[(answer + 1) % len(lesson.choices)])
        assert right.startswith(f"**Right**: {lesson.choices[answer]}.") and wrong.startswith("**Not quite**") and lesson.choices[answer] in wrong
        assert "Then: " + lesson.look_for in right and lesson.look_for[0].isupper()
    assert ls.reveal(0, None).startswith("Make a prediction")


def test_reveals_quote_the_real_schedule():
    from diffusion_core.maths.schedules import make_schedule

    ab = make_schedule("cosine", 1000).alpha_bar(500)
    assert f"{ab:.3f}" in ls.reveal(0, "about 50%")
    lin = make_schedule("linear", 1000).alpha_bar(600)
    assert f"{lin:.4f}" in ls.reveal(1, "linear") and not math.isnan(lin)


def test_only_a_view_that_opens_a_tab_lets_its_follow_ups_run():
    """Links and lessons generate on the reverse / compare tab only when the view itself opens it; the
    check stops the chain with an error the page does not show."""
    import gradio as gr

    from diffusion_core.app.common import view_lands_on

    check = view_lands_on("reverse")
    assert check('{"tab": "reverse", "steps": 4}') is None
    for other in ('{"tab": "forward"}', "{}", "", "not json", "[1, 2]"):
        with pytest.raises(gr.Error) as err:
            check(other)
        assert err.value.visible is False


def test_the_comparison_reveal_reads_the_dits_schedule_and_survives_a_broken_config(tmp_path, monkeypatch):
    """It counts the guided steps on the measured setting's grid, from the shipped config read by
    `pretrained.read_meta`; a broken config gives the general sentence, not a traceback."""
    from diffusion_core.app.learn import lesson_reveals
    from diffusion_core.evaluation.comparison import read_report

    s = read_report()["models"]["dit"]["sampling"]
    assert f"Its default runs {s['steps']} steps" in lesson_reveals.explain_comparison()
    (tmp_path / "dit_mnist.json").write_text('{"config": ')
    monkeypatch.setattr(lesson_reveals, "ASSETS_DIR", tmp_path)
    assert lesson_reveals.explain_comparison().startswith("Diffusion: one evaluation per step")
