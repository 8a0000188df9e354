"""Live trainings share what the generations leave (issue 32, item 5): one training slice at a time across all
sessions, a slice waits for the running generations, and a session holds one training at a time."""
import threading
import time

from diffusion_core.app.common import one_training
from diffusion_core.app.traffic import TRAININGS, TrainingSlices


def test_one_slice_runs_at_a_time_across_sessions():
    slices = TrainingSlices(busy=lambda: False)
    inside, most = [0], [0]
    lock = threading.Lock()

    def train():
        for _ in range(20):
            with slices.turn():
                with lock:
                    inside[0] += 1
                    most[0] = max(most[0], inside[0])
                time.sleep(0.001)
                with lock:
                    inside[0] -= 1

    threads = [threading.Thread(target=train) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert most[0] == 1


def test_a_slice_waits_for_the_running_generations_but_not_forever():
    generating = [True]
    slices = TrainingSlices(busy=lambda: generating[0], patience_s=0.3)
    start = time.monotonic()
    with slices.turn():
        waited = time.monotonic() - start
    assert 0.25 < waited < 1.0  # a steady stream of generations still lets a training creep on
    generating[0] = False
    start = time.monotonic()
    with slices.turn():
        assert time.monotonic() - start < 0.05  # nothing running: at once


class Request:
    def __init__(self, session):
        self.session_hash = session


def test_a_sessions_newer_training_stops_its_older_one():
    def frames():
        for k in range(1000):
            time.sleep(0.001)
            yield k

    older = one_training(Request("s1"), frames())
    assert next(older) == 0
    newer = one_training(Request("s1"), frames())
    assert next(newer) == 0  # the newer claim marks the older replaced
    assert list(older) == []  # the older ends at its next frame
    other = one_training(Request("s2"), frames())
    assert next(other) == 0 and next(newer) == 1  # another session's training goes on beside it
    newer.close()
    other.close()
    assert TRAININGS.running() == 0
