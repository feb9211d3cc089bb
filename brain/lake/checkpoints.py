"""Reading Structured Streaming checkpoints without Spark: what a query has committed.

Used by `brain reconcile` (the offset equations) and by ingest and clean to
skip starting a query that has nothing to read (a no-data cycle would
otherwise start and stop 28 streaming queries). Only reads files.

Layout of a checkpoint folder: ``offsets/<n>`` holds the source offsets at
the end of batch ``n`` (last line: one JSON per source; ours have one),
``commits/<n>`` exists once batch ``n`` finished, ``sources/0/0`` holds the
offsets the query started from.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

# Delta streaming source offsets: an index at or past this marks a fully processed version.
END_INDEX_FLOOR = 2 ** 62


def _batch_ids(folder: Path) -> list[int]:
    """Batch ids of a Spark metadata log folder (``offsets``/``commits``), ascending."""
    if not folder.is_dir():
        return []
    return sorted(int(p.name) for p in folder.iterdir() if p.is_file() and p.name.isdigit())


def _log_lines(path: Path) -> list[str]:
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
        return Path(self.path, "offsets").is_dir()


def read_checkpoint(path: Path) -> StreamCheckpoint:
    """Parse a single-source streaming checkpoint (the last line of an offsets file is the source's offset)."""
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


def _offset_of(path: Path) -> Any:
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


def kafka_caught_up(checkpoint: Path, topic: str, end_offsets: dict[int, int]) -> bool:
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


def pending_bronze_files(bronze_path: Path, checkpoint: Path) -> set[str] | None:
    """Names of the bronze data files the silver query has not committed yet.

    None means "cannot tell" (the clean stage never committed a batch, is
    mid-way through its first snapshot, or has a batch planned but not
    committed): callers treat every unaccounted row as pending, and run it.
    """
    cp = read_checkpoint(checkpoint)
    off = cp.committed
    if not isinstance(off, dict) or "reservoirVersion" not in off or off.get("isStartingVersion"):
        return None
    version, index = int(off["reservoirVersion"]), int(off.get("index", -1))
    first_pending = version + 1 if index >= END_INDEX_FLOOR else version
    names: set[str] = set()
    log = bronze_path / "_delta_log"
    for f in log.glob("*.json"):
        if not f.stem.isdigit() or int(f.stem) < first_pending:
            continue
        actions = [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
        # Only appends are work for the clean stream. A commit that removes data (DELETE, UPDATE,
        # MERGE on bronze) rewrites rows the stream may already have processed: not pending.
        if any(a.get("remove", {}).get("dataChange", False) for a in actions):
            continue
        for a in actions:
            add = a.get("add")
            if add and add.get("dataChange", True):
                names.add(unquote(add["path"]).rsplit("/", 1)[-1])
    return names


def delta_caught_up(bronze_path: Path, checkpoint: Path) -> bool:
    """True when the clean query over ``bronze_path`` has committed everything in it: no batch
    planned but not committed, and no commit after its offset. False whenever in doubt (a
    first snapshot not finished, a table recreated under the checkpoint, commits since)."""
    cp = read_checkpoint(checkpoint)
    off = cp.committed
    if (cp.planned_batch is not None or not isinstance(off, dict) or "reservoirVersion" not in off
            or off.get("isStartingVersion")):
        return False
    version, index = int(off["reservoirVersion"]), int(off.get("index", -1))
    done_through = version if index >= END_INDEX_FLOOR else version - 1
    log = bronze_path / "_delta_log"
    versions = [int(f.stem) for f in log.glob("*.json") if f.stem.isdigit()]
    if not versions or max(versions) != done_through:
        return False  # newer commits, or a table younger than the checkpoint (recreated)
    first = log / f"{0:020d}.json"
    if first.is_file():  # the table the checkpoint was made on, not a new one at the same path
        for line in first.read_text().splitlines():
            meta = json.loads(line).get("metaData") if line.strip() else None
            if meta and meta.get("id") != off.get("reservoirId"):
                return False
    return True
