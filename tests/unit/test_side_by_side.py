"""brain.concurrency.run_side_by_side: results in job order, every started job finished before a failure."""

from __future__ import annotations

import threading
import time

import pytest

from brain.concurrency import run_side_by_side


def test_results_keep_job_order_and_jobs_overlap():
    running, peak, lock = [0], [0], threading.Lock()

    def job(i, pause):
        def run():
            with lock:
                running[0] += 1
                peak[0] = max(peak[0], running[0])
            time.sleep(pause)
            with lock:
                running[0] -= 1
            return i
        return run

    assert run_side_by_side([job(0, 0.2), job(1, 0.0), job(2, 0.1)], 2) == [0, 1, 2]
    assert peak[0] == 2


def test_a_failure_is_raised_after_every_other_job_ended_first_failure_in_order():
    done = []

    def fail(msg, pause=0.0):
        def run():
            time.sleep(pause)
            raise RuntimeError(msg)
        return run

    def slow():
        time.sleep(0.2)
        done.append("slow")

    with pytest.raises(RuntimeError, match="first"):
        run_side_by_side([fail("first", 0.1), slow, fail("second")], 2)
    assert done == ["slow"]


def test_one_writer_runs_one_by_one_and_stops_at_the_first_failure():
    ran = []

    def boom():
        raise ValueError("stop")

    with pytest.raises(ValueError):
        run_side_by_side([lambda: ran.append(1), boom, lambda: ran.append(3)], 1)
    assert ran == [1]
