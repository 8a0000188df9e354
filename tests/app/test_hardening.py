"""A public Space's limits (issue "Hardening for a public Space"): unread jobs dropped, one generation
per session, bounded decode memory, bounded run memory, exports that overwrite, scratch folders that
are cleaned, work capped per request, escaped link notes, checked weights and configs, and the small
ones. Each test failed before the change it covers."""
import asyncio
import io
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import numpy as np
import pytest
from gradio_client import Client
from PIL import Image

from diffusion_core.app.forward import forward_lab as lab
from diffusion_core.app.forward import forward_ui as fui
from diffusion_core import paths
from diffusion_core.networks import pretrained as pt
from diffusion_core.pipelines import denoising as rl
from diffusion_core.app.forward.forward_plots import schedule_figures
from diffusion_core.data.images_io import ImageError, load_upload
from diffusion_core.maths.schedules import make_schedule
from diffusion_core.app.trajectory_store import TrajectoryStore
from diffusion_core.app.view_state import parse_query
from diffusion_core.app import traffic

ROOT = paths.ROOT
SPEC = json.dumps({"name": "cosine", "T": 1000, "rescale": False})
CLOSED = "closed form q(x_t | x_0)"


# ---------------------------------------------------------------------------- floods
def test_unread_jobs_leave_the_queue_after_the_grace_time(monkeypatch):
    monkeypatch.setattr(traffic, "GRACE_S", 0.05)
    heard = SimpleNamespace(session_hash="a" * 32, _id="1" * 32, enqueue_time=time.monotonic() - 1)
    unheard = SimpleNamespace(session_hash="b" * 32, _id="2" * 32, enqueue_time=time.monotonic() - 1)
    fresh = SimpleNamespace(session_hash="c" * 32, _id="3" * 32, enqueue_time=time.monotonic() + 60)
    eq = SimpleNamespace(queue=[heard, unheard, fresh])
    removed = []

    async def clean_events(event_id):
        removed.append(event_id)
        eq.queue = [e for e in eq.queue if e._id != event_id]

    queue = SimpleNamespace(event_queue_per_concurrency_id={"generate": eq}, clean_events=clean_events)
    traffic.STREAMS.opened(heard.session_hash)
    try:
        async def run():
            task = asyncio.create_task(traffic.drop_unheard(queue, every_s=0.01))
            await asyncio.sleep(0.1)
            task.cancel()

        th = threading.Thread(target=asyncio.run, args=(run(),))  # a loop of its own (the browser tests hold one)
        th.start()
        th.join(10)
    finally:
        traffic.STREAMS.closed(heard.session_hash)
    assert removed == [unheard._id] and [e._id for e in eq.queue] == [heard._id, fresh._id]


def test_a_newer_run_of_a_session_replaces_the_older():
    runs = traffic.SessionRuns()
    with runs.claim("s1") as first:
        with runs.claim("s2") as other, runs.claim("s1") as second:
            assert first.replaced and not second.replaced and not other.replaced
            assert runs.running() == 2
    assert runs.running() == 0


def test_fire_and_forget_generations_are_dropped_over_http(app_url):
    """POSTs to /call/generate that nobody reads never run to their end: the server is soon idle again."""
    before = rl.active_runs()
    for i in range(3):
        r = httpx.post(f"{app_url}gradio_api/call/generate", json={"data": ["mixed 0-9", 2.0, "heun", 0.0, 250, i, 16, "leading", 0]})
        assert r.status_code == 200
    deadline = time.time() + 3 * traffic.GRACE_S + 10
    while time.time() < deadline and rl.active_runs() > before:
        time.sleep(0.2)
    time.sleep(traffic.GRACE_S + 0.5)
    assert rl.active_runs() == before, "unread generations kept the sampler busy"
    status = Client(app_url, verbose=False).predict("7", 2.0, "ddim", 0, 5, 0, 2, "leading", 0, api_name="/generate")[2]
    assert "Done: 5 steps" in status


