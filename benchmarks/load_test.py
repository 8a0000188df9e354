"""Load test: N simulated users through gradio_client on loopback for S seconds, each mixing bursts of
forward-lab scrubs with DiT generations, against `python app.py` in its own process. Reports errors,
latency percentiles per kind of call and the server's memory over time; asserts nothing.

    python benchmarks/load_test.py --users 20 --seconds 60      # the full run (issue 8)
    python benchmarks/load_test.py --users 4 --seconds 10       # what CI runs (tests/test_load.py)
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
from server import AppServer  # noqa: E402

SPEC = json.dumps({"name": "cosine", "T": 1000, "rescale": False})
MODE = "closed form q(x_t | x_0)"


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))] if values else float("nan")


def user(url: str, deadline: float, seed: int, gen_share: float, out: dict, lock: threading.Lock) -> None:
    """One user: a session of their own; each turn either scrubs t five times or generates."""
    from gradio_client import Client

    rng = random.Random(seed)
    try:
        client = Client(url, verbose=False)
    except Exception as exc:  # noqa: BLE001
        with lock:
            out["errors"].append(f"connect: {exc!r}")
        return
    while time.time() < deadline:
        kind = "generate" if rng.random() < gen_share else "forward"
        try:
            if kind == "forward":
                for _ in range(5):
                    start = time.perf_counter()
                    client.predict("MNIST digit 0 (#1)", None, SPEC, rng.randrange(0, 1001), MODE, 0.99, seed, api_name="/forward")
                    with lock:
                        out["forward"].append(1000 * (time.perf_counter() - start))
            else:
                start = time.perf_counter()
                result = client.predict(str(rng.randrange(10)), 3, rng.choice(["ddim", "dpm++2m"]), 0, rng.choice([10, 20]),
                                        rng.randrange(1000), rng.choice([4, 8, 16]), "leading", api_name="/generate")
                if "done" not in result[2].lower():
                    raise RuntimeError(f"generation did not finish: {result[2]!r}")
                with lock:
                    out["generate"].append(1000 * (time.perf_counter() - start))
        except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
            with lock:
                out["errors"].append(f"{kind}: {exc!r}"[:300])


def run_load(url: str, users: int, seconds: float, gen_share: float = 0.2, memory=None) -> dict:
    """Run the users; `memory()` (MB) is sampled every 0.5 s when given. Returns the raw figures."""
    out, lock = {"forward": [], "generate": [], "errors": [], "memory_mb": []}, threading.Lock()
    deadline = time.time() + seconds
    threads = [threading.Thread(target=user, args=(url, deadline, i, gen_share, out, lock), daemon=True) for i in range(users)]
    for th in threads:
        th.start()
    while any(th.is_alive() for th in threads):
        if memory:
            out["memory_mb"].append(memory())
        time.sleep(0.5)
    return out


def summary(out: dict, seconds: float) -> str:
    lines = []
    for kind in ("forward", "generate"):
        v = out[kind]
        lines.append(f"{kind:9s}: {len(v):5d} calls ({len(v) / seconds:5.1f}/s)  median {statistics.median(v) if v else float('nan'):8.1f} ms"
                     f"  p95 {pct(v, 0.95):8.1f} ms  max {max(v) if v else float('nan'):8.1f} ms")
    lines.append(f"errors   : {len(out['errors'])}" + ("".join(f"\n  {e}" for e in out["errors"][:10])))
    mem = out["memory_mb"]
    if mem:
        lines.append(f"server RSS: start {mem[0]:.0f} MB, peak {max(mem):.0f} MB, end {mem[-1]:.0f} MB")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=20)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--gen-share", type=float, default=0.2, help="share of a user's turns that generate")
    args = p.parse_args()
    with AppServer() as srv:
        print(f"app.py served after {srv.startup_s:.1f} s; {args.users} users for {args.seconds:.0f} s")
        out = run_load(srv.url, args.users, args.seconds, args.gen_share, memory=srv.rss_mb)
        print(summary(out, args.seconds))
        print("server still up:", srv.alive())


if __name__ == "__main__":
    main()
