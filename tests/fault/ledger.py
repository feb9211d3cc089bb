"""Shared pieces of the fault suite: produce with a ledger, run a stage in a killable
process, and the final check every scenario ends with.

The ledger is what the producer can prove: one line per record the broker
acknowledged (brain.simulator.sinks.KafkaSink ``ledger``). A scenario passes
only if every acknowledged record is in silver, quarantine (with a reason) or
the counted duplicates exactly once, no event_id is in silver twice, and
`brain reconcile`'s offset equations hold.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from brain.contracts import topic_names
from brain.faults import ENV as KILL_AT
from brain.ingest import kafka_io
from brain.lake.tables import table_path
from brain.ops.reconcile import reconcile, reconcile_ledger, render
from brain.simulator.sinks import KafkaSink, read_ledger
from tests.energy_data import SITES, meter

BRAIN = str(Path(sys.executable).parent / "brain")


def energy_batch(n: int, tag: str = "") -> tuple[list[tuple[bytes | None, bytes]], dict]:
    """``n`` valid meter readings plus, per ten, one resend (duplicate), one out-of-range and one non-JSON
    message; returns (messages, expected counts)."""
    msgs, expected = [], {"silver": 0, "quarantine": 0, "duplicates": 0}
    for i in range(n):
        rec = meter(SITES[i % 3], float(i % 50 + 1))
        msgs.append((kafka_io.record_key(rec), kafka_io.encode(rec)))
        expected["silver"] += 1
        if i % 10 == 0:
            msgs.append((kafka_io.record_key(rec), kafka_io.encode(rec)))
            expected["duplicates"] += 1
            msgs.append((None, kafka_io.encode(meter("rm-baotou", -5.0))))
            msgs.append((None, f"not json {tag} {i}".encode()))
            expected["quarantine"] += 2
    return msgs, expected


def send(cfg, msgs, ledger: Path, industry: str = "energy", record_type: str = "energy_meter",
         partitions: int | None = None, bulk: bool = False) -> str:
    """Produce (key, value) messages through the project's producer, recording every acknowledgement."""
    topic = topic_names.topic_for(cfg, industry, record_type)
    kafka_io.create_topics(cfg, [topic], partitions=partitions)
    sink = KafkaSink(cfg, ledger=ledger, bulk=bulk)
    for key, value in msgs:
        sink.send(topic, key, value)
    sink.close()
    return topic


def sent_and_ingested(cfg, n: int, ledger: Path) -> tuple[list[tuple[bytes | None, bytes]], dict]:
    """The common start of a scenario: ``energy_batch(n)`` produced with ``ledger`` and ingested
    (bronze, and from the same pass silver, quarantine and duplicates); returns (messages, expected counts)."""
    from brain import pipeline

    msgs, expected = energy_batch(n)
    send(cfg, msgs, ledger)
    pipeline.ingest(cfg, "energy")
    return msgs, expected


def spawn_stage(stage: str, industry: str = "energy", kill_at: str | None = None,
                extra_env: dict | None = None) -> subprocess.Popen:
    """Start brain.pipeline.<stage> in a new process group; see stage_in_subprocess."""
    env = {**os.environ, **(extra_env or {})}
    if kill_at:
        env[KILL_AT] = kill_at
    args = "cfg, sys.argv[2]" + (", 'run_fault'" if stage in ("ingest", "validate") else "")
    code = f"import sys\nfrom brain import config, pipeline\ncfg = config.load()\npipeline.{stage}({args})\n"
    return subprocess.Popen([sys.executable, "-c", code, stage, industry], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def stage_in_subprocess(stage: str, industry: str = "energy", kill_at: str | None = None,
                        timeout: float = 600, extra_env: dict | None = None) -> subprocess.CompletedProcess:
    """Run brain.pipeline.<stage>(cfg, industry[, run_id]) in its own process group (so a kill takes its JVM).

    With ``kill_at`` the process SIGKILLs itself at that brain.faults point; returncode is then -9.
    """
    proc = spawn_stage(stage, industry, kill_at, extra_env)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def count(spark, cfg, table: str, where: str | None = None) -> int:
    path = table_path(cfg, table)
    if not (path / "_delta_log").is_dir():
        return 0
    df = spark.read.format("delta").load(str(path))
    return (df.where(where) if where else df).count()


def assert_nothing_lost_or_doubled(spark, cfg, ledger: Path, industries=("energy",)):
    """The end of every scenario: the ledger check and `brain reconcile`'s equations, with readable failures."""
    acked = read_ledger(ledger)
    assert acked, f"the ledger {ledger} is empty: the scenario produced nothing it could check"
    by_ledger = reconcile_ledger(cfg, acked)
    assert by_ledger.ok, by_ledger.render()
    assert by_ledger.accounted == by_ledger.acked == len({(e["topic"], e["partition"], e["offset"]) for e in acked})
    report = reconcile(cfg, list(industries))
    assert report.ok, render(report)
    assert report.totals()["pending"] == 0, render(report)
    return by_ledger, report


def dump(obj) -> str:
    return json.dumps(obj, indent=1, default=str)[:3000]