def test_a_rest_client_with_its_own_session_hash_gets_its_result(app_url):
    """A REST call that names its session (as a page's does) and reads its /call stream is heard: it runs to its end
    (it used to be taken for a page that had gone, and answered nulls after GRACE_S)."""
    data = ["7", 2.0, "ddim", 0.0, 4, 3, 2, "leading", 0, 1000]
    event = httpx.post(f"{app_url}gradio_api/call/generate", json={"data": data, "session_hash": "rest-client-1"}).json()["event_id"]
    last = ""
    with httpx.stream("GET", f"{app_url}gradio_api/call/generate/{event}", timeout=120) as s:
        for line in s.iter_lines():
            if line.startswith("data:"):
                last = line
    assert "Done: 4 steps" in last


# ---------------------------------------------------------------------------- memory and disk
def test_a_large_rgba_png_decodes_within_a_bounded_memory(tmp_path):
    """A 5000 x 5000 RGBA PNG (~100 KB): shrunk in its own mode before any conversion. Measured in a fresh
    process: the peak over the baseline stays near the 100 MB of decoded pixels (it was ~450 MB)."""
    a = np.zeros((5000, 5000, 4), np.uint8)
    a[..., 3], a[::50, :, :3] = 255, 200
    Image.fromarray(a, "RGBA").save(tmp_path / "big.png")
    del a
    code = ("import resource, sys; from diffusion_core.data.images_io import load_upload; "
            "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; x = load_upload(sys.argv[1]); "
            "print(x.shape, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024)")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "big.png")], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[:3] == ["(512,", "512,", "1)"]
    assert float(out[-1]) < 260, f"decoding took {out[-1]} MB above the baseline"


def test_an_image_too_large_once_decoded_is_refused_before_decoding():
    im = Image.new("RGBA", (6300, 6300))  # 159 MB decoded, under the 40-megapixel limit
    buf = io.BytesIO()
    im.save(buf, "PNG")
    start = time.perf_counter()
    with pytest.raises(ImageError, match="MB once decoded"):
        load_upload(buf.getvalue())
    assert time.perf_counter() - start < 1.0


def test_the_run_store_stays_within_its_bytes():
    store = TrajectoryStore(max_bytes=10_000)
    handles = [store.put(SimpleNamespace(nbytes=3_000)) for _ in range(10)]
    assert store.nbytes() <= 10_000 and len(store) == 3
    assert store.get(handles[0]) is None and store.get(handles[-1]) is not None
    assert store.get("not-a-handle") is None and store.get(None) is None


def test_exports_overwrite_instead_of_piling_up():
    a, b = fui.export_csv(SPEC), fui.export_csv(SPEC)
    assert a == b and Path(a).is_file()
    assert fui.export_csv(json.dumps({"name": "linear", "T": 100, "rescale": False})) != a
    g1, g2 = fui.export_forward_gif("Photo: coffee", None, SPEC, 3, frames=4), fui.export_forward_gif("Photo: coffee", None, SPEC, 3, frames=4)
    assert g1 == g2


def test_prune_and_reset_keep_the_scratch_folders_bounded(tmp_path, monkeypatch):
    for k in range(5):
        f = tmp_path / "cache" / f"d{k}" / "f.bin"
        f.parent.mkdir(parents=True)
        f.write_bytes(b"x" * 1000)
        os.utime(f, (1000 + k, 1000 + k))
    freed = paths.prune(tmp_path / "cache", max_bytes=2500, max_age_s=1e12)
    assert freed == 3000 and paths.folder_bytes(tmp_path / "cache") == 2000
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["d3", "d4"]  # the newest kept
    assert paths.prune(tmp_path / "cache", max_bytes=10**9, max_age_s=60) == 2000  # and old ones go
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / "base" / str(dead.pid)).mkdir(parents=True)
    (tmp_path / "base" / "old.gif").write_bytes(b"gif")
    (tmp_path / "base" / str(os.getppid())).mkdir()  # a running process's folder stays
    monkeypatch.setattr(paths, "WORK_BASE", tmp_path / "base")
    monkeypatch.setattr(paths, "WORK_DIR", tmp_path / "base" / str(os.getpid()))
    monkeypatch.setattr(paths, "EXPORT_DIR", paths.WORK_DIR / "exports")
    monkeypatch.setattr(paths, "UPLOAD_DIR", paths.WORK_DIR / "gradio")
    paths.reset_work_dir()
    assert sorted(p.name for p in (tmp_path / "base").iterdir()) == sorted([str(os.getppid()), str(os.getpid())])


