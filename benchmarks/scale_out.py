"""Past one machine, measured: the classroom burst (30 users, a seed each, within one second) against `python app.py`
on the local backend and on Ray Serve with 1 and 2 replicas on this machine, a capacity model checked against
those runs, and a replica killed mid-burst. Prints figures; asserts nothing.

    python benchmarks/scale_out.py                       # this machine's cores, 30 users
    python benchmarks/scale_out.py --users 8 --alone 3 --no-fault
    python benchmarks/scale_out.py --num-gpus 1          # a GPU machine: replicas run the DiT on CUDA

- one user alone: `--alone` runs on each backend, interleaved (local, Ray, local, ...) so that the machine's other
  load falls on both alike; the medians' difference is the latency Ray Serve adds per generation (target: at most
  50 ms over the local backend, first frame and done);
- the burst: every user's first frame and finish, the last ones, errors, throughput (generations per second),
  `--repeat` times per backend (3 by default: the first frames vary from burst to burst); target with 1 replica: no
  errors, every first frame within 1.5 s. Each click is a new Gradio session, as in
  `classroom.py`: Gradio builds a session's state at its first call (about 25 ms each for this app's 450
  components, on the server's event loop), so the 30 sessions of the burst's second add up to about 0.75 s to the
  last first frames on either backend (a class whose pages are open has paid it before);
- the capacity model: network rows per second R, measured through the step batcher in the deployment's layout (as
  many fresh processes as it has replicas, each with a replica's threads, at work at once) just before its burst,
  predicts the burst's busy time (first click to last finish; the bursts' median), N x 16 x passes / R, checked against the 1- and
  2-replica runs (target: within 25%), and gives the replica cores a class of N needs to be served within 10 s. On
  this machine two replicas bring no new core, only another layout of the same two (two processes of one thread do
  more rows per core than one of two), and they share the cores with the front end;
- a replica killed (SIGKILL) while the 2-replica deployment runs 6 long generations: each of its users' message
  time after the kill (target: within 5 s), and that the others finish.

The Ray cluster is this process's own (`ray.init`, ended with it), token authentication off (loopback only).
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import signal
import statistics
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import torch  # noqa: E402

from diffusion_core.networks.pretrained import load_pretrained  # noqa: E402
from diffusion_core.pipelines.backends import LocalBackend  # noqa: E402
from diffusion_core.pipelines.generation import app_batcher, nfe_per_sample  # noqa: E402
from diffusion_core.pipelines.serve_config import BACKEND_ENV, ENV, serve_config  # noqa: E402
from diffusion_core.settings import sampling  # noqa: E402
from server import AppServer, default_generate_args, stream_timed  # noqa: E402

DEFAULT = default_generate_args()  # the app's default setting, 16 digits
CLASS_S = 10.0  # a class should be served within this


def rows_per_second(threads: int, generations: int = 6, start_together=None) -> float:
    """Network rows per second through a fresh step batcher (the app's path and precision), `generations` default runs
    with distinct seeds at once, torch on `threads` threads; timed from `start_together` (a barrier) if given."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        pre = load_pretrained("dit")  # its own copy: its own batcher, nothing cached
        local = LocalBackend(pre, "cpu")
        list(local.steps(sampling(pre.meta, images=1, steps=1)))  # the bf16 copy and the call sizes, not timed
        batcher = app_batcher(pre, "cpu")
        rows = batcher.rows_evaluated
        runs = [threading.Thread(target=lambda i=i: list(local.steps(sampling(pre.meta, seed=5000 + i))))
                for i in range(generations)]
        if start_together is not None:
            start_together.wait()
        start = time.perf_counter()
        for th in runs:
            th.start()
        for th in runs:
            th.join()
        return (batcher.rows_evaluated - rows) / (time.perf_counter() - start)
    finally:
        torch.set_num_threads(before)


def _layout_worker(threads: int, start_together, results) -> None:
    results.put(rows_per_second(threads, start_together=start_together))


def layout_rate(processes: int, threads: int) -> float:
    """Rows per second of `processes` fresh processes of `threads` torch threads each, running at once and summed: a
    deployment's replicas laid out on the machine (2 replicas of 1 CPU: layout_rate(2, 1)). One process of two threads
    and two of one do not do the same work on two cores (measured: the benchmark prints both)."""
    ctx = multiprocessing.get_context("spawn")
    start_together, results = ctx.Barrier(processes), ctx.Queue()
    workers = [ctx.Process(target=_layout_worker, args=(threads, start_together, results)) for _ in range(processes)]
    for w in workers:
        w.start()
    rates = [results.get(timeout=600) for _ in workers]
    for w in workers:
        w.join()
    return sum(rates)


def alone_pairs(local_url: str, ray_url: str, runs: int, seed0: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """One user alone, `runs` times on each backend, interleaved (local, Ray, local, Ray, ...) so that the machine's
    other load falls on both alike, each run on a seed of its own from `seed0` (nothing cached): the medians of (first
    frame, done)."""
    times = {local_url: [], ray_url: []}
    for k in range(runs):
        for url in (local_url, ray_url):
            seed = seed0 + 2 * k + (url == ray_url)
            first, done, event, _ = stream_timed(url, "generate", DEFAULT[:5] + [seed] + DEFAULT[6:])
            assert event == "complete", event
            times[url].append((first, done))
    return tuple(tuple(statistics.median(t[i] for t in times[url]) for i in (0, 1)) for url in (local_url, ray_url))


def warm(url: str) -> None:
    """A first run: the weights, the bf16 copy and the batcher's call sizes are loaded before anything is timed."""
    stream_timed(url, "generate", DEFAULT[:5] + [99999] + DEFAULT[6:])


def burst(url: str, users: int, seed0: int, data_of=None) -> dict:
    """`users` users pressing Generate at random moments within one second (the classroom benchmark's burst), a seed
    each: each user's first frame and finish from their own click (as `classroom.py` prints them), and `end`, the
    finish from the burst's start."""
    rng = random.Random(0)
    delays = sorted(rng.uniform(0, 1) for _ in range(users))
    out = {key: [None] * users for key in ("first", "done", "end", "event", "payload", "clock")}
    out["delays"] = delays
    t0 = time.perf_counter()

    def user(i):
        time.sleep(delays[i])
        data = data_of(i) if data_of else DEFAULT[:5] + [seed0 + i] + DEFAULT[6:]
        try:
            first, done, event, payload = stream_timed(url, "generate", data)
        except Exception as exc:  # noqa: BLE001 - counted as an error
            first, done, event, payload = float("nan"), float("nan"), "exception", repr(exc)
        out["first"][i], out["done"][i], out["end"][i] = first, done, delays[i] + done
        out["event"][i], out["payload"][i], out["clock"][i] = event, payload, time.perf_counter()

    threads = [threading.Thread(target=user, args=(i,)) for i in range(users)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    out["wall"] = time.perf_counter() - t0
    return out


def report_burst(name: str, out: dict) -> float:
    errors = [f"{e}: {p[:100]}" for e, p in zip(out["event"], out["payload"]) if e != "complete" or "done:" not in p.lower()]
    late, last = max(out["first"]), max(out["end"])
    print(f"\n## {name}")
    print("each user's first frame (s): " + " ".join(f"{f:.2f}" for f in out["first"]))
    print("each user's finish (s):      " + " ".join(f"{d:.2f}" for d in out["done"]))
    print(f"first frame: median {statistics.median(out['first']):.2f} s, max {late:.2f} s (every one <= 1.5 s: "
          f"{'met' if late <= 1.5 else 'MISSED'}); finish: median {statistics.median(out['done']):.2f} s; last done "
          f"{last:.2f} s after the burst began; throughput {len(out['end']) / last:.2f} generations/s; errors {len(errors)}"
          + "".join(f"\n  {e}" for e in errors[:5]))
    return last


def burst_on(srv: AppServer, users: int, seed0: int, name: str, repeat: int = 1, rows_of=None) -> tuple[float, float]:
    """The burst on one server `repeat` times (new seeds each time), each reported; `rows_of()`: the rows each replica
    has evaluated so far, {pid: rows}, to show how the router split each burst. Returns the median busy time (last
    finish after the first click) and the median share of the rows the busiest replica evaluated (1.0 for one)."""
    busy, late, busiest = [], [], []
    for k in range(repeat):
        before = rows_of() if rows_of else {}
        out = burst(srv.url, users, seed0 + 100 * k)
        label = f" (burst {k + 1} of {repeat})" if repeat > 1 else ""
        busy.append(report_burst(f"{name}: {users} users, a seed each, within 1 s{label}", out) - min(out["delays"]))
        late.append(max(out["first"]))
        if rows_of:
            done = [rows - before.get(pid, 0) for pid, rows in rows_of().items()]
            shares = sorted(v / max(1, sum(done)) for v in done)
            busiest.append(shares[-1])
            print("the replicas' shares of the burst's rows: " + " / ".join(f"{v:.0%}" for v in shares), flush=True)
    if repeat > 1:
        print(f"{name}, {repeat} bursts: the latest first frame of each " + ", ".join(f"{x:.2f} s" for x in late)
              + f" ({sum(x <= 1.5 for x in late)} of {repeat} within 1.5 s); busy time median {statistics.median(busy):.1f} s")
    print(f"front end memory: peak {srv.peak_rss_mb():.0f} MB", flush=True)
    return statistics.median(busy), (statistics.median(busiest) if busiest else 1.0)


def replica_rows(client, pids: list[int]) -> dict[int, int]:
    """{pid: rows evaluated so far} of each replica (asked until every pid has answered; Serve routes each ask)."""
    seen: dict[int, int] = {}
    for _ in range(100):
        r = client.replica()
        seen[r["pid"]] = r["rows_evaluated"]
        if len(seen) >= len(pids):
            break
    return seen


def kill_one_replica(url: str, replica_pids: list[int]) -> None:
    """6 long generations on 2 replicas; one replica killed once every user has a frame; message times after it."""
    long = lambda i: DEFAULT[:4] + [150, 88000 + i] + DEFAULT[6:]  # noqa: E731 - 150 steps: still running at the kill
    killed = {}

    def killer():
        time.sleep(4.0)  # the six runs are under way (their first frames come within about a second)
        killed["t"] = time.perf_counter()
        os.kill(replica_pids[0], signal.SIGKILL)

    threading.Thread(target=killer, daemon=True).start()
    out = burst(url, 6, 0, data_of=long)
    errors = [clock - killed["t"] for e, clock in zip(out["event"], out["clock"]) if e != "complete"]
    finished = sum(e == "complete" for e in out["event"])
    print(f"\n## a replica killed mid-run (pid {replica_pids[0]}), 6 users of 150 steps on 2 replicas")
    print(f"users told: {len(errors)}, each after the kill: " + " ".join(f"{1000 * s:.0f} ms" for s in errors)
          + f" (5 s: {'met' if errors and max(errors) <= 5 else 'MISSED' if errors else 'none told'}); "
          f"finished: {finished}; first message: {next((p[:160] for e, p in zip(out['event'], out['payload']) if e != 'complete'), '-')}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=30)
    p.add_argument("--alone", type=int, default=5, help="single-user runs per backend (their median)")
    p.add_argument("--repeat", type=int, default=3, help="bursts per backend (first frames vary from burst to burst)")
    p.add_argument("--cores", type=int, default=os.cpu_count(), help="the cluster's CPUs (this machine's)")
    p.add_argument("--num-gpus", type=float, default=0.0, help="GPUs per replica (a GPU machine)")
    p.add_argument("--no-fault", action="store_true", help="skip the killed replica")
    args = p.parse_args()
    rows = 16 * nfe_per_sample("dit", load_pretrained("dit").meta)  # network rows of one default generation
    one = layout_rate(1, 1)
    print(f"# Capacity: {one:.0f} network rows/s on 1 core alone; a default generation is {rows} rows", flush=True)
    busy, rate, layout, share = {}, {}, {}, {}  # busy time; rows/s of its layout (measured just before); busiest share

    def measured(name, processes: int, threads: int) -> None:
        layout[name] = (processes, threads)
        rate[name] = layout_rate(processes, threads)
        print(f"rows/s of {processes} process(es) of {threads} thread(s) at once, now: {rate[name]:.0f} "
              f"({rate[name] / args.cores:.0f} per core, {rate[name] / args.cores / one:.0%} of a lone core)", flush=True)

    with AppServer(env={BACKEND_ENV: "local"}, timeout=180) as local:
        warm(local.url)
        print(f"\n# local backend: app.py served after {local.startup_s:.1f} s", flush=True)
        measured("local", 1, args.cores)
        busy["local"], share["local"] = burst_on(local, args.users, 1000, "local backend", args.repeat)
        os.environ.update(RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0")
        import ray

        from diffusion_core.pipelines import ray_backend, ray_deployment

        start = time.perf_counter()
        ray.init(num_cpus=args.cores, include_dashboard=False, log_to_driver=False)
        print(f"\nray.init(num_cpus={args.cores}) in {time.perf_counter() - start:.1f} s", flush=True)
        env = {BACKEND_ENV: "ray", ENV["address"]: ray.get_runtime_context().gcs_address, "RAY_AUTH_MODE": "disabled"}
        gpus_short = args.num_gpus and torch.cuda.device_count() < 2 * args.num_gpus
        for replicas in (1,) if gpus_short else (1, 2):  # two GPU replicas need two GPUs
            config = serve_config(num_cpus=args.cores / replicas, num_gpus=args.num_gpus, min_replicas=replicas,
                                  max_replicas=replicas)
            start = time.perf_counter()
            client = ray_backend.RayBackend(config, ray_deployment.deploy(config))
            pids = sorted({client.replica()["pid"] for _ in range(20)})
            print(f"\n# {config.summary()}: deployed in {time.perf_counter() - start:.1f} s; replica memory "
                  + ", ".join(f"{_rss_mb(pid):.0f} MB" for pid in pids), flush=True)
            with AppServer(env=env, timeout=180) as remote:
                warm(remote.url)
                (lf, ld), (rf, rd) = alone_pairs(local.url, remote.url, args.alone, 77000 + 1000 * replicas)
                added = (1000 * (rf - lf), 1000 * (rd - ld))
                print(f"one user alone (medians of {args.alone}, interleaved): local first frame {1000 * lf:.0f} ms, done "
                      f"{1000 * ld:.0f} ms; Ray Serve first frame {1000 * rf:.0f} ms, done {1000 * rd:.0f} ms; added per "
                      f"generation: first frame {added[0]:+.0f} ms, done {added[1]:+.0f} ms (50 ms: "
                      f"{'met' if max(added) <= 50 else 'MISSED'})", flush=True)
                measured(replicas, replicas, max(1, args.cores // replicas))
                busy[replicas], share[replicas] = burst_on(remote, args.users, 2000 * replicas,
                                                           f"Ray Serve, {replicas} replica(s)", args.repeat,
                                                           lambda: replica_rows(client, pids))
                if replicas == 2 and not args.no_fault:
                    kill_one_replica(remote.url, pids)
        ray.shutdown()
    print(f"\n# Capacity model: T(N) = N x {rows} rows / R, R the rows/s of the deployment's layout (its replicas' "
          f"processes and threads) measured on this machine's {args.cores} cores just before its burst")
    for name, took in busy.items():
        predicted = args.users * rows / rate[name]
        error = predicted / took - 1
        processes, threads = layout[name]
        note = "" if name != "local" else " (informative: the model leaves out the frames, drawn here in the same process)"
        print(f"{name if name == 'local' else f'{name} replica(s)'} ({processes} x {threads} thread(s)): predicted "
              f"{predicted:.1f} s for {args.users} users (R = {rate[name]:.0f}), measured {took:.1f} s from the first "
              f"click to the last finish ({error:+.0%}; 25%: {'met' if abs(error) <= 0.25 else 'MISSED'}){note}")
        if processes > 1:  # the model assumes an even split; the router's own split, measured, for comparison
            uneven = args.users * rows * share[name] / (rate[name] / processes)
            print(f"  with the router's measured split (the busiest replica evaluated {share[name]:.0%} of the rows, "
                  f"median of the bursts): {uneven:.1f} s ({uneven / took - 1:+.0%})")
    print(f"On this {args.cores}-core machine a second replica brings no new core; what it changes is the layout: "
          "processes of fewer threads each, which did more rows per core here (the layouts' rows/s above). The front end, which draws every frame, shares the cores too (the "
          "model leaves it out: on a cluster it has its own).")
    for name in (n for n in busy if n != "local"):
        processes, threads = layout[name]
        per_core = rate[name] / (processes * threads)
        for n in (30, 100, 300):
            need = n * rows / (per_core * CLASS_S)
            print(f"a class of {n}: {need:.1f} replica cores in replicas of {threads} CPU(s) (r = {per_core:.0f} rows/s "
                  f"per core, measured) serve every default generation within {CLASS_S:.0f} s: "
                  f"{int(-(-need // threads))} replicas")


def _rss_mb(pid: int) -> float:
    try:
        return next(int(line.split()[1]) / 1024 for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                    if line.startswith("VmRSS"))
    except (OSError, StopIteration):
        return float("nan")


if __name__ == "__main__":
    main()
