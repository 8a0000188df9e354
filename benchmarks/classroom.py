"""A class of 30 pressing Generate within one second, against `python app.py` in its own process on this
machine (issue "Ready for real deployments"). Prints every user's first-frame and finish times, errors,
the server's memory, and the ratio of the last finish to one generation alone measured in the same run.

    python benchmarks/classroom.py                   # 30 users, default settings (all on seed 0), then
                                                     # the same with a seed each (nothing to share)
    python benchmarks/classroom.py --users 8 --same-seed-only
    python benchmarks/classroom.py --preset fast --distinct-only   # the fast preset, a seed each (the cost lab asks)

Targets: every first frame within 1.5 s, the last one done within 12 s, no errors.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from server import ROOT, AppServer, default_generate_args, stream_timed  # noqa: E402

DEFAULT = default_generate_args()  # the app's default setting, 16 digits


def preset_args(preset: str) -> list:
    """The `generate` arguments at the shipped DiT's named setting `preset` (its JSON's sampling_presets), 16 digits."""
    if preset == "default":
        return list(DEFAULT)
    meta = json.loads((ROOT / "assets" / "dit_mnist.json").read_text())
    s = {**meta["sampling"], **meta.get("sampling_presets", {})[preset]}
    return ["mixed 0-9", float(s["guidance"]), s["sampler"], float(s.get("eta", 0.0)), int(s["steps"]), 0, 16, s["spacing"],
            float(s.get("guidance_min_t", 0)), float(s.get("guidance_max_t", 1000))]


def one_alone(url: str, seed: int, base: list = DEFAULT) -> tuple[float, float]:
    first, done, event, _ = stream_timed(url, "generate", base[:5] + [seed] + base[6:])
    assert event == "complete", event
    return first, done


def classroom(url: str, users: int, same_seed: bool, memory, base: list = DEFAULT) -> dict:
    """`users` threads, each starting at a random moment within one second."""
    out = {"first": [None] * users, "done": [None] * users, "errors": [], "memory": []}
    rng = random.Random(0)
    delays = sorted(rng.uniform(0, 1) for _ in range(users))

    def user(i):
        time.sleep(delays[i])
        data = list(base)
        data[5] = 0 if same_seed else 1000 + i
        try:
            first, done, event, payload = stream_timed(url, "generate", data)
            if event != "complete" or "Done:" not in payload:
                out["errors"].append(f"user {i}: {event} {payload[:120]}")
            out["first"][i], out["done"][i] = first, done
        except Exception as exc:  # noqa: BLE001 - every failure is counted and shown
            out["errors"].append(f"user {i}: {exc!r}"[:200])

    threads = [threading.Thread(target=user, args=(i,)) for i in range(users)]
    for th in threads:
        th.start()
    while any(th.is_alive() for th in threads):
        out["memory"].append(memory())
        time.sleep(0.2)
    return out


def report(name: str, out: dict, alone: float) -> None:
    first = [f for f in out["first"] if f is not None]
    done = [d for d in out["done"] if d is not None]
    print(f"\n## {name}")
    print("each user's first frame (s): " + " ".join(f"{f:.2f}" for f in out["first"] if f is not None))
    print("each user's finish (s):      " + " ".join(f"{d:.2f}" for d in out["done"] if d is not None))
    if first and done:
        ok_first, ok_done = max(first) <= 1.5, max(done) <= 12
        print(f"first frame: median {statistics.median(first):.2f} s, max {max(first):.2f} s "
              f"(target every one <= 1.5 s: {'met' if ok_first else 'MISSED'})")
        print(f"finish: median {statistics.median(done):.2f} s, last {max(done):.2f} s (target <= 12 s: "
              f"{'met' if ok_done else 'MISSED'}); last / one alone = {max(done) / alone:.1f}x")
    print(f"errors: {len(out['errors'])}" + "".join(f"\n  {e}" for e in out["errors"][:10]))
    if out["memory"]:
        print(f"server memory: {out['memory'][0]:.0f} MB at the start, peak {max(out['memory']):.0f} MB")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=30)
    p.add_argument("--same-seed-only", action="store_true")
    p.add_argument("--distinct-only", action="store_true", help="only the run with a seed each (nothing to share)")
    p.add_argument("--preset", default="default", help="the DiT's named setting every user generates at (default, fast)")
    p.add_argument("--env", nargs="*", default=[], help="NAME=VALUE for the server (to try a setting)")
    p.add_argument("--pause", type=float, default=0, help="seconds to wait after start-up (to attach a profiler)")
    args = p.parse_args()
    with AppServer(env=dict(e.split("=", 1) for e in args.env)) as srv:
        print(f"server pid {srv.proc.pid}", flush=True)
        time.sleep(args.pause)
        base = preset_args(args.preset)
        one_alone(srv.url, 54321, base)  # warm-up: the first run loads the bf16 copy (its own seed: nothing cached)
        first, alone = one_alone(srv.url, 12345, base)
        print(f"# Classroom: app.py served after {srv.startup_s:.1f} s; one {args.preset} generation alone ({base[2]}, "
              f"{base[4]} steps): first frame {first:.2f} s, done in {alone:.2f} s"
              + (f"; server settings: {' '.join(args.env)}" if args.env else ""))
        if not args.distinct_only:
            report(f"{args.users} users, {args.preset} settings (the same seed: identical work is shared)",
                   classroom(srv.url, args.users, True, srv.rss_mb, base), alone)
        if not args.same_seed_only:
            report(f"{args.users} users, {args.preset} settings, a different seed each (nothing to share)",
                   classroom(srv.url, args.users, False, srv.rss_mb, base), alone)
        print(f"\nserver still up: {srv.alive()}; peak memory (VmHWM) {srv.peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
