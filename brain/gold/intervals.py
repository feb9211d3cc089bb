"""Interval records belong to the period their interval covers, not to the date of their stamp.

A meter reading (energy_meter: the ``interval_s`` seconds ending at
``event_ts``) and a production report (``start_ts`` .. ``end_ts``,
docs/contracts.md) are stamped at the END of what they measure. Silver's
``event_date`` is the stamp's UTC date (brain.clean), so the reading stamped
00:00 of day D+1 lies in silver day D+1 while it measures 23:45-24:00 of day D.
Gold re-keys such records to the UTC day and hour holding the interval's last
instant (end minus one microsecond): 00:00 -> the day before, 10:00 -> the
09:00 hour. An interval that straddles a period boundary (a production report
from 23:55 to 00:10) counts whole in the period its end falls in; nothing is
prorated, so a total over periods equals the total over records.

Because of this, computing gold day D needs silver day D+1 as well
(:func:`brain.gold.publish.source_days`), and a new record in silver day D+1
whose interval lies (partly) in day D makes gold day D pending too
(:func:`days_before`, :func:`brain.gold.publish.earlier_days`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

# Record type -> the silver column holding the END of the interval it covers. production's own
# interval fields are authoritative (its contract only asks event_ts = end_ts).
INTERVAL_END = {"energy_meter": "event_ts_utc", "production": "end_ts_utc"}


def last_instant(end_ts: "Column") -> "Column":
    """The last microsecond an interval ending at ``end_ts`` covers."""
    from pyspark.sql import functions as F

    return end_ts - F.expr("INTERVAL 1 MICROSECOND")


def interval_hour(end_ts: "Column") -> "Column":
    """The UTC hour an interval ending at ``end_ts`` belongs to (10:00 -> 09:00, 00:00 -> 23:00 the day before)."""
    from pyspark.sql import functions as F

    return F.date_trunc("hour", last_instant(end_ts))


def by_interval(df: "DataFrame", record_type: str) -> "DataFrame":
    """``df`` with ``event_date`` replaced by the UTC day its records' intervals cover."""
    from pyspark.sql import functions as F

    return df.withColumn("event_date", F.to_date(last_instant(F.col(INTERVAL_END[record_type]))))


def days_before(df: "DataFrame", record_type: str) -> "DataFrame":
    """The distinct days (``event_date``) that records of ``df`` cover before their silver
    ``event_date``: the day before, for a reading stamped 00:00."""
    from pyspark.sql import functions as F

    covered = F.to_date(last_instant(F.col(INTERVAL_END[record_type])))
    return df.where(covered < F.col("event_date")).select(covered.alias("event_date")).distinct()
