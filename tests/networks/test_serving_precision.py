"""The precision the app serves at (`runtime.serving_precision`, DIFFUSION_CLASSROOM_SERVE_PRECISION): int8 on a CPU
makes the shared batcher run the cost lab's int8 copy, float32 forces float32, auto keeps bf16 where the CPU has it,
and a bad value is refused with a sentence by the setting and by `python app.py`."""
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from diffusion_core.networks import runtime
from diffusion_core.networks.precision import int8_available, precision_net
from diffusion_core.networks.pretrained import load_pretrained
from diffusion_core.paths import ROOT
from diffusion_core.pipelines.generation import app_batcher, generate_dit
from diffusion_core.pipelines.variant_sampling import generate_variant
from diffusion_core.settings import sampling


def test_the_setting_chooses_the_precision(monkeypatch):
    monkeypatch.setenv(runtime.SERVE_PRECISION_ENV, "int8")
    assert runtime.serving_precision("cpu") == "int8" and "int8" in runtime.device_name("cpu")
    assert runtime.serving_precision("cuda") != "int8"  # no GPU kernels for the dynamic quantization
    monkeypatch.setenv(runtime.SERVE_PRECISION_ENV, "float32")
    assert runtime.serving_precision("cpu") == "float32" and "bf16" not in runtime.device_name("cpu")
    monkeypatch.setenv(runtime.SERVE_PRECISION_ENV, "")
    assert runtime.serving_precision("cpu") == ("bfloat16" if runtime.uses_bf16("cpu") else "float32")


def test_a_bad_value_is_refused_with_a_sentence(monkeypatch):
    monkeypatch.setenv(runtime.SERVE_PRECISION_ENV, "<b>int4</b>")
    with pytest.raises(ValueError, match="must be one of auto, float32, int8"):
        runtime.serve_precision_setting()
    assert runtime.serving_precision("cpu") in ("bfloat16", "float32")  # a library caller gets the default
    env = {**os.environ, runtime.SERVE_PRECISION_ENV: "int4", "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
    run = subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode != 0 and "must be one of auto, float32, int8" in run.stderr and "Traceback" not in run.stderr


@pytest.mark.skipif(not int8_available(), reason="this torch has no int8 dynamic quantization")
def test_int8_serving_runs_the_int8_copy_through_the_shared_batcher(monkeypatch):
    pre = load_pretrained("dit")
    x, t, y = torch.randn(6, 1, 28, 28, generator=torch.Generator().manual_seed(0)), torch.full((6,), 600), torch.arange(6)
    monkeypatch.setenv(runtime.SERVE_PRECISION_ENV, "int8")
    int8_batcher = app_batcher(pre, "cpu")
    with torch.no_grad():  # the same call, so the same activation scales (dynamic quantization scales per call)
        assert torch.equal(int8_batcher.net(x, t, y), precision_net(pre.model, "int8")(x, t, y))
        assert not torch.equal(int8_batcher.net(x, t, y), precision_net(pre.model, "float32")(x, t, y))
    s = sampling(pre.meta, steps=4)
    served = generate_dit(pre, np.arange(6) % 10, 3, s, "cpu", app_precision=True, fresh=True)
    assert served.shape == (6, 1, 28, 28) and bool(torch.isfinite(served).all())
    monkeypatch.setenv(runtime.SERVE_PRECISION_ENV, "float32")
    assert app_batcher(pre, "cpu") is not int8_batcher  # one batcher per precision
    full = generate_dit(pre, np.arange(6) % 10, 3, s, "cpu", app_precision=True, fresh=True)
    assert torch.equal(full, generate_variant(precision_net(pre.model, "float32"), pre, np.arange(6) % 10, 3, s))
    assert not torch.equal(served, full)
