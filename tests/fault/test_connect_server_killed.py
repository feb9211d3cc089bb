"""The Spark Connect server SIGKILLed mid-batch, restarted with `brain spark start`, the cycle rerun:
nothing lost, nothing doubled.

The server runs the industry pass's batch function in its own Python worker.
Started with BRAIN_FAULT_KILL_AT=silver.between_tables (and
BRAIN_FAULT_KILL_GROUP=1, so the worker takes its whole process group: the
server's JVM), it dies after the batch committed bronze and silver but not
quarantine, duplicates or the streaming checkpoint. The client must fail with
an error, a new `brain run` must say to start the server, and after
`brain spark start` the rerun must finish the batch without writing any row twice.
"""

from __future__ import annotations

import time

import pytest

from brain.faults import ENV as KILL_AT
from brain.faults import GROUP_ENV
from brain.lake.tables import pass_checkpoint
from brain.ops import spark_service as svc
from brain.ops.processes import pid_alive
from tests.connect_env import brain, own_server_cfg, report, rows
from tests.fault.ledger import assert_nothing_lost_or_doubled, energy_batch, send

pytestmark = [pytest.mark.slow, pytest.mark.fault]


@pytest.fixture
def doomed_server(broker, isolated_cfg, tmp_path, monkeypatch):
    """A Spark Connect server of this test's own that SIGKILLs itself at silver.between_tables."""
    cfg = own_server_cfg(monkeypatch, tmp_path)
    monkeypatch.setenv(KILL_AT, "silver.between_tables")
    monkeypatch.setenv(GROUP_ENV, "1")
    first = svc.start(cfg, log=lambda m: None)  # the server (and its workers) inherit the fault switch
    monkeypatch.delenv(KILL_AT)
    monkeypatch.delenv(GROUP_ENV)
    yield cfg, first.pid
    svc.stop(cfg, log=lambda m: None)


def test_server_killed_mid_batch_then_restarted_and_rerun_loses_and_doubles_nothing(doomed_server, tmp_path):
    cfg, pid = doomed_server
    ledger = tmp_path / "ledger.jsonl"
    msgs, expected = energy_batch(120)
    send(cfg, msgs, ledger)
    commits = pass_checkpoint(cfg, "energy") / "commits"

    crashed = brain("run", "--industry", "energy", "--json", timeout=600)
    assert crashed.returncode != 0, crashed.stdout[-2000:]
    deadline = time.monotonic() + 30
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not pid_alive(pid), "the server survived its kill point"
    # The kill landed mid-batch: bronze and silver committed, quarantine and the batch not.
    assert len(rows(cfg, "bronze.energy_meter")) == len(msgs)
    assert len(rows(cfg, "silver.energy_meter")) == expected["silver"]
    assert rows(cfg, "silver.quarantine") == []
    assert not any(commits.glob("[0-9]*"))

    down = brain("run", "--industry", "energy", timeout=300)
    assert down.returncode != 0 and "brain spark start" in down.stdout + down.stderr, down.stderr[-2000:]

    started = brain("spark", "start", timeout=600)
    assert started.returncode == 0, started.stdout[-2000:] + started.stderr[-3000:]
    assert svc.status(cfg).reachable

    report(brain("run", "--industry", "energy", "--json"))
    assert any(commits.glob("[0-9]*"))
    assert_nothing_lost_or_doubled(None, cfg, ledger)
    silver = rows(cfg, "silver.energy_meter")
    assert len(silver) == len({r["event_id"] for r in silver}) == expected["silver"]
    assert len(rows(cfg, "bronze.energy_meter")) == len(msgs)
    assert len(rows(cfg, "silver.quarantine")) == expected["quarantine"]
    assert len(rows(cfg, "quality.duplicates")) == expected["duplicates"]
