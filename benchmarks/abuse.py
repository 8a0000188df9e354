"""What a public Space must survive, tried over the real HTTP API against `python app.py` in its own
process (issue "Hardening for a public Space"). For each case: what the attacker or the crowd did, what
a normal user meanwhile saw, and the target.

    python benchmarks/abuse.py                 # every case (about 8 minutes on 2 cores)
    python benchmarks/abuse.py --only flood    # one case: flood, uploads, sessions, disk, cpu, links, weights, small, trainings
    python benchmarks/abuse.py --quick         # smaller numbers (what the test suite runs)
"""
from __future__ import annotations

import argparse
import http.client
import io
import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from server import AppServer, default_generate_args  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SPEC = json.dumps({"name": "cosine", "T": 1000, "rescale": False})
CLOSED, CHAIN = "closed form q(x_t | x_0)", "chain of single steps q(x_t | x_{t-1})"
DEFAULT_GEN = default_generate_args()  # the app's default setting, 16 digits
MAXIMAL_GEN = ["mixed 0-9", 2.0, "heun", 0.0, 250, 0, 16, "leading", 0]  # all values the UI allows


# ---------------------------------------------------------------------------- HTTP helpers
def post(url: str, api: str, data: list) -> str:
    """Queue a call of `api`; returns its event id (nothing is read back)."""
    r = httpx.post(f"{url}gradio_api/call/{api}", json={"data": data}, timeout=30)
    r.raise_for_status()
    return r.json()["event_id"]


def call(url: str, api: str, data: list, timeout: float = 120) -> tuple[str, object, float]:
    """Call `api` and read its result stream: (last event: complete / error, its data, seconds)."""
    start = time.perf_counter()
    event_id = post(url, api, data)
    kind, payload = "none", None
    with httpx.stream("GET", f"{url}gradio_api/call/{api}/{event_id}", timeout=timeout) as r:
        for line in r.iter_lines():
            if line.startswith("event:"):
                kind = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and kind in ("complete", "error", "generating"):
                payload = json.loads(line[5:]) if line[5:].strip() not in ("", "null") else None
                if kind in ("complete", "error"):
                    break
    return kind, payload, time.perf_counter() - start


def upload(url: str, name: str, data: bytes) -> dict:
    r = httpx.post(f"{url}gradio_api/upload", files={"files": (name, data)}, timeout=60)
    r.raise_for_status()
    return {"path": r.json()[0], "meta": {"_type": "gradio.FileData"}, "orig_name": name}


def long_get(url: str, n: int) -> tuple[int, str]:
    """GET the page with an n-character query string (httpx refuses to send one that long)."""
    u = urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    conn.request("GET", "/?tab=" + "x" * n)
    r = conn.getresponse()
    return r.status, r.read().decode(errors="replace")


_SEEDS = iter(range(1000, 10**6))  # every measured Generate on a fresh seed: nothing served from the cache


def default_generate(url: str) -> tuple[float, str]:
    """A normal user's Generate at the default setting, on a seed not used before: (seconds to the finished
    run, its status)."""
    kind, data, seconds = call(url, "generate", DEFAULT_GEN[:5] + [next(_SEEDS)] + DEFAULT_GEN[6:], timeout=300)
    return seconds, (data[2] if kind == "complete" and data else f"{kind}: {data}")


def line(case: str, did: str, saw: str, target: str, met: bool | None) -> None:
    verdict = "" if met is None else ("  [target met]" if met else "  [TARGET MISSED]")
    print(f"\n## {case}\n- did: {did}\n- a normal user saw: {saw}\n- target: {target}{verdict}", flush=True)


def rgba_png(k: int, side: int = 6300) -> bytes:
    """A 6300 x 6300 RGBA PNG of ~170 KB (mostly flat), different for each k."""
    a = np.zeros((side, side, 4), np.uint8)
    a[..., 3] = 255
    a[::50, :, :3] = 200
    a[k % side, k % side, 0] = k % 256
    buf = io.BytesIO()
    Image.fromarray(a, "RGBA").save(buf, "PNG")
    return buf.getvalue()


def settle(srv: AppServer, seconds: float) -> list[float]:
    out = []
    for _ in range(int(seconds / 0.5)):
        out.append(srv.rss_mb())
        time.sleep(0.5)
    return out


