"""The pipeline's own OpenLineage events: one COMPLETE run event per stage, naming what it read and wrote.

Why they are needed next to the Spark listener's: the pipeline materialises its frames
(``localCheckpoint``) before it writes them, and a write of a checkpointed frame has no
plan left that names its source; so Spark reports every table write without inputs,
and the Kafka read inside ``foreachBatch`` as a job without outputs (docs/lineage.md).
These events say, at the grain of a pipeline stage, what each stage read and wrote,
with datasets named exactly as the listener names them: ``kafka://<first bootstrap
server>`` + topic, ``file`` + the Delta table's absolute path, or for a lake on s3a://
``s3://<bucket>`` + the table's key (OpenLineage's object-storage naming writes s3a and s3n
locations with the scheme s3).
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timezone
from typing import Iterable

from brain import __version__
from brain.config import Config
from brain.lake.tables import table_path, table_uri
from brain.storage import is_remote, split_uri

log = logging.getLogger(__name__)
PRODUCER = f"urn:enterprise-brain:brain.pipeline:{__version__}"  # a URI, as the spec asks; no web page of ours


def enabled(cfg: Config) -> bool:
    return bool(cfg.get("lineage.enabled", False, type_=bool))


def table_dataset(cfg: Config, name: str) -> tuple[str, str]:
    return location_dataset(table_uri(cfg, name))


def location_dataset(location: str) -> tuple[str, str]:
    """A lake location as an OpenLineage (namespace, name): ``file`` + its path, or for
    ``s3a://bucket/key`` ``s3://bucket`` + ``key``, as the Spark listener names them."""
    if is_remote(location):
        bucket, key = split_uri(location)
        return f"s3://{bucket}", key
    return "file", location


def topic_dataset(cfg: Config, topic: str) -> tuple[str, str]:
    first = str(cfg.get("kafka.bootstrap_servers", type_=str)).split(",")[0].strip()
    return f"kafka://{first}", topic


PARENT_SCHEMA = "https://openlineage.io/spec/facets/1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet"


def parent_facet(parent: dict) -> dict:
    """The ParentRunFacet JSON (pure) of ``parent``: {"namespace", "job", "run_id"} and optionally
    {"root_namespace", "root_job", "root_run_id"} (the DAG run an Airflow task belongs to)."""
    facet = {"_producer": PRODUCER, "_schemaURL": PARENT_SCHEMA,
             "run": {"runId": parent["run_id"]}, "job": {"namespace": parent["namespace"], "name": parent["job"]}}
    if parent.get("root_run_id"):
        facet["root"] = {"run": {"runId": parent["root_run_id"]},
                         "job": {"namespace": parent["root_namespace"], "name": parent["root_job"]}}
    return facet


def run_event(namespace: str, job: str, inputs: Iterable[tuple[str, str]], outputs: Iterable[tuple[str, str]],
              run_id: str, at: datetime, parent: dict | None = None) -> dict:
    """A COMPLETE run event as OpenLineage's JSON (pure); ``parent`` as :func:`parent_facet` takes it."""
    schema = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
    facets = {"parent": parent_facet(parent)} if parent else {}
    return {"eventType": "COMPLETE", "eventTime": at.isoformat(), "producer": PRODUCER, "schemaURL": schema,
            "run": {"runId": run_id, "facets": facets}, "job": {"namespace": namespace, "name": job, "facets": {}},
            "inputs": [{"namespace": n, "name": d, "facets": {}} for n, d in sorted(set(inputs))],
            "outputs": [{"namespace": n, "name": d, "facets": {}} for n, d in sorted(set(outputs))]}


def emit(cfg: Config, job: str, inputs: Iterable[tuple[str, str]], outputs: Iterable[tuple[str, str]]) -> None:
    """Send one stage's event to lineage.url, else append it to this process's file; a lineage failure is
    logged, never raised: lineage must not fail the pipeline run it describes."""
    if not enabled(cfg):
        return
    try:
        _send(cfg, run_event(str(cfg.get("lineage.namespace", type_=str)), job, inputs, outputs,
                             str(_uuid7()), datetime.now(timezone.utc), parent=airflow_parent()))
    except Exception as exc:  # noqa: BLE001 - see the docstring
        log.warning("OpenLineage event of %s not sent: %s", job, exc)


def airflow_parent() -> dict | None:
    """The Airflow task run this process is executing, named as Airflow's OpenLineage provider names it
    (its macros: the same run id its own START/COMPLETE events carry), so a stage's event hangs under
    its task and DAG run; None outside a task (the CLI, the bench)."""
    import sys

    if "airflow.sdk" not in sys.modules:  # a task runs inside Airflow's task runner, which imported it
        return None
    try:
        from airflow.sdk import get_current_context

        ti = get_current_context()["ti"]
    except Exception:  # noqa: BLE001 - not in a task (or no Airflow): no parent
        return None
    from airflow.providers.openlineage.plugins import macros

    return {"namespace": macros.lineage_job_namespace(), "job": macros.lineage_job_name(ti),
            "run_id": macros.lineage_run_id(ti), "root_namespace": macros.lineage_root_job_namespace(ti),
            "root_job": macros.lineage_root_job_name(ti), "root_run_id": macros.lineage_root_run_id(ti)}


