"""Progress for long commands: a live bar on a terminal, plain lines everywhere else.

On a terminal (stderr is a TTY) the long commands show what is done so far,
the rate and, where the amount of work is known, an ETA, drawn with `rich`.
Anywhere else (a pipe, a file, an Airflow task log, TERM=dumb) the same facts
come as ordinary lines: no cursor movement, no colour codes, nothing
rewritten in place, so a log reads top to bottom.

The work itself happens in brain.pipeline and brain.clean, which only take a
``log`` callable. Where they give nothing finer, progress comes from Spark's
own public reporting: a StreamingQueryListener for the ingest pass (records
and micro-batches done, Kafka offsets still to read) and the status tracker
for batch jobs (tasks done of the running stages).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from contextlib import contextmanager
from typing import IO, Iterator

# Airflow sets these in every task's environment: its log must stay plain even on a TTY runner.
_AIRFLOW_MARKERS = ("AIRFLOW_CTX_DAG_ID", "AIRFLOW_CTX_TASK_ID")


def interactive(stream: IO | None = None) -> bool:
    """True when ``stream`` (default stderr) is a terminal a person watches."""
    stream = stream or sys.stderr
    if any(os.environ.get(k) for k in _AIRFLOW_MARKERS) or os.environ.get("TERM") == "dumb":
        return False
    return bool(getattr(stream, "isatty", None) and stream.isatty())


def rate_eta(done: float, seconds: float, left: float | None) -> tuple[float | None, float | None]:
    """(items per second, seconds still to go) from what is done so far; None where unknown."""
    if seconds <= 0 or done <= 0:
        return None, None
    rate = done / seconds
    return rate, (left / rate if left is not None else None)


def describe(done: int, batches: int, seconds: float, left: int | None, unit: str = "records") -> str:
    """The plain line: '12,000 records in 3 batches, 4,000/s, 8,000 left, ETA 2s'."""
    rate, eta = rate_eta(done, seconds, left)
    parts = [f"{done:,} {unit} in {batches} batch{'es' if batches != 1 else ''}"]
    if rate is not None:
        parts.append(f"{rate:,.0f}/s")
    if left is not None:
        parts.append(f"{left:,} left")
    if eta is not None:
        parts.append(f"ETA {_duration(eta)}")
    return ", ".join(parts)


def _duration(s: float) -> str:
    s = int(round(s))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else (f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s")


def offsets_left(latest: str | None, end: str | None) -> int | None:
    """Kafka records between a source's end offsets and the latest ones (JSON as Spark reports them)."""
    if not latest or not end:
        return None
    try:
        hi, lo = json.loads(latest), json.loads(end)
    except ValueError:
        return None
    if not isinstance(hi, dict) or not isinstance(lo, dict):
        return None
    left = 0
    for topic, parts in hi.items():
        for part, offset in parts.items():
            left += max(0, int(offset) - int(lo.get(topic, {}).get(part, offset)))
    return left