def test_uploads_over_the_stated_limit_are_refused(app_url):
    r = httpx.post(f"{app_url}gradio_api/upload", files={"files": ("big.png", b"\0" * (21 * 2**20))}, timeout=60)
    assert r.status_code == 413


# ---------------------------------------------------------------------------- cpu
def test_a_chain_runs_on_a_bounded_copy_of_a_photo():
    photo = fui.get_image("Photo: coffee", None)
    small = lab.chain_input(photo)
    assert photo.size > lab.CHAIN_MAX_VALUES >= small.size and small.shape[2] == 3
    assert lab.chain_input(photo[:28, :28, :1]) is not None and lab.chain_input(photo[:28, :28, :1]).shape == (28, 28, 1)
    np.testing.assert_allclose(small.mean(), photo[: small.shape[0] * 4, : small.shape[1] * 4].mean(), atol=1e-3)


def test_the_plot_of_a_huge_schedule_stays_small():
    figs = schedule_figures([("linear", make_schedule("linear", 100000))], 500)
    assert sum(len(fig.to_json()) for fig in figs) < 1_000_000
    assert all(len(tr.x) <= 1000 for fig in figs for tr in fig.data)
    cos = make_schedule("cosine", 5000)
    beta = schedule_figures([("cosine", cos)])[0].data[0]
    assert beta.x[-1] == 4999 and beta.y[-1] == pytest.approx(cos.betas[-1])  # the last step is always drawn


# ---------------------------------------------------------------------------- links
def test_link_notes_are_short_and_escaped_text():
    import app

    view, notes = parse_query({"tab": "[Click here](https://evil.example)" + "x" * 5000, "t": "9" * 5000,
                               **{f"bogus{k}": "1" for k in range(9)}})
    assert view == {} and len(notes) == 6 and notes[-1] == "and 6 more"
    html = app.link_note(notes)
    assert len(html) < 1000 and "<a" not in html and "](" in html  # the text is there, as text
    assert "&lt;" in app.link_note(["<img src=x onerror=alert(1)>"])


