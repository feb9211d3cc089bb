"""Reading Structured Streaming checkpoints without Spark: what a query has committed.

Used by `brain reconcile` (the offset equations) and by the industry's pass
to skip starting a query that has nothing to read (a no-data cycle would
otherwise start and stop a query per industry). Only reads files.

Layout of a checkpoint folder: ``offsets/<n>`` holds the source offsets at
the end of batch ``n`` (last line: one JSON per source; ours have one, a
Kafka source whose JSON holds every topic it subscribes to),
``commits/<n>`` exists once batch ``n`` finished, ``sources/0/0`` holds the
offsets the query started from.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brain.storage import S3Path, as_location


def _batch_ids(folder: Path | S3Path) -> list[int]:
    """Batch ids of a Spark metadata log folder (``offsets``/``commits``), ascending."""
    if not folder.is_dir():
        return []
    return sorted(int(p.name) for p in folder.iterdir() if p.is_file() and p.name.isdigit())


def _log_lines(path: Path | S3Path) -> list[str]:
    """Lines of a Spark log file without the version header (``v1``) and blank lines.

    Files under ``sources/`` start with a NUL byte before ``v1``.
    """
    text = path.read_bytes().decode("utf-8", errors="replace").lstrip("\x00")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if lines and re.fullmatch(r"v\d+", lines[0].strip()):
        lines = lines[1:]
    return lines


@dataclass
class StreamCheckpoint:
    """What a streaming query's checkpoint says about its one source."""
    path: str
    committed_batch: int | None = None
    committed: Any = None           # source offset after the last committed batch
    planned_batch: int | None = None
    planned: Any = None             # offset of a batch planned but not committed (after a crash)
    start: Any = None               # offsets the query started from (sources/0/0)

    @property
    def exists(self) -> bool:
        return (as_location(self.path) / "offsets").is_dir()


def read_checkpoint(path: Path | S3Path | str) -> StreamCheckpoint:
    """Parse a single-source streaming checkpoint (the last line of an offsets file is the source's
    offset), on local disk or in the object store."""
    path = as_location(path)
    cp = StreamCheckpoint(str(path))
    commits = _batch_ids(path / "commits")
    offsets = _batch_ids(path / "offsets")
    if commits:
        cp.committed_batch = commits[-1]
        cp.committed = _offset_of(path / "offsets" / str(commits[-1]))
    if offsets and (not commits or offsets[-1] > commits[-1]):
        cp.planned_batch = offsets[-1]
        cp.planned = _offset_of(path / "offsets" / str(offsets[-1]))
    start = path / "sources" / "0" / "0"
    if start.is_file():
        lines = _log_lines(start)
        cp.start = json.loads(lines[-1]) if lines else None
    return cp


def _offset_of(path: Path | S3Path) -> Any:
    if not path.is_file():
        return None
    lines = _log_lines(path)
    # line 1: batch metadata (watermark, timestamp, conf); then one line per source.
    return json.loads(lines[-1]) if len(lines) >= 2 else None


def kafka_offsets(offset: Any, topic: str) -> dict[int, int]:
    """``{"topic": {"0": 5}}`` -> ``{0: 5}`` for one topic (negative = earliest/latest markers dropped)."""
    if not isinstance(offset, dict) or not isinstance(offset.get(topic), dict):
        return {}
    return {int(p): int(o) for p, o in offset[topic].items() if int(o) >= 0}


def kafka_caught_up(checkpoint: Path | S3Path, topic: str, end_offsets: dict[int, int]) -> bool:
    """True when the ingest query of ``topic`` has committed every offset Kafka holds: starting
    it would read nothing. False whenever in doubt (no checkpoint, a batch planned but not
    committed, a partition it has not seen, or Kafka ahead of it)."""
    cp = read_checkpoint(checkpoint)
    if cp.committed_batch is None or cp.planned_batch is not None or not end_offsets:
        return False
    done = kafka_offsets(cp.committed, topic)
    # Equal, not "at least": Kafka behind the checkpoint (a recreated topic) must reach Spark,
    # which stops with a data-loss error instead of being skipped quietly.
    return set(done) == set(end_offsets) and all(done[p] == end for p, end in end_offsets.items())
