"""The one settings object: limits, the model's recommended setting and its presets, old names, and that
every place a setting is entered (the reverse tab's controls, links, the sampling CLI) keeps to the same
limits."""
import math
import re

import pytest

from diffusion_core import settings as st
from diffusion_core.app import view_state as vs

META = {"sampling": {"sampler": "ddpm", "steps": 30, "guidance": 2.0, "guidance_min_t": 700, "guidance_max_t": 900,
                     "spacing": "trailing", "eta": 0.0, "unrelated": 1},
        "sampling_presets": {"fast": {"sampler": "dpm++2m", "steps": 6}}}


def test_the_model_json_gives_the_default_and_a_preset_changes_only_what_it_names():
    default = st.sampling(META)
    assert default.recipe() == {k: v for k, v in META["sampling"].items() if k in st.SAMPLING_KEYS}
    fast = st.sampling(META, "fast")
    assert (fast.sampler, fast.steps, fast.guidance, fast.guidance_min_t, fast.guidance_max_t) == ("dpm++2m", 6, 2.0, 700, 900)
    assert st.sampling(None).recipe() == st.FALLBACK  # a model without a JSON setting
    old = st.sampling({"sampling": {"guidance_min_t": 500}})  # a JSON from before the two-sided interval
    assert (old.guidance_min_t, old.guidance_max_t) == (500, st.FALLBACK["guidance_max_t"])
    with pytest.raises(ValueError, match="fast"):  # names what the model has
        st.sampling(META, "slow")


def test_given_values_override_the_preset_and_none_keeps_it():
    s = st.sampling(META, "fast", steps=8, guidance=None, label="7", images="3")
    assert (s.steps, s.guidance, s.label, s.images) == (8, 2.0, "7", 3)


def test_old_names_are_read_as_the_new_ones():
    assert st.sampling(guide_from=300).guidance_min_t == 300
    assert st.sampling(n_images=5).images == 5
    view, notes = vs.parse_query({"tab": "reverse", "guide_from": "300"})
    assert view == {"tab": "reverse", "guidance_min_t": 300} and notes == []


@pytest.mark.parametrize("name, value", [("steps", 0), ("steps", 251), ("steps", "abc"), ("guidance", -0.5),
                                         ("guidance", math.inf), ("eta", 1.5), ("images", 17), ("seed", -1),
                                         ("seed", 2**31), ("guidance_min_t", 1001), ("guidance_max_t", -10),
                                         ("guidance_max_t", 1001), ("sampler", "plms"),
                                         ("spacing", "odd"), ("label", "11"), ("steps", None)])
def test_out_of_range_values_are_refused_with_the_setting_named(name, value):
    with pytest.raises(ValueError, match=re.escape(st.LIMITS[name].named())):
        st.check(name, value)


def test_an_empty_guidance_interval_is_refused_with_a_message():
    with pytest.raises(ValueError, match="interval is empty"):
        st.sampling(guidance_min_t=700, guidance_max_t=300)
    with pytest.raises(ValueError, match="interval is empty"):
        st.with_values(st.sampling(guidance_max_t=300), guidance_min_t=400)
    assert st.sampling(guidance_min_t=300, guidance_max_t=300).guidance_max_t == 300  # one timestep is an interval


def test_numbers_are_rounded_to_their_kind():
    assert st.check("steps", "12.4") == 12 and isinstance(st.check("steps", 12.6), int)
    assert st.check("guidance", "2.5") == 2.5
    s = st.with_values(st.sampling(), steps=7.0, sampler="heun")
    assert (s.steps, s.sampler) == (7, "heun")


def test_links_keep_to_the_same_limits():
    for name, lim in st.LIMITS.items():
        if lim.kind == "choice":
            assert vs.parse_query({name: lim.choices[-1]})[0] == {name: lim.choices[-1]}
            assert vs.parse_query({name: "nonsense"})[0] == {}
        elif name != "seed":  # the seed is every tab's own field
            assert vs.parse_query({name: str(lim.high)})[0] == {name: lim.high}
            over = lim.high + (1 if lim.kind == "int" else lim.step)
            assert vs.parse_query({name: str(over)})[0] == {}


def test_the_sampling_cli_refuses_what_the_limits_refuse(tmp_path, capsys):
    from diffusion_core import sample

    assert sample.sample_main(["--n", "2", "--steps", "251", "--out", str(tmp_path / "x.npz")]) == 2
    assert "Steps must be between 1 and 250" in capsys.readouterr().err
    assert sample.sample_main(["--n", "2", "--steps", "2", "--preset", "nope", "--out", str(tmp_path / "x.npz")]) == 2
    assert not (tmp_path / "x.npz").exists()


def test_the_reverse_tab_controls_have_the_limits_ranges():
    import gradio as gr

    from diffusion_core.app.reverse import reverse_tab

    with gr.Blocks():
        tab = reverse_tab.build_reverse_tab()
    assert set(tab.controls) == set(st.LIMITS)
    for name, control in tab.controls.items():
        lim = st.LIMITS[name]
        if lim.kind == "choice":
            assert [c[0] for c in control.choices] == list(lim.choices), name
        elif isinstance(control, gr.Slider):
            assert (control.minimum, control.maximum, control.step) == (lim.low, lim.high, lim.step), name
        else:
            assert (control.minimum, control.maximum) == (lim.low, lim.high), name