def test_an_overlong_link_gets_a_short_414(app_url):
    import http.client
    from urllib.parse import urlparse

    u = urlparse(app_url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    conn.request("GET", "/?tab=" + "x" * 70000)
    r = conn.getresponse()
    assert r.status == 414 and "too long" in r.read().decode()


# ---------------------------------------------------------------------------- weights
@pytest.fixture()
def weights_copy(tmp_path):
    d = tmp_path / "w"
    shutil.copytree(ROOT / "assets", d, ignore=shutil.ignore_patterns("photos", "*.csv", "*.md"))
    return d


def test_a_silently_damaged_weights_file_is_refused(weights_copy):
    f = weights_copy / "dit_mnist.safetensors"
    data = bytearray(f.read_bytes())
    data[2_000_000:4_000_000] = bytes(2_000_000)  # the header and the size are intact
    f.write_bytes(bytes(data))
    with pytest.raises(pt.WeightsError, match="sha256"):
        pt.load_pretrained("dit", assets_dir=weights_copy)


def test_every_shipped_weights_file_records_its_checksum():
    for kind, stem in pt.FILE_NAMES.items():
        meta = json.loads((ROOT / "assets" / f"{stem}.json").read_text())
        assert meta["sha256"] == pt.file_sha256(ROOT / "assets" / f"{stem}.safetensors"), kind


def test_an_absurd_config_is_refused_at_once_and_the_failure_remembered(weights_copy, monkeypatch):
    meta_path = weights_copy / "dit_mnist.json"
    meta = json.loads(meta_path.read_text())
    meta["config"]["hidden_size"] = 100_000
    meta_path.write_text(json.dumps(meta))
    built = []
    real_build = pt.build_model
    monkeypatch.setattr(pt, "build_model", lambda *a: built.append(a) or real_build(*a))
    start = time.perf_counter()
    with pytest.raises(pt.WeightsError, match="hidden_size"):
        pt.load_pretrained("dit", assets_dir=weights_copy)
    with pytest.raises(pt.WeightsError, match="hidden_size"):
        pt.load_pretrained("dit", assets_dir=weights_copy)
    assert time.perf_counter() - start < 2 and not built  # refused before building anything
    meta["config"]["hidden_size"], meta["config"]["depth"] = 2048, 64  # within each limit, 3 G parameters
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(pt.WeightsError, match="parameters"):
        pt.load_pretrained("dit", assets_dir=weights_copy)  # the file changed: tried again
    meta_path.write_text(json.dumps({**meta, "config": json.loads((ROOT / "assets" / "dit_mnist.json").read_text())["config"]}))
    assert pt.load_pretrained("dit", assets_dir=weights_copy).model.config.hidden_size == 128


# ---------------------------------------------------------------------------- the smaller ones
def test_api_numbers_are_checked_against_the_real_range(app_url):
    c = Client(app_url, verbose=False)
    four_k = json.dumps({"name": "cosine", "T": 4000, "rescale": False})
    _, md, ab = c.predict("MNIST digit 0 (#1)", None, four_k, 3000, CLOSED, 0.99, 0, api_name="/forward")
    assert "t = 3000" in md and ab == pytest.approx(make_schedule("cosine", 4000).alpha_bar(3000), abs=1e-5)
    c.predict("7", 2.0, "ddim", 0, 40, 0, 2, "leading", 0, api_name="/generate")
    *_, caption = c.predict(30, api_name="/scrub")
    assert "Step 30 of 40" in caption


def test_schedule_text_odd_shapes_get_clear_messages():
    from diffusion_core.maths.schedule_io import from_diffusers_config

    with pytest.raises(ValueError, match="nested too deeply"):
        from_diffusers_config("[" * 100000 + "]" * 100000)
    with pytest.raises(ValueError, match="beta_schedule 'list' is not supported"):
        from_diffusers_config('{"beta_schedule": ["linear"]}')
    with pytest.raises(ValueError, match="timestep_spacing"):
        from_diffusers_config('{"timestep_spacing": {"a": 1}}')


def test_interpolation_seeds_are_bounded():
    from diffusion_core.app.compare import compare_ui as cui

    with pytest.raises(ValueError, match="Seed A must be a whole number"):
        cui.interpolations("7", 10**30, 1, 4)
    with pytest.raises(ValueError, match="Seed B"):
        cui.interpolations("7", 0, float("inf"), 4)


def test_the_app_starts_without_the_sample_digits(tmp_path, monkeypatch):
    import app
    from diffusion_core.app.compare import compare_ui as cui
    from diffusion_core.data import images_io

    monkeypatch.setattr(images_io, "ASSETS_DIR", tmp_path)
    images_io.sample_digits.cache_clear()
    try:
        assert images_io.digit_choices() == [] and images_io.image_choices()[0].startswith("Photo")
        app.build_demo()
        assert "sample_digits.npz is missing" in cui.startup_notice()
    finally:
        images_io.sample_digits.cache_clear()


def test_messages_name_no_absolute_server_path(weights_copy):
    (weights_copy / "dit_mnist.safetensors").unlink()
    with pytest.raises(pt.WeightsError) as err:
        pt.load_pretrained("dit", assets_dir=weights_copy)
    assert str(weights_copy) not in str(err.value) and "dit_mnist.safetensors" in str(err.value)
    assert paths.shown_path(ROOT / "assets" / "x.json") == "assets/x.json"
    assert paths.shown_path("/srv/secret/place/x.json") == "x.json"


def test_the_launch_options_bound_the_server():
    import app

    demo = app.build_demo()
    opts = traffic.launch_options(demo)
    assert opts["max_file_size"] == "20mb" and 30 <= opts["state_session_capacity"] <= 300
    assert traffic.QUEUE_OPTIONS["max_size"] > 0
