"""Coordination between writers of one silver table: the stream, a backfill, validate's moves, OPTIMIZE.

Two kinds of overlap, two answers:

- A streamed clean batch decides which rows are new against a snapshot of
  silver and then appends them blindly (cheap, idempotent per batch). A
  backfill or a quarantine move that commits in between changes what "new"
  meant, and Delta cannot see it (a blind append reads nothing), so the same
  record could land twice. Those writers therefore take the table's lock
  (``table_lock``) for the whole decide-and-write step, one at a time.
- OPTIMIZE and keyed MERGEs do conflict visibly in Delta (``Concurrent*``
  exceptions): the loser wrote nothing, and running it again on the new
  snapshot is as valid (``retry_conflicts``).

The lock is a POSIX advisory lock (``flock``) on a file under
``lake.checkpoints/_locks``: it holds across threads and processes of one
host, and across hosts only where that folder is on a filesystem with
working locks (see docs/fault-tolerance.md). With the checkpoints on S3
(``s3a://``) there is no file to lock: the lock files go to
``paths.state/locks`` on local disk (brain.storage.lock_dir), which
serialises the writers of that one host; docs/cluster.md says why a lake on
S3 has one writing host.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from brain.config import Config
from brain.lake.tables import split_name
from brain.storage import lock_dir

log = logging.getLogger(__name__)
T = TypeVar("T")


def lock_path(cfg: Config, table: str):
    layer, name = split_name(table)
    return lock_dir(cfg) / f"{layer}.{name}.lock"


@contextmanager
def table_lock(cfg: Config, table: str, wait_log_s: float = 30.0) -> Iterator[None]:
    """Hold ``table``'s writer lock; says (once per ``wait_log_s``) when it waits for another writer."""
    path = lock_path(cfg, table)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        started = last_said = time.monotonic()
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                now = time.monotonic()
                if now - last_said >= wait_log_s:
                    log.warning("waiting %.0f s for another writer of %s (lock %s)", now - started, table, path)
                    last_said = now
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def retry_conflicts(action: Callable[[], T], attempts: int = 5, wait_s: float = 1.0,
                    on_retry: Callable[[BaseException, int], None] | None = None) -> T:
    """Run ``action()``; when a concurrent writer wins a Delta commit race, run it again.

    A conflict means the other commit came first and the losing attempt wrote
    nothing; ``action`` must be valid on any later snapshot (keyed MERGEs,
    OPTIMIZE). ``on_retry(error, attempt)`` hears of every retry.
    """
    import delta.exceptions as conflicts
    from pyspark.sql.utils import is_remote

    if is_remote():  # turns a Connect error carrying Delta's conflict class into these classes' subclasses
        import delta.connect.exceptions  # noqa: F401

    # Each conflict class derives from PySparkException only, not from a common base: list them.
    retryable = tuple(getattr(conflicts, name) for name in conflicts.__all__)
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except retryable as exc:
            if attempt == attempts:
                raise
            log.warning("Delta commit conflict (%s), attempt %d of %d; retrying", type(exc).__name__, attempt,
                        attempts)
            if on_retry is not None:
                on_retry(exc, attempt)
            time.sleep(wait_s * attempt)
    raise AssertionError("unreachable")
