"""Running pipeline work side by side in threads of one process (one SparkSession takes jobs from several).

Most of a small cycle is fixed cost with the CPU idle: query starts, Delta log
reads, commit waits, GX's Python work. A second thread fills those waits.

- ``run_side_by_side``: independent jobs, N at a time (an industry's gold tables).
- ``two_lanes``: two stages over several items, overlapped like an assembly
  line (``brain run``: the next industry's ingest and clean while the previous
  one validates and publishes). Each lane does one item at a time, so no two
  industries ever validate (GX) or publish at once, and an item's second
  stage always follows its own first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
A = TypeVar("A")
B = TypeVar("B")


def two_lanes(items: Sequence[T], first: Callable[[T], A], second: Callable[[T, A], B],
              overlap: bool = True) -> list[tuple[A, B]]:
    """(first(item), second(item, that result)) for each item, in item order.

    Overlapped, lane one runs ``first`` item after item and lane two runs
    ``second`` item after item, each as soon as its item's ``first`` is done.
    Every item runs even when another fails (an item's failed ``first`` skips
    only its own ``second``); once both lanes are idle, the first failure in
    item order is raised. Not overlapped, items run one after the other and
    the first failure stops the rest.
    """
    if not overlap or len(items) <= 1:
        out = []
        for item in items:
            a = first(item)
            out.append((a, second(item, a)))
        return out
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="lane-1") as one, \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="lane-2") as two:
        firsts = [one.submit(first, item) for item in items]
        seconds = [two.submit(lambda item=item, f=f: second(item, f.result())) for item, f in zip(items, firsts)]
    return [(f.result(), s.result()) for f, s in zip(firsts, seconds)]


def run_side_by_side(jobs: list, workers: int) -> list:
    """Each job's result, in order, ``workers`` at a time (threads: Spark takes jobs from several).

    Side by side, every job runs to its end even when another fails (none is left writing
    when the caller unpersists what they read); then the first failure, in job order, is
    raised. One at a time, the first failure stops the rest.
    """
    if workers <= 1 or len(jobs) <= 1:
        return [job() for job in jobs]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="side-by-side") as pool:
        futures = [pool.submit(job) for job in jobs]
    return [f.result() for f in futures]
