"""Start `python app.py` as its own process (as a user would), wait until it serves, and read its
memory from /proc. Used by the benchmarks, the load test and the fault tests.

    with AppServer(env={...}) as srv:
        srv.url, srv.startup_s, srv.rss_mb(), srv.peak_rss_mb(), srv.log()
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def default_generate_args(images: int = 16, seed: int = 0) -> list:
    """The reverse tab's `generate` arguments at the shipped DiT's default setting (its JSON's "sampling"):
    [label, guidance, sampler, eta, steps, seed, images, spacing, guidance_min_t, guidance_max_t]."""
    import json

    s = json.loads((ROOT / "assets" / "dit_mnist.json").read_text())["sampling"]
    return ["mixed 0-9", float(s["guidance"]), s["sampler"], float(s.get("eta", 0.0)), int(s["steps"]), seed, images,
            s["spacing"], float(s.get("guidance_min_t", 0)), float(s.get("guidance_max_t", 1000))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _status_kb(pid: int, field: str) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return float(line.split()[1])
    except OSError:
        pass
    return float("nan")


class AppServer:
    def __init__(self, env: dict | None = None, timeout: float = 90.0):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1",
                    "GRADIO_SERVER_PORT": str(self.port), **(env or {})}
        self.timeout = timeout
        self._log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
        self.proc: subprocess.Popen | None = None
        self.startup_s = float("nan")

    def __enter__(self) -> "AppServer":
        start = time.perf_counter()
        self.proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=self.env, stdout=self._log,
                                     stderr=subprocess.STDOUT)
        while time.perf_counter() - start < self.timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"app.py exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url, timeout=2) as r:
                    if r.status == 200:
                        self.startup_s = time.perf_counter() - start
                        return self
            except OSError:
                time.sleep(0.1)
        self.__exit__(None, None, None)
        raise TimeoutError(f"app.py did not serve within {self.timeout} s:\n{self.log()}")

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def rss_mb(self) -> float:
        return _status_kb(self.proc.pid, "VmRSS") / 1024

    def peak_rss_mb(self) -> float:
        return _status_kb(self.proc.pid, "VmHWM") / 1024

    def work_dir_mb(self) -> float:
        """Size of the server's own scratch folder (its WORK_DIR, `<base>/<pid>`), in MB."""
        import os

        base = Path(self.env.get("DIFFUSION_CLASSROOM_WORK_DIR") or Path(tempfile.gettempdir()) / "diffusion_classroom")
        total = 0
        for dirpath, _, names in os.walk(base / str(self.proc.pid)):
            for n in names:
                try:
                    total += (Path(dirpath) / n).stat().st_size
                except OSError:
                    pass
        return total / 2**20

    def log(self) -> str:
        self._log.flush()
        return Path(self._log.name).read_text(errors="replace")[-4000:]


def stream_timed(url: str, api: str, data: list, timeout: float = 600) -> tuple[float, float, str, str]:
    """POST a queued call, then read its server-sent events to the end, as a remote page does (no polling).
    Returns (seconds to the first streamed frame, seconds to the end, the last event, its data)."""
    import json

    body = json.dumps({"data": data}).encode()
    start = time.perf_counter()
    req = urllib.request.Request(f"{url}gradio_api/call/{api}", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        event_id = json.loads(resp.read())["event_id"]
    first, event, payload = None, "", ""
    with urllib.request.urlopen(f"{url}gradio_api/call/{api}/{event_id}", timeout=timeout) as stream:
        for raw in stream:
            line = raw.decode(errors="replace").strip()
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("generating", "complete", "error"):
                if first is None:
                    first = time.perf_counter() - start
                payload = line[5:].strip()
                if event in ("complete", "error"):
                    break
    return (first if first is not None else float("nan")), time.perf_counter() - start, event, payload


def stream_frame_times(url: str, api: str, data: list, session: str = "benchmark") -> tuple[list[float], list]:
    """Call the streamed endpoint `/api` the way a browser reads it (Gradio's server-sent events, read
    raw: gradio_client's own polling adds up to hundreds of ms per frame on a busy 2-core machine) and
    return (the arrival time of each frame, perf_counter seconds, the request's time first; the frames'
    data). `session` ties calls together like one browser tab (a lab or race made by one call is seen
    by the next)."""
    import json

    import httpx

    base = url.rstrip("/")
    start = time.perf_counter()
    eid = httpx.post(f"{base}/gradio_api/call/{api}", json={"data": data, "session_hash": session}, timeout=60).json()["event_id"]
    times, frames, event = [start], [], None
    with httpx.stream("GET", f"{base}/gradio_api/call/{api}/{eid}", timeout=300) as s:
        for line in s.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("generating", "complete"):
                times.append(time.perf_counter())
                frames.append(json.loads(line[5:]))
            elif event == "error" and line.startswith("data:"):
                raise RuntimeError(f"/{api} failed: {line[5:200]}")
    return times, frames
