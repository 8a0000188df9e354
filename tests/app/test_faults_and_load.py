"""`python app.py` as its own process: with corrupt or missing DiT weights it still starts, says
what is wrong, and the forward/schedule lab still works; and a scaled-down load test (the full one
is `python benchmarks/load_test.py --users 20 --seconds 60`) finishes with no errors."""
import shutil
import sys

import pytest
from gradio_client import Client

from diffusion_core import paths

ROOT = paths.ROOT
sys.path.insert(0, str(ROOT / "benchmarks"))
from load_test import run_load, summary  # noqa: E402
from server import AppServer  # noqa: E402

SPEC = '{"name": "cosine", "T": 1000, "rescale": false}'
MODE = "closed form q(x_t | x_0)"


def weights_dir(tmp_path, fault):
    d = tmp_path / "weights"
    shutil.copytree(ROOT / "assets", d, ignore=shutil.ignore_patterns("photos"))
    target = d / "dit_mnist.safetensors"
    if fault == "corrupt":
        target.write_bytes(target.read_bytes()[:1000])
    else:
        target.unlink()
    return d


@pytest.mark.slow
@pytest.mark.parametrize("fault, words", [("corrupt", "corrupt or truncated"), ("missing", "is missing")])
def test_broken_dit_weights_leave_the_forward_lab_working(tmp_path, fault, words):
    with AppServer(env={"DIFFUSION_CLASSROOM_WEIGHTS_DIR": str(weights_dir(tmp_path, fault))}) as srv:
        print(f"app.py with {fault} DiT weights served after {srv.startup_s:.1f} s")
        c = Client(srv.url, verbose=False)
        status = c.predict(api_name="/model_status")
        assert "could not be loaded" in status and words in status.lower() and "forward-process tab still works" in status
        _, md, _ = c.predict("MNIST digit 0 (#1)", None, SPEC, 400, MODE, 0.99, 0, api_name="/forward")
        assert "t = 400" in md
        with pytest.raises(Exception, match=words):
            c.predict("7", 3, "ddim", 0, 5, 0, 2, "leading", api_name="/generate")
        assert srv.alive()
        assert "could not be loaded" in srv.log()  # said at start, in the server's output too


@pytest.mark.slow
def test_load_scaled_down(capsys):
    with AppServer() as srv:
        out = run_load(srv.url, users=4, seconds=10, gen_share=0.3, memory=srv.rss_mb)
        with capsys.disabled():
            print("\n" + summary(out, 10))
        assert not out["errors"], out["errors"][:5]
        assert out["forward"] and out["generate"]
        assert max(out["memory_mb"]) < 3 * out["memory_mb"][0] + 500  # bounded: no runaway growth
        assert srv.alive()