# ---------------------------------------------------------------------------- cases
def flood(srv: AppServer, n: int) -> None:
    alone, _ = default_generate(srv.url)
    for i in range(n):
        post(srv.url, "generate", MAXIMAL_GEN[:5] + [i] + MAXIMAL_GEN[6:])
    seconds, status = default_generate(srv.url)
    line("1. Fire-and-forget flood", f"{n} POSTs of a maximal generation (Heun, 250 steps, 16 digits), never read; "
         f"then a default Generate", f"done in {seconds:.2f} s (alone, just before: {alone:.2f} s): {status[:80]}",
         "within 5 s of pressing it", seconds <= 5.0)


def uploads(srv: AppServer, n: int, quiet_s: float) -> None:
    """n concurrent /forward calls with a large RGBA PNG each: at 6300 px (159 MB decoded, over the limit:
    refused from the header) and at 5000 px (100 MB decoded: accepted, decoded one at a time)."""
    for side in (6300, 5000):
        base = srv.rss_mb()
        files = [upload(srv.url, f"big{k}.png", rgba_png(k, side)) for k in range(n)]
        peak, results = [base], []
        stop = threading.Event()

        def watch():
            while not stop.is_set():
                peak.append(srv.rss_mb())
                time.sleep(0.1)

        def one(f):
            results.append(call(srv.url, "forward", ["MNIST digit 0 (#1)", f, SPEC, 500, CLOSED, 0.99, 0, False], timeout=600))

        w = threading.Thread(target=watch)
        w.start()
        threads = [threading.Thread(target=one, args=(f,)) for f in files]
        for th in threads:
            th.start()
        gen_s, _ = default_generate(srv.url)
        for th in threads:
            th.join()
        stop.set()
        w.join()
        later = settle(srv, quiet_s)[-1]
        ok = sum(1 for kind, _, _ in results if kind == "complete")
        said = next((str(d)[:110] for kind, d, _ in results if kind == "error"), "")
        line(f"2. Memory from small uploads ({side} px)", f"{n} concurrent /forward calls, each with its own {side} x {side} "
             f"RGBA PNG ({len(rgba_png(0, side)) // 1024} KB)", f"a default Generate meanwhile took {gen_s:.2f} s; {ok} of "
             f"{n} uploads shown{'; the others were told: ' + said if said else ''}; server memory {base:.0f} MB before, "
             f"peak {max(peak):.0f} MB, {later:.0f} MB {quiet_s:.0f} s later",
             "never above 1500 MB; back within 100 MB of the baseline 60 s later",
             max(peak) <= 1500 and later - base <= 100)


