"""brain.concurrency.two_lanes: an industry's second stage after its first, the lanes overlapping."""

from __future__ import annotations

import threading
import time

import pytest

from brain.concurrency import two_lanes


class Recorder:
    def __init__(self):
        self.events: list[tuple[str, str, str]] = []  # (stage, item, "start"|"end")
        self.lock = threading.Lock()

    def stage(self, name: str, pause: float, fail_on: str | None = None):
        def run(item, *prev):
            with self.lock:
                self.events.append((name, item, "start"))
            time.sleep(pause)
            with self.lock:
                self.events.append((name, item, "end"))
            if item == fail_on:
                raise RuntimeError(f"{name} {item} failed")
            return f"{name}({item}{', ' + prev[0] if prev else ''})"
        return run

    def index(self, *event) -> int:
        return self.events.index(event)


def test_each_second_stage_gets_its_own_first_result_in_item_order():
    rec = Recorder()
    out = two_lanes(["a", "b", "c"], rec.stage("in", 0.05), rec.stage("out", 0.02))
    assert out == [("in(a)", "out(a, in(a))"), ("in(b)", "out(b, in(b))"), ("in(c)", "out(c, in(c))")]


def test_the_next_first_stage_overlaps_the_previous_second_stage():
    rec = Recorder()
    two_lanes(["a", "b"], rec.stage("in", 0.1), rec.stage("out", 0.3))
    # b's first stage starts before a's second stage ends...
    assert rec.index("in", "b", "start") < rec.index("out", "a", "end")
    # ...but each item's second stage waits for its first, and one item per stage at a time.
    for item in "ab":
        assert rec.index("in", item, "end") < rec.index("out", item, "start")
    assert rec.index("out", "a", "end") < rec.index("out", "b", "start")
    assert rec.index("in", "a", "end") < rec.index("in", "b", "start")


def test_every_item_runs_and_the_first_failure_in_item_order_is_raised_at_the_end():
    rec = Recorder()
    first, second = rec.stage("in", 0.05, fail_on="a"), rec.stage("out", 0.05, fail_on="b")
    with pytest.raises(RuntimeError, match="in a failed"):
        two_lanes(["a", "b", "c"], first, second)
    # a's failed first stage skips only a's second stage; b and c still ran to the end.
    assert ("out", "a", "start") not in rec.events
    assert ("out", "b", "end") in rec.events and ("out", "c", "end") in rec.events


def test_not_overlapped_runs_one_item_after_the_other_and_stops_at_the_first_failure():
    rec = Recorder()
    with pytest.raises(RuntimeError, match="out a failed"):
        two_lanes(["a", "b"], rec.stage("in", 0.0), rec.stage("out", 0.0, fail_on="a"), overlap=False)
    assert [e for e in rec.events if e[2] == "start"] == [("in", "a", "start"), ("out", "a", "start")]


def test_one_item_needs_no_threads():
    seen = []
    two_lanes(["a"], lambda i: seen.append(threading.current_thread().name), lambda i, _: None)
    assert seen == [threading.main_thread().name]
