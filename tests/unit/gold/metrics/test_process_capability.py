"""Process capability (Cp, Cpk) per device, sensor and day on a small hand-computed frame."""

from __future__ import annotations

import math

from pyspark.testing import assertDataFrameEqual

from tests.unit.gold.metrics.frames import LOC
from tests.unit.gold.metrics.frames import telemetry as _telemetry
from tests.unit.gold.metrics.frames import ts as _ts


def test_daily_capability_uses_running_readings_only(spark):
    from brain.gold.metrics.process_capability import daily_capability

    telemetry = _telemetry(spark, "furnace_temp", "degC", [
        ("furnace", _ts(1), "GOOD", 1500.0), ("furnace", _ts(2), "UNCERTAIN", 1510.0),   # UNCERTAIN: kept
        ("furnace", _ts(3), "GOOD", 1520.0), ("furnace", _ts(4), "GOOD", 1510.0),
        ("furnace", _ts(5), "BAD", 1800.0),                                              # excluded, counted
        ("furnace", _ts(7), "GOOD", 1150.0),                                             # banked: not running
        ("furnace-2", _ts(1), "GOOD", 1500.0), ("furnace-2", _ts(2), "GOOD", 1502.0),    # too few samples
    ])
    states = spark.createDataFrame(
        [(*LOC, "furnace", _ts(0), "GOOD", "RUNNING"), (*LOC, "furnace", _ts(6), "GOOD", "IDLE"),
         (*LOC, "furnace-2", _ts(0), "GOOD", "RUNNING")],
        "enterprise string, site string, line string, device string, event_ts_utc timestamp, quality string, "
        "state string")
    out = daily_capability(telemetry, states, {"furnace_temp": (1480.0, 1550.0)}, min_samples=3)
    sigma = math.sqrt(200 / 3)  # sample sd of 1500, 1510, 1520, 1510
    expected = spark.createDataFrame([
        ("furnace", 4, 1510.0, sigma, (1510 - 1480) / (3 * sigma), 70 / (6 * sigma), [], 1, 1, 1),
        ("furnace-2", 2, 1501.0, math.sqrt(2), None, None, ["too_few_samples"], 0, 0, 0),
    ], "device string, samples long, mean double, stdev double, cpk double, cp double, flags array<string>, "
       "readings_not_running long, records_uncertain long, records_bad long")
    assertDataFrameEqual(out.select(*expected.columns), expected, rtol=1e-9)
    assert {(r.lsl, r.usl, r.unit) for r in out.collect()} == {(1480.0, 1550.0, "degC")}
