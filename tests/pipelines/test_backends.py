"""The generation backend: one setting chooses it, the local one (the default) never imports ray, and every tab
that runs the DiT (reverse, SDEdit, compare, the tutor tools) asks the process's backend for its generations."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from diffusion_core.pipelines import backends
from diffusion_core.pipelines.serve_config import BACKEND_ENV, ENV, ServeConfig, backend_flag, backend_name, serve_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def restored_backend():
    """Whatever a test chooses, the process's backend afterwards is what it was."""
    before = dict(backends._ACTIVE)
    yield
    backends._ACTIVE.clear()
    backends._ACTIVE.update(before)


def test_the_setting_and_the_flag_choose_the_backend():
    assert backend_name({}) == "local" and backend_name({BACKEND_ENV: " Ray "}) == "ray"
    with pytest.raises(ValueError, match=BACKEND_ENV):
        backend_name({BACKEND_ENV: "cluster"})
    assert backend_flag(["--backend", "RAY", "--other"]) == "ray" and backend_flag([]) is None
    with pytest.raises(SystemExit):
        backend_flag(["--backend", "gpu"])


def test_ray_settings_read_from_the_environment_with_clear_errors():
    config = serve_config({ENV["max_ongoing_requests"]: "128", ENV["num_gpus"]: "1", ENV["fallback"]: "yes",
                           ENV["min_replicas"]: "2", ENV["max_replicas"]: "4"})
    assert (config.max_ongoing_requests, config.num_gpus, config.fallback) == (128, 1.0, True)
    options = config.deployment_options()
    assert options["max_ongoing_requests"] == 128 and options["ray_actor_options"] == {"num_cpus": 2.0, "num_gpus": 1.0}
    assert options["autoscaling_config"]["min_replicas"] == 2 and options["autoscaling_config"]["max_replicas"] == 4
    assert ServeConfig().max_ongoing_requests > 5  # Serve's own default would cap a class at 5 running generations
    for env, bad in ((ENV["num_cpus"], "two"), (ENV["fallback"], "maybe"), (ENV["min_replicas"], "3")):
        with pytest.raises(ValueError, match="DIFFUSION_CLASSROOM_RAY_|replicas"):
            serve_config({env: bad, ENV["max_replicas"]: "2"})


def test_the_local_backend_is_the_default_and_never_imports_ray():
    code = ("import sys; from diffusion_core.pipelines import backends, denoising; from diffusion_core.settings import sampling;"
            "t = denoising.run_trajectory(sampling(steps=1, images=1)); assert t.done;"
            "assert isinstance(backends.active(), backends.LocalBackend);"
            "assert not [m for m in sys.modules if m == 'ray' or m.startswith('ray.')], 'ray was imported'")
    env = {k: v for k, v in os.environ.items() if k != BACKEND_ENV}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]


class Recording:
    """A backend that runs locally and notes which of its calls each tab made."""

    name = "recording"

    def __init__(self):
        self.local, self.calls = backends.LocalBackend(), []

    def __getattr__(self, method):
        def call(*args, **kwargs):
            self.calls.append(method)
            return getattr(self.local, method)(*args, **kwargs)

        return call


def test_every_tab_that_runs_the_dit_goes_through_the_backend(restored_backend, monkeypatch):
    from diffusion_core.app import tutor_tools
    from diffusion_core.app.compare import compare_ui as cui
    from diffusion_core.app.reverse import reverse_ui as rui
    from diffusion_core.data.images_io import digit_choices

    monkeypatch.setattr(rui, "heldout_curve", lambda: (np.array([0, 999]), np.ones(2)))  # one forward pass, not a generation
    recording = backends._ACTIVE["backend"] = Recording()
    runs = list(rui.runs(label="3", guidance=1.5, sampler="ddim", eta=0, steps=2, seed=4, images=1, spacing="trailing",
                         guidance_min_t=0, guidance_max_t=1000))
    assert runs[-1][0].done and recording.calls == ["steps"]
    rui.sdedit_views(digit_choices()[0], "same as the digit", 300, 2, 0, 1.5, 0.0)
    cui.samples_and_costs("5", 7, n=1)
    cui.interpolations("5", 1, 2, frames=2)
    tutor_tools.generate_digits(digit="1", images=1, steps=2)
    assert recording.calls == ["steps", "sdedit", "images", "interpolate", "steps"]


def test_a_backend_that_cannot_serve_says_why_on_every_tab(restored_backend):
    from diffusion_core.app.common import as_message
    from diffusion_core.app.compare import compare_ui as cui
    from diffusion_core.app.reverse import reverse_ui as rui

    reason = "The Ray Serve backend needs ray (ray); install it with `pip install -r requirements-ray.txt`."
    backends._ACTIVE["backend"] = backends.Unavailable(reason)
    for attempt in (lambda: list(rui.runs(steps=2, images=1)), lambda: cui.samples_and_costs("5", 7, n=1),
                    lambda: cui.interpolations("5", 1, 2, frames=2)):
        with pytest.raises(backends.ServingError) as err:
            attempt()
        assert as_message(attempt, err.value).message == reason  # the page shows the reason, not a traceback
    assert "needs ray" in rui.model_status()  # the reverse tab's model line names what runs the generations


def test_choosing_local_says_so(restored_backend):
    assert "this machine" in backends.use("local") and isinstance(backends.active(), backends.LocalBackend)
    with pytest.raises(ValueError, match="backend must be one of"):
        backends.use("spark")
    image, reused = backends.active().images(np.array([3, 4]), 9, fresh=True)
    assert image.shape == (2, 28, 28) and reused == 0.0
