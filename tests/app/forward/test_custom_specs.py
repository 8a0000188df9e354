"""The researcher's path through a custom schedule (issue 32, items 11-13): the CSV export numbers t as the app
does, a pasted diffusers config keeps its beta_schedule name and its prediction type, and the checks judge the
schedule against what the model predicts."""
import json

from diffusion_core.app.forward import custom_specs as cs
from diffusion_core.app.forward import forward_ui as fui
from diffusion_core.maths.schedule_checks import check_schedule
from diffusion_core.maths.schedules import make_schedule


def test_11_the_csv_export_numbers_t_from_0_to_t_minus_1_as_the_app_does(tmp_path):
    s = make_schedule("linear", 250)
    rows = s.to_csv().strip().splitlines()
    assert rows[1].split(",")[0] == "0" and rows[-1].split(",")[0] == "249"
    assert float(rows[250].split(",")[3]) == s.alpha_bar(249)  # row "249" holds the app's t = 249
    path = fui.export_csv(fui.named_spec("linear", 250, False))
    assert open(path).read().splitlines()[-1].startswith("249,")


def test_12_a_pasted_scaled_linear_config_exports_as_scaled_linear():
    config = {"_class_name": "PNDMScheduler", "beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012,
              "num_train_timesteps": 1000}
    spec, msg = cs.custom_schedule(json.dumps(config), "diffusers scheduler_config.json", None)
    exported = json.loads(open(fui.export_config(spec)).read())
    assert exported["beta_schedule"] == "scaled_linear" and "no beta_schedule name" not in exported["_comment"]
    assert exported["trained_betas"] == json.loads(spec)["betas"]


def test_13_a_v_prediction_config_is_kept_shown_and_checked_against():
    config = {"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012, "rescale_betas_zero_snr": True,
              "prediction_type": "v_prediction", "timestep_spacing": "trailing"}
    spec, msg = cs.custom_schedule(json.dumps(config), "diffusers scheduler_config.json", None)
    assert "prediction_type v_prediction" in msg and "`prediction_type`" not in msg  # read, not 'not used'
    from diffusion_core.app.forward import forward_lab as lab
    schedule = lab.schedule_from_spec(spec)
    assert schedule.prediction_type == "v_prediction" and "v_prediction" in lab.spec_label(json.loads(spec))
    advice = " ".join(f.fix for f in check_schedule(schedule))
    assert "Train with v-prediction" not in advice
    eps = make_schedule("scaled_linear", 1000, rescale_zero_snr=True)  # the same betas for an eps-prediction model
    assert any("v-prediction" in f.fix for f in check_schedule(eps))
    assert json.loads(open(fui.export_config(spec)).read())["prediction_type"] == "v_prediction"
    fixed = json.loads(fui.apply_fix(spec, "more_steps")) if fui.checks(spec)[2] else json.loads(spec)
    assert fixed.get("prediction_type") == "v_prediction"  # a one-click fix keeps it
