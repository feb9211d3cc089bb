"""A small lake with every table the analyst surfaces read, in their contracted schemas.

Written with Spark as the pipeline writes them (path-based Delta), small
enough to reason about: 2 sites x 3 days of gold.enterprise_brain, a handful
of PdM alerts and defects, one data-quality row per industry/site/day and a
genealogy with a lot split over two batches and a batch split over two
shipments.
"""

from __future__ import annotations

import datetime as dt
import time

D1, D2, D3 = dt.date(2026, 3, 1), dt.date(2026, 3, 2), dt.date(2026, 3, 3)
COMPUTED = dt.datetime(2026, 3, 4, 1, 0, 0)

ENTERPRISE_SCHEMA = (
    "enterprise string, site string, event_date date, oee double, availability double, performance double, "
    "quality_ratio double, produced_count long, good_count long, energy_kwh double, energy_tce double, "
    "co2_t double, peak_demand_kw double, dq_score double, pdm_alerts long, safety_exceedances long, "
    "records_bad long, records_uncertain long, computed_at timestamp")


def _ent(site, day, a, p, q, produced, kwh, dq, alerts):
    good = round(produced * q)
    return ("ACME", site, day, round(a * p * q, 6), a, p, q, produced, good, kwh, round(kwh * 0.1229 / 1000, 6),
            round(kwh * 0.5703 / 1000, 6), kwh / 20, dq, alerts, 0, 1, 2, COMPUTED)


ENTERPRISE_ROWS = [
    _ent("S1", D1, 0.9, 0.8, 0.95, 10000, 5000.0, 0.99, 0),
    _ent("S1", D2, 0.85, 0.8, 0.9, 9000, 5200.0, 0.97, 1),
    _ent("S1", D3, 0.9, 0.85, 0.8, 8000, 4800.0, 0.95, 2),
    _ent("S2", D1, 0.7, 0.9, 0.99, 4000, 3000.0, 1.0, 0),
    _ent("S2", D2, 0.75, 0.91, 0.98, 4200, 3100.0, 0.99, 0),
    _ent("S2", D3, 0.8, 0.95, 0.97, 4400, 3050.0, 0.92, 1),
]

# A preliminary version of the table (S1's last day recomputed later): version 0, for time travel.
PRELIMINARY_ROWS = [r[:3] + (0.5,) + r[4:] if r[1] == "S1" and r[2] == D3 else r for r in ENTERPRISE_ROWS]

PDM_SCHEMA = ("industry string, site string, line string, device string, sensor string, event_date date, "
              "alert_ts timestamp, level string, health_index double, vibration_rms double, reason string, "
              "computed_at timestamp")
PDM_ROWS = [
    ("equipment_manufacturing", "S1", "L1", "cnc-1", "spindle_vibration", D2, dt.datetime(2026, 3, 2, 10, 5),
     "WARNING", 0.71, 4.2, "vibration RMS trend above warning", COMPUTED),
    ("equipment_manufacturing", "S1", "L1", "cnc-1", "spindle_vibration", D3, dt.datetime(2026, 3, 3, 8, 0),
     "ALARM", 0.42, 7.9, "health index below alarm", COMPUTED),
    ("equipment_manufacturing", "S1", "L2", "cnc-4", "spindle_vibration", D3, dt.datetime(2026, 3, 3, 9, 30),
     "WARNING", 0.68, 4.4, "vibration RMS trend above warning", COMPUTED),
    ("raw_materials", "S2", "K1", "kiln-fan", "fan_vibration", D3, dt.datetime(2026, 3, 3, 23, 59, 59),
     "WARNING", 0.74, 3.9, "vibration RMS trend above warning", COMPUTED),
]

PARETO_SCHEMA = ("site string, line string, event_date date, defect_code string, defects long, share double, "
                 "cumulative_share double, rank int, computed_at timestamp")
PARETO_ROWS = [
    ("S1", "F1", D2, "SEAL_LEAK", 30, 0.6, 0.6, 1, COMPUTED),
    ("S1", "F1", D2, "UNDERFILL", 20, 0.4, 1.0, 2, COMPUTED),
    ("S1", "F1", D3, "SEAL_LEAK", 12, 0.5, 0.5, 1, COMPUTED),
    ("S1", "F1", D3, "LABEL_SKEW", 9, 0.375, 0.875, 2, COMPUTED),
    ("S1", "F1", D3, "UNDERFILL", 3, 0.125, 1.0, 3, COMPUTED),
]

DQ_SCHEMA = ("industry string, site string, event_date date, completeness double, timeliness double, "
             "validity double, uniqueness double, consistency double, accuracy double, overall double")