def sessions(srv: AppServer, one_shot: int, rounds: int, seconds: float, idle_s: float) -> None:
    from load_test import run_load

    warm = run_load(srv.url, users=4, seconds=10, gen_share=0.3)  # warm-up: every path once
    base = srv.rss_mb()
    lock, done = threading.Lock(), []

    def shots(k):
        for i in range(k):
            kind, _, _ = call(srv.url, "forward", ["MNIST digit 0 (#1)", None, SPEC, i % 1000, CLOSED, 0.99, i, False])
            with lock:
                done.append(kind)

    threads = [threading.Thread(target=shots, args=(one_shot // 8,)) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    after_shots = srv.rss_mb()
    trace = []
    for _ in range(rounds):
        out = run_load(srv.url, users=20, seconds=seconds, gen_share=0.2, memory=srv.rss_mb)
        trace.append((max(out["memory_mb"]), out["memory_mb"][-1], len(out["errors"]), len(out["generate"])))
    end = settle(srv, idle_s)[-1]
    work = srv.work_dir_mb()
    line("3. Memory per session", f"{len(done)} one-shot API sessions, then {rounds} rounds of {seconds:.0f} s of 20 users "
         f"(scrubs and generations), then {idle_s:.0f} s idle",
         f"after warm-up {base:.0f} MB; after the one-shot sessions {after_shots:.0f} MB; rounds (peak, end, errors, "
         f"generations): {trace}; after the idle time {end:.0f} MB; scratch folder {work:.1f} MB "
         f"(warm-up errors: {len(warm['errors'])})",
         "within 150 MB of the baseline after warm-up; the scratch folder within 768 MB (its prune bound)",
         end - base <= 150 and work <= 768)


def disk(srv: AppServer, exports: int) -> None:
    before = srv.work_dir_mb()
    for i in range(exports):  # digits (quick), and a photo every tenth time (its GIF is the large one)
        image = "Photo: coffee" if i % 10 == 0 else "MNIST digit 0 (#1)"
        call(srv.url, "export_gif", [image, None, SPEC, i % 3])
    after = srv.work_dir_mb()
    big = httpx.post(f"{srv.url}gradio_api/upload", files={"files": ("big.bin", b"\0" * (21 * 2**20))}, timeout=120)
    line("4. Disk", f"{exports} forward-process GIF exports (6 distinct: 3 seeds of a digit and of a photo), then a 21 MB upload",
         f"scratch folder {before:.1f} -> {after:.1f} MB; the 21 MB upload got HTTP {big.status_code}",
         "exports overwrite rather than accumulate; uploads over 20 MB refused",
         after - before < 6 * 10 + 5 and big.status_code >= 400)


def cpu(srv: AppServer, n: int) -> None:
    alone, _ = default_generate(srv.url)
    threads = [threading.Thread(target=call, args=(srv.url, "forward", ["Photo: coffee", None, SPEC, 1000, CHAIN, 0.99, i, False]))
               for i in range(n)]
    for th in threads:
        th.start()
    time.sleep(0.2)
    seconds, _ = default_generate(srv.url)
    for th in threads:
        th.join()
    huge = json.dumps({"name": "linear", "T": 100000, "rescale": False})
    r = httpx.post(f"{srv.url}gradio_api/call/plots", json={"data": [huge, [], 500, False]}, timeout=30).json()["event_id"]
    size = len(httpx.get(f"{srv.url}gradio_api/call/plots/{r}", timeout=60).content)
    line("5. Cheap CPU", f"{n} chain-mode requests on the coffee photo at t = 1000; a T = 100000 schedule plot",
         f"a default Generate took {seconds:.2f} s (alone {alone:.2f} s); the plot response is {size / 1e6:.2f} MB",
         "a normal Generate stays fast (within 2x alone + 1 s); the plot small (< 1 MB)",
         seconds <= 2 * alone + 1 and size < 1e6)


RACE = ["ring of 8 Gaussians", 0, 1e-2, 1e-3, 1, False, 0.0, 1e-3, 1.0]  # the race tab's default settings


def trainings(srv: AppServer, n: int, seconds: float) -> None:
    """Item 5 of the walk: one visitor starts `n` long races at once (four run, the rest queue); meanwhile another
    user presses Generate. Trainings share what the generations leave (`traffic.TrainingSlices`)."""
    alone = sorted(default_generate(srv.url)[0] for _ in range(3))[1]
    threads = [threading.Thread(target=call, args=(srv.url, "race_train", RACE + [seconds, "step"], seconds + 120))
               for _ in range(n)]
    for th in threads:
        th.start()
    time.sleep(3.0)  # the races are training
    during = sorted(default_generate(srv.url)[0] for _ in range(3))[1]
    for th in threads:
        th.join()
    line("9. Trainings", f"{n} requests to start {seconds:.0f}-s races at once (one visitor), and another user's default "
         "Generate during them", f"the Generate took {during:.2f} s (median of 3; alone {alone:.2f} s): {during / alone:.2f}x",
         "a default Generate during the races within 2x its time alone", during <= 2 * alone)


def links(srv: AppServer) -> None:
    import shutil as sh

    from playwright.sync_api import sync_playwright

    hostile = "?tab=" + "%5BYour%20session%20has%20expired.%20Click%20here%5D(https://evil.example/login)" \
              "&label=%21%5Bx%5D(https://evil.example/pixel.png)&t=" + "9" * 5000
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=sh.which("chromium"), args=["--no-sandbox", "--disable-gpu"])
        pg = b.new_page()
        fetched = []
        pg.on("request", lambda req: fetched.append(req.url) if urlparse(req.url).hostname == "evil.example" else None)
        pg.goto(srv.url + hostile, wait_until="load")
        pg.wait_for_selector("#url-note .link-note", timeout=60000)
        note = pg.locator("#url-note").inner_text()
        anchors = pg.locator("#url-note a").count() + pg.locator("#url-note img").count()
        b.close()
    line("6. Link injection", "a link whose ?tab= is Markdown for a phishing line and a link, ?label= an image, "
         "?t= 5000 digits", f"the note reads {note[:160]!r}; links or images in it: {anchors}; requests to the "
         f"attacker's host: {len(fetched)}", "no echoed value renders as a link or an image",
         anchors == 0 and not fetched and len(note) < 600)


def weights() -> None:
    tmp = Path(tempfile.mkdtemp())
    shutil.copytree(ROOT / "assets", tmp / "w", ignore=shutil.ignore_patterns("photos"))
    f = tmp / "w" / "dit_mnist.safetensors"
    data = bytearray(f.read_bytes())
    data[2_000_000:4_000_000] = bytes(2_000_000)
    f.write_bytes(bytes(data))
    with AppServer(env={"DIFFUSION_CLASSROOM_WEIGHTS_DIR": str(tmp / "w")}) as srv:
        _, status, _ = call(srv.url, "model_status", [])
        kind, gen, _ = call(srv.url, "generate", DEFAULT_GEN)
    line("7. Silently corrupted weights", "2 MB zeroed inside dit_mnist.safetensors", f"model status: {str(status)[:160]!r}; "
         f"Generate: {kind}: {str(gen)[:100]}", "reported, not used", "sha256" in str(status) and kind == "error")
    meta = json.loads((ROOT / "assets" / "dit_mnist.json").read_text())
    meta["config"]["hidden_size"] = 100_000
    shutil.copy(ROOT / "assets" / "dit_mnist.safetensors", f)
    (tmp / "w" / "dit_mnist.json").write_text(json.dumps(meta))
    with AppServer(env={"DIFFUSION_CLASSROOM_WEIGHTS_DIR": str(tmp / "w")}) as srv:
        times = [call(srv.url, "generate", DEFAULT_GEN)[2] for _ in range(3)]
        peak = srv.peak_rss_mb()
    line("8. An absurd config", "dit_mnist.json with hidden_size 100000; three Generate calls",
         f"each refused in {', '.join(f'{s:.2f} s' for s in times)}; server peak memory {peak:.0f} MB",
         "validated before building, the failure remembered", max(times) < 2 and peak < 1500)
    shutil.rmtree(tmp, ignore_errors=True)


def small(srv: AppServer) -> None:
    four_k = json.dumps({"name": "cosine", "T": 4000, "rescale": False})
    checks = {}
    checks["/forward t = 3000 with T = 4000"] = call(srv.url, "forward", ["MNIST digit 0 (#1)", None, four_k, 3000, CLOSED, 0.99, 0, False])
    huge_t = json.dumps({"name": "linear", "T": 100000, "rescale": False})
    checks["/fix more steps at T = 100000"] = call(srv.url, "fix", [huge_t, "more_steps"])
    nested = "[" * 100000 + "]" * 100000
    checks["/custom_schedule nested JSON"] = call(srv.url, "custom_schedule", [nested, "diffusers scheduler_config.json", None, SPEC])
    checks["/custom_schedule list beta_schedule"] = call(srv.url, "custom_schedule",
                                                           ['{"beta_schedule": ["linear"]}', "diffusers scheduler_config.json", None, SPEC])
    checks["/interpolate seed 10^30"] = call(srv.url, "interpolate", ["7", 10**30, 1, 4])
    long = long_get(srv.url, 70000)
    seen = {k: f"{v[0]}: {str(v[1])[:90]}" for k, v in checks.items()}
    seen["a 70000-character query string"] = f"HTTP {long[0]}: {long[1][:80]}"
    print("\n## 9. Smaller ones")
    for k, v in seen.items():
        print(f"- {k}: {v}")
    ok = (checks["/forward t = 3000 with T = 4000"][0] == "complete" and "t = 3000" in str(checks["/forward t = 3000 with T = 4000"][1])
          and checks["/fix more steps at T = 100000"][0] == "error" and long[0] == 414
          and not any(str(ROOT) in str(v[1]) or "/tmp/" in str(v[1]) for v in checks.values() if v[0] == "error"))
    print(f"- target: each gets a clear message or the right answer, no server paths  [{'target met' if ok else 'TARGET MISSED'}]")


CASES = ("flood", "uploads", "sessions", "disk", "cpu", "links", "weights", "small", "trainings")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", choices=CASES, action="append")
    p.add_argument("--quick", action="store_true", help="smaller numbers (for the test suite)")
    args = p.parse_args()
    only = set(args.only or CASES)
    q = args.quick
    work = Path(tempfile.mkdtemp(prefix="abuse-work-"))
    with AppServer(env={"DIFFUSION_CLASSROOM_WORK_DIR": str(work)}) as srv:
        srv.work_base = work
        print(f"# Abuse benchmark: app.py served after {srv.startup_s:.1f} s, memory {srv.rss_mb():.0f} MB")
        if "flood" in only:
            flood(srv, 6 if q else 20)
        if "uploads" in only:
            uploads(srv, 6 if q else 40, 10 if q else 60)
        if "disk" in only:
            disk(srv, 12 if q else 321)
        if "cpu" in only:
            cpu(srv, 4 if q else 12)
        if "links" in only:
            links(srv)
        if "small" in only:
            small(srv)
        if "trainings" in only:
            trainings(srv, 6, 20 if q else 60)
        if "sessions" in only:
            sessions(srv, 100 if q else 1000, 1 if q else 3, 10 if q else 60, 5 if q else 60)
        print("\nserver still up:", srv.alive())
    if "weights" in only:
        weights()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
