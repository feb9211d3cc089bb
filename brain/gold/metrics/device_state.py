"""Which state a device was in when a telemetry reading was taken.

Condition and capability KPIs are about the machine at work: a fan's vibration
while it coasts down, or a furnace's temperature while it is banked, says
nothing about its health or its process. The state comes from the device's
machine_state events (a device stays in a state until its next event,
docs/contracts.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

DEVICE_KEYS = ("enterprise", "site", "line", "device")
_UNKNOWN = "UNKNOWN"


def with_device_state(telemetry: "DataFrame", machine_state: "DataFrame") -> "DataFrame":
    """``telemetry`` plus ``device_state``: the state of its device at ``event_ts_utc``.

    Null when the state is unknown: before the device's first event in
    ``machine_state``, or after a BAD state event (its state is not trusted
    until the next good one). An event at the same instant as a reading applies
    to it. Pass the day before the readings' days in ``machine_state`` too, so
    readings after midnight know the state the device entered the day in.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    states = machine_state.select(
        *DEVICE_KEYS, "event_ts_utc",
        F.when(F.col("quality") != "BAD", F.col("state")).otherwise(F.lit(_UNKNOWN)).alias("_state"),
        F.lit(True).alias("_is_state"))
    readings = telemetry.withColumn("_is_state", F.lit(False)).withColumn("_state", F.lit(None).cast("string"))
    both = readings.unionByName(states, allowMissingColumns=True)
    w = (Window.partitionBy(*DEVICE_KEYS).orderBy(F.col("event_ts_utc"), F.col("_is_state").desc())
         .rowsBetween(Window.unboundedPreceding, Window.currentRow))
    current = F.last("_state", ignorenulls=True).over(w)
    return (both.withColumn("device_state", F.when(current != _UNKNOWN, current))
            .where(~F.col("_is_state")).drop("_is_state", "_state"))
