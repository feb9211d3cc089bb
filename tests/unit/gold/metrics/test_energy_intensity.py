"""Energy per tonne of good product (cross-industry) on small hand-computed frames."""

from __future__ import annotations

import pytest

from brain.gold.kpi import formulas as kpi
from tests.unit.gold.metrics.frames import DAY
from tests.unit.gold.metrics.frames import ts as _ts


def test_energy_per_tonne_of_good_product(spark):
    from brain.gold.metrics.energy_intensity import daily_site_energy_per_tonne

    meters = spark.createDataFrame(
        [("acme", "rm-1", DAY, _ts(1), "GOOD", "electricity", 1000.0, 100.0, 0.9),
         ("acme", "rm-1", DAY, _ts(1), "UNCERTAIN", "coal", 2.0, None, None),
         ("acme", "rm-1", DAY, _ts(2), "BAD", "electricity", 500.0, 50.0, 0.9)],
        "enterprise string, site string, event_date date, event_ts_utc timestamp, quality string, carrier string, "
        "value double, demand_kw double, power_factor double")
    production = spark.createDataFrame(
        [("acme", "rm-1", DAY, _ts(3), "GOOD", 100, 95, "t"), ("acme", "rm-1", DAY, _ts(3), "GOOD", 50, 50, "pcs"),
         ("acme", "rm-1", DAY, _ts(3), "BAD", 40, 40, "t")],
        "enterprise string, site string, event_date date, end_ts_utc timestamp, quality string, produced long, "
        "good long, count_unit string")
    [row] = daily_site_energy_per_tonne(meters, production).collect()
    tce = kpi.to_tce(1000.0, "electricity", "kWh") + kpi.to_tce(2.0, "coal", "t")
    assert (row.good_t, row.produced_t, row.records_not_in_tonnes) == (95.0, 100.0, 1)
    assert row.tce == pytest.approx(tce, rel=1e-12)
    assert row.kgce_per_t == pytest.approx(kpi.energy_intensity(tce * 1000, 95.0), rel=1e-12)
    assert (row.records_uncertain, row.records_bad) == (1, 2)