def _send(cfg: Config, event: dict) -> None:
    import json

    url = str(cfg.get("lineage.url", "") or "")
    if url:
        from openlineage.client import OpenLineageClient
        from openlineage.client.transport.http import HttpConfig, HttpTransport

        OpenLineageClient(transport=HttpTransport(HttpConfig.from_dict({"url": url}))).emit(_typed(event))
        return
    folder = cfg.path("lineage.dir")
    folder.mkdir(parents=True, exist_ok=True)
    # One file per process, one write per line: nothing else appends to it.
    with (folder / f"brain-{os.getpid()}.jsonl").open("a", encoding="utf-8") as f:
        f.write(json.dumps(event) + "\n")


def _typed(event: dict):
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState

    facets = {}
    parent = event["run"]["facets"].get("parent")
    if parent:
        from openlineage.client.generated import parent_run as p

        root = parent.get("root")
        facets["parent"] = p.ParentRunFacet(
            run=p.Run(runId=parent["run"]["runId"]), job=p.Job(**parent["job"]),
            root=p.Root(run=p.RootRun(runId=root["run"]["runId"]), job=p.RootJob(**root["job"])) if root else None)
    return RunEvent(eventType=RunState.COMPLETE, eventTime=event["eventTime"], producer=PRODUCER,
                    run=Run(runId=event["run"]["runId"], facets=facets),
                    job=Job(namespace=event["job"]["namespace"], name=event["job"]["name"]),
                    inputs=[InputDataset(d["namespace"], d["name"]) for d in event["inputs"]],
                    outputs=[OutputDataset(d["namespace"], d["name"]) for d in event["outputs"]])


def _uuid7():
    from openlineage.client.uuid import generate_new_uuid

    return generate_new_uuid()


# What each stage reads and writes. The pipeline calls these after a stage that moved rows.

def ingest(cfg: Config, industry: str, lanes, out: dict) -> None:
    """The pass: each topic into its bronze table; each bronze table's rows into silver, quarantine, duplicates
    (the pass judges the rows it appends to bronze, so bronze is what silver came from)."""
    from brain.lake.tables import DUPLICATES, QUARANTINE

    if not enabled(cfg):
        return
    moved = {c["table"] for c in out.get("clean", []) if c.get("bronze_rows")}
    moved |= {i["table"] for i in out.get("ingest", []) if i.get("rows")}
    for lane in lanes:
        if lane.silver not in moved and lane.bronze not in moved:
            continue
        record_type = lane.silver.split(".", 1)[1]
        emit(cfg, f"{industry}.ingest.{record_type}", [topic_dataset(cfg, lane.topic)],
             [table_dataset(cfg, lane.bronze)])
        emit(cfg, f"{industry}.clean.{record_type}", [table_dataset(cfg, lane.bronze)],
             [table_dataset(cfg, t) for t in (lane.silver, QUARANTINE, DUPLICATES)])


def publish(cfg: Config, industry: str, sources: dict[str, tuple[str, ...]], results: list[dict]) -> None:
    """``sources``: gold table -> the silver tables it is computed from; the scorecard reads them all
    and the quarantine and duplicates next to them."""
    from brain.lake.tables import DUPLICATES, QUARANTINE

    if not enabled(cfg):
        return
    everything = sorted({s for names in sources.values() for s in names} | {QUARANTINE, DUPLICATES})
    for r in results:
        if r.get("days"):
            emit(cfg, f"{industry}.publish.{r['table'].split('.', 1)[1]}",
                 [table_dataset(cfg, s) for s in sources.get(r["table"], everything)],
                 [table_dataset(cfg, r["table"])])


def derived(cfg: Config, job: str, inputs: Iterable[str], output: str) -> None:
    """A table computed from other lake tables (the enterprise brain, cross-industry gold)."""
    from brain.lake.tables import is_delta

    if not enabled(cfg):  # spare the existence checks
        return
    emit(cfg, job, [table_dataset(cfg, t) for t in inputs if is_delta(table_path(cfg, t))],
         [table_dataset(cfg, output)])


def announced(cfg: Config, tables: Iterable[str], topic: str) -> None:
    emit(cfg, "enterprise.announce", [table_dataset(cfg, t) for t in tables], [topic_dataset(cfg, topic)])


def enterprise_sources(lines: dict[str, str]) -> dict[str, list[str]]:
    """What brain.gold.enterprise.build reads for each of its two tables (kept next to it by the
    lineage unit test, which checks every name here is a table build reads)."""
    from brain.gold import enterprise as e

    return {e.ENTERPRISE_BRAIN: [*lines.values(), e.ENERGY, e.SCORECARD, e.PDM_ALERTS, e.SAFETY],
            e.ENTERPRISE_BRAIN_HOURLY: [*e.hourly_line_tables(lines).values(), e.ENERGY_HOURLY, e.PDM_ALERTS]}
