"""`brain lineage TABLE`: where a table's rows came from and where they went, from OpenLineage events.

The Spark listener and the Airflow provider write run events (docs/lineage.md) as JSON,
one event a line, into files under ``lineage.dir``. Every run links each of its input
datasets to each of its output datasets; the walk follows those links up or down from
one dataset. Datasets are named by location (``kafka://host:port`` + topic, ``file`` +
Delta table path, ``s3://bucket`` + key for a lake on s3a://), so events from Spark and from
Airflow meet on the same names. A lake table is shown as ``layer.table``, anything else in
an object store by its ``s3a://`` URI.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from brain.config import Config
from brain.lake.tables import LAYERS, UnknownTable, table_uri
from brain.storage import location_uri

Dataset = tuple[str, str]  # (namespace, name), as OpenLineage names a dataset
DIRECTIONS = ("upstream", "downstream")


class NoLineage(LookupError):
    pass


def read_events(folder: Path) -> Iterator[dict]:
    """Every event in the folder's files; a line that is not a JSON object (a write cut short) is skipped."""
    if not folder.is_dir():
        return
    for path in sorted(p for p in folder.iterdir() if p.suffix in (".json", ".jsonl") and p.is_file()):
        with path.open(encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if isinstance(event, dict):
                    yield event


def dataset_key(ds: dict) -> Dataset:
    # Spark names a path without its trailing slash, Airflow's file Assets as written: one spelling.
    name = str(ds.get("name", ""))
    return str(ds.get("namespace", "")), (name.rstrip("/") or name)


@dataclass
class Graph:
    """Links input -> output, each with the jobs that made it."""

    down: dict[Dataset, dict[Dataset, set[str]]] = field(default_factory=dict)
    up: dict[Dataset, dict[Dataset, set[str]]] = field(default_factory=dict)
    runs: int = 0

    def link(self, source: Dataset, target: Dataset, job: str) -> None:
        self.down.setdefault(source, {}).setdefault(target, set()).add(job)
        self.up.setdefault(target, {}).setdefault(source, set()).add(job)

    def datasets(self) -> set[Dataset]:
        return set(self.down) | set(self.up)


def build_graph(events: Iterable[dict]) -> Graph:
    """One run's START, RUNNING and COMPLETE events each list part of its datasets: join them per run."""
    runs: dict[str, tuple[str, set[Dataset], set[Dataset]]] = {}
    for ev in events:
        run_id = str((ev.get("run") or {}).get("runId", ""))
        job = ev.get("job") or {}
        job_name = f"{job.get('namespace', '')}/{job.get('name', '')}"
        _, inputs, outputs = runs.setdefault(run_id, (job_name, set(), set()))
        inputs.update(dataset_key(d) for d in ev.get("inputs") or [] if d.get("name"))
        outputs.update(dataset_key(d) for d in ev.get("outputs") or [] if d.get("name"))
    graph = Graph(runs=len(runs))
    for job_name, inputs, outputs in runs.values():
        for source in inputs:
            for target in outputs:
                if source != target:  # a MERGE reads the table it writes: not lineage
                    graph.link(source, target, job_name)
    return graph


@dataclass(frozen=True)
class Hop:
    dataset: Dataset
    depth: int      # 1: read by (or written from) the start directly
    via: Dataset    # the dataset one step nearer the start
    jobs: tuple[str, ...]


def walk(graph: Graph, start: Dataset, direction: str) -> list[Hop]:
    """Breadth first, so each dataset is listed once, at its shortest distance from the start."""
    edges = graph.up if direction == "upstream" else graph.down
    seen = {start}
    hops: list[Hop] = []
    frontier = [start]
    depth = 0
    while frontier:
        depth += 1
        following = []
        for node in frontier:
            for nxt, jobs in sorted(edges.get(node, {}).items()):
                if nxt not in seen:
                    seen.add(nxt)
                    hops.append(Hop(nxt, depth, node, tuple(sorted(jobs))))
                    following.append(nxt)
        frontier = following
    return hops


OBJECT_STORE_NAMESPACES = ("s3://", "s3a://", "s3n://")


def location(ds: Dataset) -> str | None:
    """Where a dataset lives, as the lake config writes locations: a local path, or an
    ``s3a://bucket/key`` URI for an object-store dataset (namespace ``s3://bucket``); None for a topic."""
    namespace, name = ds
    if namespace.startswith(OBJECT_STORE_NAMESPACES):
        bucket = namespace.split("://", 1)[1].strip("/")
        return f"s3a://{bucket}/{name.strip('/')}" if name.strip("/") else f"s3a://{bucket}"
    if namespace in ("file", ""):
        return name
    return None


def label(ds: Dataset, lake_root: Path | str) -> str:
    """A dataset as people here say it: a lake table as ``layer.table``, a topic as ``kafka:topic``,
    another object-store dataset as its ``s3a://`` URI."""
    namespace, name = ds
    if namespace.startswith("kafka"):
        return f"kafka:{name}"
    where = location(ds)
    if where is None:
        return f"{namespace}/{name}"
    root = str(lake_root).rstrip("/") + "/"
    if where.startswith(root):
        parts = where[len(root):].strip("/").split("/")
        if len(parts) == 2 and parts[0] in LAYERS:
            return ".".join(parts)
    return where


def resolve(graph: Graph, what: str, cfg: Config) -> Dataset:
    """``layer.table`` -> its Delta location; anything else is a Kafka topic or a dataset name as recorded."""
    lake_root = location_uri(cfg, "lake.root")
    try:
        path = table_uri(cfg, what)
    except UnknownTable:
        path = None
    known = graph.datasets()
    matches = [d for d in known
               if (path and location(d) == path) or d[1] == what or label(d, lake_root) == what]
    if not matches:
        raise NoLineage(f"no OpenLineage event names {what!r} (looked in {cfg.path('lineage.dir')}; "
                        f"is lineage.enabled on, and has a run written it since?)")
    return sorted(matches)[0]


def lineage(cfg: Config, what: str, directions: Iterable[str] = DIRECTIONS) -> dict:
    graph = build_graph(read_events(cfg.path("lineage.dir")))
    start = resolve(graph, what, cfg)
    root = location_uri(cfg, "lake.root")

    def as_dict(h: Hop) -> dict:
        return {"name": label(h.dataset, root), "namespace": h.dataset[0], "dataset": h.dataset[1],
                "depth": h.depth, "via": label(h.via, root), "jobs": list(h.jobs)}

    return {"table": what, "namespace": start[0], "dataset": start[1], "runs": graph.runs,
            **{d: [as_dict(h) for h in walk(graph, start, d)] for d in directions}}


def render(result: dict) -> str:
    lines = [f"{result['table']}  ({result['namespace']} {result['dataset']})"]
    for direction, arrow in (("upstream", "<-"), ("downstream", "->")):
        if direction not in result:
            continue
        hops = result[direction]
        lines.append(f"\n{direction}:" + ("" if hops else " (none recorded)"))
        for h in hops:
            jobs = ", ".join(j.split("/", 1)[-1] for j in h["jobs"])
            lines.append(f"  {'  ' * (h['depth'] - 1)}{arrow} {h['name']}   (via {h['via']}; job {jobs})")
    return "\n".join(lines)


def add_arguments(p) -> None:
    p.add_argument("table", help="<layer>.<table> (silver.energy_meter), a Kafka topic, or a dataset name")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--upstream", action="store_true", help="only where its rows came from")
    group.add_argument("--downstream", action="store_true", help="only what was made from it")
    p.add_argument("--json", action="store_true", help="machine-readable result")


def run_cli(args, cfg: Config) -> int:
    directions = ["upstream"] if args.upstream else ["downstream"] if args.downstream else list(DIRECTIONS)
    try:
        result = lineage(cfg, args.table, directions)
    except NoLineage as exc:
        print(f"brain lineage: {exc}", file=sys.stderr)
        return 4
    print(json.dumps(result, indent=2) if args.json else render(result))
    return 0
