"""A pipeline run SIGKILLed at random points, then rerun: nothing lost, nothing doubled.

The run is a real `brain run` process (Python driver + its Spark JVM), killed
as a process group, so whatever was in flight - a Kafka read, a Delta commit,
a checkpoint write - dies mid-way.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.fault]
BRAIN = str(Path(sys.executable).parent / "brain")


def _kill_after(delay: float) -> int:
    proc = subprocess.Popen([BRAIN, "run", "--industry", "energy"], env=os.environ.copy(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        proc.wait(timeout=delay)
        return proc.returncode  # finished before the kill: still a valid run
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return -9


def test_sigkill_at_random_points_then_rerun(broker, spark, isolated_cfg, tmp_path):
    from pyspark.sql import functions as F

    from brain.lake.tables import table_path
    from brain.pipeline import run_cycle
    from brain.simulator.run import run_simulation
    from tests.fault.ledger import assert_nothing_lost_or_doubled

    cfg = isolated_cfg
    ledger = tmp_path / "ledger.jsonl"
    start = (datetime.now(timezone.utc) - timedelta(days=2)).date().isoformat()
    summary = run_simulation(cfg, industry="energy", records=2000, seed=5, bad_ratio=0.1, start=start, ledger=ledger)

    seed = int(time.time())
    rng = random.Random(seed)
    kills = [_kill_after(rng.uniform(10, 45)) for _ in range(2)]
    run_cycle(cfg, ["energy"], log=lambda m: None)  # the rerun after the kills

    try:
        assert_nothing_lost_or_doubled(spark, cfg, ledger)
    except AssertionError as exc:
        raise AssertionError(f"kill delays from seed {seed}, exit codes {kills}: {exc}") from exc
    read = lambda t: spark.read.format("delta").load(str(table_path(cfg, t)))  # noqa: E731
    valid = summary.kinds["clean"] + summary.kinds["alternate_unit"] + summary.kinds["late_event"]
    silver = read("silver.energy_meter")
    assert silver.count() == valid == silver.select("event_id").distinct().count(), (seed, kills)
    assert read("quality.duplicates").count() == summary.kinds["duplicate"]
    assert read("silver.quarantine").count() == summary.bad_total
    assert read("bronze.energy_meter").select("offset", "partition").distinct().count() == summary.total
    assert read("bronze.energy_meter").count() == summary.total, "bronze holds a Kafka record twice"
    assert read("silver.energy_meter").where(F.col("_run_id").isNull()).count() == 0