DQ_ROWS = [
    ("consumer_goods", "S1", D3, 0.99, 0.97, 0.995, 1.0, 1.0, 0.96, 0.986),
    ("energy", "S1", D3, 0.8, 1.0, 0.9, 1.0, None, None, 0.9),
    ("raw_materials", "S2", D3, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0),
]

GENEALOGY_SCHEMA = ("event_id string, site string, line string, event_date date, link_type string, "
                    "parent_id string, child_id string, quantity double, unit string, material string")
GENEALOGY_ROWS = [
    ("e1", "S1", "F1", D1, "lot_to_batch", "LOT-A", "B-1", 120.5, "kg", "sugar"),
    ("e2", "S1", "F1", D1, "lot_to_batch", "LOT-A", "B-2", 80.0, "kg", "sugar"),
    ("e3", "S1", "F1", D1, "lot_to_batch", "LOT-W", "B-2", 300.0, "L", "water"),
    ("e4", "S1", "F1", D1, "batch_to_shipment", "B-1", "SHP-1", 600.0, "pcs", None),
    ("e5", "S1", "F1", D2, "batch_to_shipment", "B-2", "SHP-1", 250.0, "pcs", None),
    ("e6", "S1", "F1", D2, "batch_to_shipment", "B-2", "SHP-2", 350.0, "pcs", None),
    ("e7", "S1", "F1", D2, "lot_to_batch", "LOT-Z", "B-3", 10.0, "kg", "salt"),
]

OEE_LINE_SCHEMA = ("enterprise string, site string, line string, event_date date, pbt_s double, "
                   "ideal_good_s double, availability double, effectiveness double, quality_ratio double, oee double")
OEE_LINE_ROWS = [
    ("ACME", "S1", "F1", D1, 28800.0, 21600.0, 0.9, 0.9, 0.926, 0.75),
    ("ACME", "S1", "F1", D2, 0.0, 0.0, None, None, None, None),          # a planned-down day
    ("ACME", "S1", "F1", D3, 14400.0, 7200.0, 0.8, 0.7, 0.893, 0.5),
    ("ACME", "S1", "F2", D3, 28800.0, 27360.0, 0.98, 0.99, 0.979, 0.95),
]

ENERGY_T_SCHEMA = ("enterprise string, site string, event_date date, tce double, tco2 double, good_t double, "
                   "kgce_per_t double")
ENERGY_T_ROWS = [
    ("ACME", "S2", D1, 12.0, 30.0, 100.0, 120.0),
    ("ACME", "S2", D2, 13.0, 32.0, 100.0, 130.0),
    ("ACME", "S3", D2, 5.0, 12.0, 50.0, 100.0),
]

QUARANTINE_SCHEMA = ("industry string, record_type string, reason string, event_id string, topic string, "
                     "quarantined_at timestamp")
QUARANTINE_ROWS = [
    ("energy", "energy_meter", "unknown_unit", "q1", "energy.energy_meter", COMPUTED),
    ("energy", "energy_meter", "unknown_unit", "q2", "energy.energy_meter", COMPUTED),
    ("consumer_goods", "telemetry", "malformed_json", "q3", "consumer_goods.telemetry", COMPUTED),
]

TABLES = {
    "gold.enterprise_brain": (ENTERPRISE_SCHEMA, ENTERPRISE_ROWS),
    "gold.pdm_alerts": (PDM_SCHEMA, PDM_ROWS),
    "gold.consumer_goods_defect_pareto_daily": (PARETO_SCHEMA, PARETO_ROWS),
    "gold.data_quality_daily": (DQ_SCHEMA, DQ_ROWS),
    "silver.consumer_goods_material_genealogy": (GENEALOGY_SCHEMA, GENEALOGY_ROWS),
    "gold.consumer_goods_oee_daily_line": (OEE_LINE_SCHEMA, OEE_LINE_ROWS),
    "gold.raw_materials_energy_per_tonne_daily_site": (ENERGY_T_SCHEMA, ENERGY_T_ROWS),
    "silver.quarantine": (QUARANTINE_SCHEMA, QUARANTINE_ROWS),
}


def write(spark, cfg, name: str, rows=None, mode: str = "overwrite") -> None:
    from brain.lake.tables import table_path

    schema, default_rows = TABLES[name]
    df = spark.createDataFrame(default_rows if rows is None else rows, schema)
    part = "event_date" if "event_date" in df.columns else "industry"   # as the pipeline partitions them
    df.coalesce(1).write.format("delta").mode(mode).partitionBy(part).save(str(table_path(cfg, name)))


def build_lake(spark, cfg) -> None:
    """Every table; gold.enterprise_brain twice (version 0 preliminary, version 1 final), a second apart."""
    write(spark, cfg, "gold.enterprise_brain", PRELIMINARY_ROWS)
    time.sleep(1.2)
    for name in TABLES:
        write(spark, cfg, name)
