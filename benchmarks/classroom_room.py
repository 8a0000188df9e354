"""One class in one room, against `python app.py` in its own process on this machine (issue "A class, not 30
strangers"). Each follower does what a student's page does: it waits on the room's long poll
(`GET /classroom/events`) and, on a change, runs the panel's one Gradio event (`/class_sync`), which returns
the page's new state (the teacher's view to apply, the poll, the histogram). The teacher acts through the
panel's API (`/class_push`, `/class_poll`, `/class_reveal`), as its buttons do.

    python benchmarks/classroom_room.py                    # 30 followers, 60 s idle
    python benchmarks/classroom_room.py --followers 10 --idle-s 20

Prints, with the targets:
- push: time from the teacher's push to the last follower's page state holding the new view (<= 2 s);
- idle: the server's CPU with every follower waiting, over `--idle-s` seconds (<= 10% of one core), and the
  Gradio events run meanwhile (0: nothing runs while a class is idle);
- poll: every follower answers a poll at once, then the teacher reveals: time from Reveal to the teacher's
  histogram (<= 1 s), to the last follower's, and from the last answer to the teacher's count of all answers.
The figures include the followers' own HTTP clients, which run on the same machine as the server.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from server import AppServer  # noqa: E402

from diffusion_core.app.classroom.classroom_ui import PANEL  # noqa: E402
from diffusion_core.app.classroom.lesson_polls import poll_titles  # noqa: E402
from diffusion_core.app.learn.lessons import LESSONS  # noqa: E402

SECRET, CODE, SEEN = PANEL.index("secret"), PANEL.index("code"), PANEL.index("seen")


def call(base: str, api: str, data: list, client: httpx.Client, session: str = "teacher") -> list:
    """One event of the panel through Gradio's REST API (outside the queue, as the page runs it), in the
    session of one page (its answer's choices are the ones its last redraw showed)."""
    reply = client.post(f"{base}gradio_api/run/{api}", json={"data": data, "session_hash": session}, timeout=60)
    body = reply.json()
    if reply.status_code != 200 or "data" not in body:
        raise RuntimeError(f"/{api}: {reply.status_code} {str(body)[:200]}")
    return body["data"]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


class Follower(threading.Thread):
    """A student's page: the long poll, and one `/class_sync` per change, its results time-stamped."""

    def __init__(self, base: str, code: str, k: int):
        super().__init__(daemon=True)
        self.base, self.code, self.http, self.session = base, code, httpx.Client(), f"follower-{k}"
        out = call(base, "class_join", [code, f"follower {k}", "", ""], self.http, self.session)
        self.token, self.seen, self.since = out[SECRET], {}, ""
        self.states: list[tuple[float, list]] = []  # (perf_counter, the sync's outputs)
        self.syncs, self.errors, self.stop = 0, [], threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                r = self.http.get(f"{self.base}classroom/events", params={"room": self.code, "since": self.since},
                                  headers={"X-Classroom-Secret": self.token}, timeout=40)
                change = r.json().get("change")
                if r.status_code != 200:
                    self.errors.append(f"{r.status_code} {r.text[:100]}")
                    return
                if change != self.since:
                    first = self.since == ""
                    self.since = change
                    if not first:
                        out = call(self.base, "class_sync", [self.code, self.token, self.seen], self.http, self.session)
                        self.syncs += 1
                        self.seen = out[SEEN] or self.seen
                        self.states.append((time.perf_counter(), out))
            except Exception as exc:  # noqa: BLE001 - every failure is counted and shown
                if not self.stop.is_set():
                    self.errors.append(repr(exc)[:160])
                    time.sleep(1)

    def first_state(self, after: float, holds) -> float | None:
        return next((t for t, out in list(self.states) if t >= after and holds(out)), None)


def wait_all(followers, after: float, holds, timeout: float = 30.0) -> list[float | None]:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        times = [f.first_state(after, holds) for f in followers]
        if all(t is not None for t in times):
            return times
        time.sleep(0.01)
    return [f.first_state(after, holds) for f in followers]


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def measure_push(base, code, key, followers, http) -> None:
    start = time.perf_counter()
    call(base, "class_push", [code, key, json.dumps({"tab": "forward", "t": 613, "seed": 3})], http)
    times = wait_all(followers, start, lambda out: '"t": 613' in str(out[-1]))
    got = [t - start for t in times if t is not None]
    late = max(got) if len(got) == len(followers) else float("inf")
    print(f"push -> every follower's page state: median {sorted(got)[len(got) // 2]:.3f} s, last {late:.3f} s "
          f"({len(got)} of {len(followers)}; target <= 2 s: {verdict(late <= 2)})")


def cpu_share(pid: int, seconds: float) -> float:
    """The server's CPU time over `seconds` of wall time, as a share of one core."""
    cpu, start = cpu_seconds(pid), time.perf_counter()
    time.sleep(seconds)
    return (cpu_seconds(pid) - cpu) / (time.perf_counter() - start)


def measure_idle(pid, followers, seconds: float, alone: float) -> None:
    syncs = sum(f.syncs for f in followers)
    share = cpu_share(pid, seconds)
    print(f"idle: server CPU {100 * share:.1f}% of one core over {seconds:.0f} s with {len(followers)} followers waiting "
          f"(target <= 10%: {verdict(share <= 0.10)}); the same server with no class: {100 * alone:.1f}%; "
          f"Gradio events meanwhile: {sum(f.syncs for f in followers) - syncs}")


def measure_poll(base, code, key, followers, http) -> None:
    start = time.perf_counter()
    call(base, "class_poll", [code, key, poll_titles()[0], "", "", {}], http)
    asked = wait_all(followers, start, lambda out: "class-question" in str(out[PANEL.index("poll_html")]))
    print(f"poll opened -> last follower shows it: {max(t for t in asked if t) - start:.3f} s")
    threads, done = [], []

    def answer(f, k):
        call(base, "class_answer", [code, f.token, f.seen, LESSONS[0].choices[k % 2], None], f.http, f.session)
        done.append(time.perf_counter())

    for k, f in enumerate(followers):
        threads.append(threading.Thread(target=answer, args=(f, k)))
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    counted = None
    while time.perf_counter() - t0 < 30:
        out = call(base, "class_sync", [code, key, {}], http)
        if f"{len(followers)} answered" in str(out[PANEL.index("presence")]):
            counted = time.perf_counter()
            break
        time.sleep(0.05)
    print(f"{len(followers)} answers sent in {max(done) - t0:.3f} s; the teacher's count shows all "
          f"{(counted - max(done)) if counted else float('nan'):.3f} s after the last")
    start = time.perf_counter()
    out = call(base, "class_reveal", [code, key, {}], http)
    teacher = time.perf_counter() - start
    shown = f"{len(followers)} answers from the class" in str(out[PANEL.index("results")])
    times = wait_all(followers, start, lambda o: "class-histogram" in str(o[PANEL.index("results")]))
    last = max((t for t in times if t), default=float("nan")) - start
    print(f"reveal -> the teacher's histogram: {teacher:.3f} s ({'with' if shown else 'WITHOUT'} all answers; target <= 1 s: "
          f"{verdict(teacher <= 1 and shown)}); -> the last follower's: {last:.3f} s")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--followers", type=int, default=30)
    p.add_argument("--idle-s", type=float, default=60.0)
    args = p.parse_args()
    db = Path(tempfile.mkdtemp()) / "rooms.sqlite3"
    load = os.getloadavg()[0]
    print(f"# one room, {args.followers} followers; load average before the start {load:.1f} on {os.cpu_count()} cores")
    with AppServer(env={"DIFFUSION_CLASSROOM_DB": str(db), "DIFFUSION_CLASSROOM_MCP": "0"}) as srv:
        http = httpx.Client()
        time.sleep(5.0)  # the page's start-up work is done
        alone = cpu_share(srv.proc.pid, min(args.idle_s, 20.0))
        out = call(srv.url, "class_start", [], http)
        code, key = out[CODE], out[SECRET]
        followers = [Follower(srv.url, code, k) for k in range(args.followers)]
        for f in followers:
            f.start()
        time.sleep(1.0)  # every follower waits
        measure_push(srv.url, code, key, followers, http)
        time.sleep(1.0)
        measure_idle(srv.proc.pid, followers, args.idle_s, alone)
        measure_poll(srv.url, code, key, followers, http)
        errors = [e for f in followers for e in f.errors]
        print(f"errors: {len(errors)}" + "".join(f"\n  {e}" for e in errors[:10]))
        for f in followers:
            f.stop.set()
        print(f"server memory: {srv.rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
