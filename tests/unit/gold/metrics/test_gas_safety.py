"""Gas safety exceedances on a small hand-computed frame, and the configured gas limits."""

from __future__ import annotations

import pytest
from pyspark.testing import assertDataFrameEqual

from brain.config import ConfigError
from tests.unit.gold.metrics.frames import DAY
from tests.unit.gold.metrics.frames import telemetry as _telemetry
from tests.unit.gold.metrics.frames import ts as _ts


def test_daily_exceedances_counts_readings_above_the_limit(spark):
    from brain.gold.metrics.gas_safety import daily_exceedances

    telemetry = _telemetry(spark, "co_concentration", "ppm", [
        ("furnace", _ts(0, 30), "GOOD", 10.0), ("furnace", _ts(1, 0), "GOOD", 36.0),
        ("furnace", _ts(2, 0), "UNCERTAIN", 50.0), ("furnace", _ts(3, 0), "BAD", 80.0),
        ("furnace", _ts(4, 0), "GOOD", 35.0),                                            # at the limit: not above
        ("kiln", _ts(1, 0), "GOOD", 3.0),
    ])
    out = daily_exceedances(telemetry, {"co_concentration": 35.0})
    expected = spark.createDataFrame([
        ("rm-1", "bf-1", "furnace", "co_concentration", DAY, 2, 50.0, 35.0, _ts(1, 0), 4, 1, 1),
        ("rm-1", "bf-1", "kiln", "co_concentration", DAY, 0, 3.0, 35.0, None, 1, 0, 0),
    ], "site string, line string, device string, sensor string, event_date date, exceedances long, "
       "max_value double, threshold double, first_ts timestamp, readings long, records_uncertain long, "
       "records_bad long")
    assertDataFrameEqual(out.select(*expected.columns), expected)


def test_gas_limits_need_every_gas_sensor_with_a_source_and_the_registry_unit():
    from brain import config
    from brain.gold.metrics.gas_safety import gas_limits

    assert gas_limits(config.load(environ={})) == {"co_concentration": 35.0, "h2s_concentration": 10.0}
    with pytest.raises(ConfigError, match="h2s_concentration"):
        gas_limits(config.load(environ={"BRAIN__SAFETY__GAS_LIMITS__H2S_CONCENTRATION__SOURCE": ""}))
    with pytest.raises(ConfigError, match="readings of co_concentration are in 'ppm'"):
        gas_limits(config.load(environ={"BRAIN__SAFETY__GAS_LIMITS__CO_CONCENTRATION__UNIT": "mg/m3"}))
