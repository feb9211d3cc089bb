"""Record specs shared by the producing industries, and their common gold table.

The fields mirror the JSON Schemas in conf/contracts/; instrument ranges and
units of telemetry come from the asset registry (conf/assets.yaml).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from brain.contracts.specs import Field, RecordSpec

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

CONTRACT_VERSION = "1.0"
COUNT_MAX = 4294967295  # uint32, as PackML counters


@lru_cache(maxsize=1)
def sensor_ranges() -> dict[str, tuple[float, float, str]]:
    """sensor -> (instrument min, instrument max, standard unit), from the asset registry."""
    from brain.contracts import load_registry

    return {name: (float(s.instrument[0]), float(s.instrument[1]), s.unit)
            for name, s in load_registry().sensors.items()}


def telemetry(industry: str) -> RecordSpec:
    return RecordSpec(
        industry=industry, record_type="telemetry", contract_version=CONTRACT_VERSION,
        fields=(Field("sensor", "string"), Field("value", "double"), Field("unit", "string")),
        value_field="value", unit_field="unit", range_by=("sensor", sensor_ranges()))


def machine_state(industry: str) -> RecordSpec:
    return RecordSpec(
        industry=industry, record_type="machine_state", contract_version=CONTRACT_VERSION,
        fields=(Field("state", "string", allowed=("RUNNING", "IDLE", "DOWN", "SETUP")),
                Field("reason_code", "string", required=False, nullable_present=True),
                Field("planned", "boolean")))


def production(industry: str) -> RecordSpec:
    counts = tuple(Field(n, "long", min=0, max=COUNT_MAX) for n in ("produced", "good", "scrap", "rework"))
    return RecordSpec(
        industry=industry, record_type="production", contract_version=CONTRACT_VERSION,
        fields=(Field("order_id", "string"), Field("batch_id", "string"), Field("product", "string"),
                Field("planned_cycle_time_s", "double", min=1e-6, max=86400.0),
                *counts,
                Field("start_ts", "timestamp"), Field("end_ts", "timestamp"),
                Field("count_unit", "string", required=False, allowed=("pcs", "t"))))


def quality_inspection(industry: str) -> RecordSpec:
    return RecordSpec(
        industry=industry, record_type="quality_inspection", contract_version=CONTRACT_VERSION,
        fields=(Field("batch_id", "string"),
                Field("inspected", "long", min=0, max=COUNT_MAX), Field("passed", "long", min=0, max=COUNT_MAX),
                Field("defect_codes", "array<string>"), Field("product", "string", required=False)))


def record_specs(industry: str) -> dict[str, RecordSpec]:
    """The record types every producing industry sends."""
    return {"telemetry": telemetry(industry), "machine_state": machine_state(industry),
            "production": production(industry), "quality_inspection": quality_inspection(industry)}


def gold_tables(industry: str) -> dict:
    """The gold tables every producing industry has: counts and OEE per line and day and
    hour, and the ISA-95 roll-ups (site, enterprise). A dict the industry modules merge
    their own tables into: gold table -> (source record type(s), transform)."""
    from brain.gold.kpi.columns import daily_line_oee, hourly_line_oee
    from brain.gold.rollup import gold_transforms

    return {
        f"gold.{industry}_daily_line_production": ("production", daily_line_production),
        f"gold.{industry}_oee_daily_line": (("production", "machine_state"), daily_line_oee),
        f"gold.{industry}_oee_hourly_line": (("production", "machine_state"), hourly_line_oee),
        **gold_transforms(industry),
    }


def daily_line_production(production_df: "DataFrame") -> "DataFrame":
    """Counts per line and day, and the ISO 22400 quality ratio GQ/PQ.

    BAD records are excluded (and counted); UNCERTAIN ones are kept and counted.
    A line whose every record was BAD still gets its row, with zero counts.
    """
    from pyspark.sql import functions as F

    from brain.gold.kpi import formulas as kpi
    from brain.gold.kpi.columns import kpi_column

    good_rec = F.col("quality") != "BAD"
    agg = [F.coalesce(F.sum(F.when(good_rec, F.col(c))), F.lit(0)).alias(c)
           for c in ("produced", "good", "scrap", "rework")]
    out = (production_df.groupBy("enterprise", "site", "line", "event_date")
           .agg(*agg, F.count(F.when(good_rec, 1)).alias("records"),
                F.count(F.when(F.col("quality") == "UNCERTAIN", 1)).alias("uncertain_records"),
                F.count(F.when(~good_rec, 1)).alias("bad_records_excluded")))
    q, _ = kpi_column(kpi.QUALITY_RATIO, F.col("good"), F.col("produced"))
    return out.withColumn("quality_ratio", q)