class Reporter:
    """Where a command says how far it is. Use as a context manager; ``log`` is the pipeline's ``log``."""

    def __init__(self, enabled: bool | None = None, stream: IO | None = None):
        self.stream = stream or sys.stderr
        self.enabled = interactive(self.stream) if enabled is None else enabled
        self._bar = None
        self._lock = threading.Lock()

    def __enter__(self) -> "Reporter":
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TextColumn("{task.fields[detail]}"), TimeElapsedColumn(),
                                 console=Console(file=self.stream), transient=False)
            self._bar.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def log(self, message: str) -> None:
        if self._bar is not None:
            self._bar.console.print(message, markup=False, highlight=False)
        else:
            print(message, file=self.stream, flush=True)

    def task(self, description: str, total: float | None = None) -> int | None:
        """A bar (terminal only); plain output has no bars, only the lines ``log`` and ``note`` write."""
        if self._bar is None:
            return None
        return self._bar.add_task(description, total=total, detail="")

    def update(self, task: int | None, **kw) -> None:
        if self._bar is not None and task is not None:
            self._bar.update(task, **kw)

    def note(self, message: str) -> None:
        """A line for logs only: on a terminal the bar already shows it."""
        if self._bar is None:
            print(message, file=self.stream, flush=True)

    @contextmanager
    def streams(self, spark) -> Iterator[None]:
        """Follow every streaming query started inside the block (the ingest pass): records, batches,
        rate and the Kafka records still to read, so an ETA."""
        listener = _stream_listener(self)
        spark.streams.addListener(listener)
        try:
            yield
        except BaseException:  # Ctrl-C or a failure: nothing more worth waiting for
            spark.streams.removeListener(listener)
            raise
        # Listener events arrive asynchronously: wait (briefly) for every query's end, which comes
        # after its last progress event, so the final counts are shown and the JVM does not call
        # back into a listener that is gone.
        deadline = time.monotonic() + 10
        while listener.running() and time.monotonic() < deadline:
            time.sleep(0.1)
        spark.streams.removeListener(listener)

    @contextmanager
    def jobs(self, spark, description: str = "spark tasks", every_s: float = 0.5) -> Iterator[None]:
        """On a terminal, the running Spark stages' tasks done / total (batch work: backfill, replay).
        Nothing over Spark Connect: its client has no status tracker (the work still runs)."""
        from brain.spark import is_connect

        if self._bar is None or is_connect(spark):
            yield
            return
        tracker = spark.sparkContext.statusTracker()
        task = self.task(description, total=None)
        stop = threading.Event()

        def poll() -> None:
            while not stop.wait(every_s):
                done = total = 0
                for sid in tracker.getActiveStageIds():
                    info = tracker.getStageInfo(sid)
                    if info is not None:
                        done, total = done + info.numCompletedTasks, total + info.numTasks
                self.update(task, completed=done, total=total or None,
                            detail=f"{len(tracker.getActiveStageIds())} stage(s) running")

        worker = threading.Thread(target=poll, name="brain-progress", daemon=True)
        worker.start()
        try:
            yield
        finally:
            stop.set()
            worker.join(timeout=2)
            self.update(task, visible=False)


def _stream_listener(rep: Reporter):
    from pyspark.sql.streaming import StreamingQueryListener

    class Listener(StreamingQueryListener):
        def __init__(self) -> None:
            self.queries: dict[str, dict] = {}
            self.ended: set[str] = set()

        def running(self) -> bool:
            with rep._lock:
                return bool(set(self.queries) - self.ended)

        def _state(self, qid: str, name: str | None) -> dict:
            with rep._lock:
                if qid not in self.queries:
                    self.queries[qid] = {"name": name or qid[:8], "records": 0, "batches": 0,
                                         "started": time.monotonic(), "task": rep.task(name or qid[:8])}
                return self.queries[qid]

        def onQueryStarted(self, event) -> None:
            self._state(str(event.id), event.name)

        def onQueryProgress(self, event) -> None:
            p = event.progress
            st = self._state(str(p.id), p.name)
            st["records"] += int(p.numInputRows or 0)
            st["batches"] += 1
            lefts = [offsets_left(s.latestOffset, s.endOffset) for s in p.sources]
            left = None if any(x is None for x in lefts) else sum(lefts)
            seconds = time.monotonic() - st["started"]
            line = describe(st["records"], st["batches"], seconds, left)
            rep.update(st["task"], completed=st["records"],
                       total=st["records"] + left if left is not None else None, detail=line.split(", ", 1)[-1])
            rep.note(f"{st['name']}: batch {p.batchId}: {int(p.numInputRows or 0):,} records; {line}")

        def onQueryIdle(self, event) -> None:
            pass

        def onQueryTerminated(self, event) -> None:
            st = self.queries.get(str(event.id))
            if st is not None:
                rep.update(st["task"], total=st["records"] or 1, completed=st["records"] or 1)
            with rep._lock:
                self.ended.add(str(event.id))

    return Listener()
