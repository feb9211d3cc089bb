"""A contract gains an optional field (1.1): the next cycle's silver has it, on the real broker and real Delta."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from brain import config, pipeline
from brain.clean.schema_evolution import CONTRACT_PROPERTY
from brain.ingest import kafka_io
from brain.lake.tables import table_path
from tests.contract_versions import add_meter_version, copy_conf
from tests.energy_data import meter as energy_meter
from tests.energy_data import send

pytestmark = pytest.mark.integration

SILVER = "silver.energy_meter"


def _msgs(records: list[dict]) -> list[tuple[bytes, bytes]]:
    return [(kafka_io.record_key(r), kafka_io.encode(r)) for r in records]


def test_an_optional_field_of_contract_1_1_is_a_silver_column_after_one_cycle(broker, spark, isolated_cfg,
                                                                            tmp_path, monkeypatch):
    from delta.tables import DeltaTable

    cfg = isolated_cfg
    day = datetime.now(timezone.utc) - timedelta(hours=1)  # one event day for both cycles

    def meter(*args, **over):
        return energy_meter(*args, day=day, **over)

    old = [meter("rm-baotou", 10.0), meter("rm-ludwigshafen", 5.0)]
    send(cfg, _msgs(old))
    pipeline.run_cycle(cfg, ["energy"], log=lambda m: None)
    silver = DeltaTable.forPath(spark, str(table_path(cfg, SILVER)))
    assert "meter_serial" not in silver.toDF().columns
    assert silver.detail().first()["properties"][CONTRACT_PROPERTY] == "1.0"

    # The data engineer declares the field in contract 1.1; the factory sends it.
    conf = copy_conf(tmp_path / "conf")
    add_meter_version(conf / "contracts", "1.1", {"meter_serial": {"type": "string"}})
    monkeypatch.setenv("BRAIN_CONF_DIR", str(conf))
    cfg = config.load()
    serial = meter("rm-baotou", 3.0, schema_version="1.1", meter_serial="EM-4711")
    # firmware: not in any contract
    ahead = meter("rm-ludwigshafen", 1.0, schema_version="1.1", meter_serial="EM-0815", firmware="3.2")
    still_10 = meter("rm-ludwigshafen", 2.0)
    breaking = meter("rm-baotou", 4.0, schema_version="2.0", meter_serial="EM-4711")
    send(cfg, _msgs([serial, ahead, still_10, breaking]))
    report = pipeline.run_cycle(cfg, ["energy"], log=lambda m: None)

    clean = report.industries["energy"]["clean"][0]
    assert (clean["bronze_rows"], clean["inserted"], clean["quarantined"]) == (4, 3, 1)
    assert clean["undeclared_fields"] == {"firmware": 1}
    df = DeltaTable.forPath(spark, str(table_path(cfg, SILVER))).toDF()
    assert df.columns.index("meter_serial") == df.columns.index("power_factor") + 1  # where a new table has it
    assert {r["event_id"]: r["meter_serial"] for r in df.collect()} == {
        old[0]["event_id"]: None, old[1]["event_id"]: None, serial["event_id"]: "EM-4711",
        ahead["event_id"]: "EM-0815", still_10["event_id"]: None}
    assert silver.detail().first()["properties"][CONTRACT_PROPERTY] == "1.1"
    quarantined = spark.read.format("delta").load(str(table_path(cfg, "silver.quarantine"))).collect()
    assert [(r["event_id"], r["reason"]) for r in quarantined] == [(breaking["event_id"], "schema_mismatch")]

    # Validation and gold run on the wider table as before.
    validated = report.industries["energy"]["validate"][0]
    assert validated["validated"] and validated["success"] and validated["rows"] == 3
    kwh = {r["site"]: r["electricity_kwh"] for r in spark.read.format("delta")
           .load(str(table_path(cfg, "gold.energy_daily_site_kwh"))).collect()}
    assert kwh == pytest.approx({"rm-baotou": 13.0, "rm-ludwigshafen": 8.0})
