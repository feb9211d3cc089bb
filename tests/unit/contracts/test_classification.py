"""Every column of every table the pipeline writes resolves to a GB/T 43697 grade (conf/contracts/classification.yaml).

A contract that gains a field, or a table that gains a column, without a declaration fails here
(the silver, bronze, quarantine and ledger schemas are known without a lake); the gold KPI tables'
columns are checked on a real lake by tests/integration/test_catalog_privacy.py.
"""

from __future__ import annotations

import pytest

from brain.clean.fate import QUARANTINE_COLUMNS, silver_columns
from brain.clean.pseudonym import KEY_ID_SUFFIX
from brain.clean.shared_tables import SHARED_TABLES
from brain.contracts.classification import ClassificationError, Grade, load, parse, parse_property, property_value
from brain.contracts.specs import record_spec
from brain.gold.enterprise import ENTERPRISE_BRAIN, ENTERPRISE_BRAIN_HOURLY, EXTRA, columns
from brain.lake.tables import bronze_table, silver_table
from brain.quality.scorecard import COLUMNS as SCORECARD_COLUMNS
from brain.quality.scorecard import SCORECARD


def _silver_tables(cfg):
    from brain.clean.pseudonym import personal_fields

    for ind in cfg.industry_names():
        for rt in cfg.get(f"industries.{ind}.record_types"):
            cols = silver_columns(record_spec(ind, rt))
            # What brain.clean.pseudonym adds next to each personal field, and the run id.
            cols += [f + KEY_ID_SUFFIX for f in personal_fields(cfg) if f in cols] + ["_run_id"]
            yield ind, rt, cols


def test_every_silver_column_of_every_contract_has_a_level(base_cfg):
    c = load()
    missing = {silver_table(ind, rt): c.ungraded(silver_table(ind, rt), cols) for ind, rt, cols in
               _silver_tables(base_cfg)}
    assert {t: m for t, m in missing.items() if m} == {}


def test_shared_tables_quarantine_bronze_and_enterprise_gold_have_levels(base_cfg, spark):
    from brain.ingest.bronze import kafka_to_bronze_frame

    c = load()
    kafka = spark.createDataFrame([], "key binary, value binary, topic string, partition int, offset long, "
                                      "timestamp timestamp, timestampType int, headers array<struct<key:string,"
                                      "value:binary>>")
    bronze_cols = kafka_to_bronze_frame(kafka).columns
    tables = {bronze_table("energy", "energy_meter"): bronze_cols, "silver.quarantine": list(QUARANTINE_COLUMNS),
              ENTERPRISE_BRAIN: [n for n, _ in columns(False) + EXTRA],
              ENTERPRISE_BRAIN_HOURLY: [n for n, _ in columns(True) + EXTRA],
              SCORECARD: list(SCORECARD_COLUMNS)}
    tables.update({name: [part.split()[0].strip("`") for part in ddl.split(",")]
                   for name, (ddl, _) in SHARED_TABLES.items()})
    assert {t: c.ungraded(t, cols) for t, cols in tables.items() if c.ungraded(t, cols)} == {}
    # Bronze holds raw payloads (operator_id included): restricted; quarantine's are pseudonymised.
    assert c.resolve(bronze_table("energy", "energy_meter"), "payload") == Grade("core", "raw_record", None, True)
    assert c.resolve("silver.quarantine", "payload").level == "important"


def test_personal_fields_are_flagged_personal(base_cfg):
    from brain.clean.pseudonym import personal_fields

    c = load()
    for ind, rt, cols in _silver_tables(base_cfg):
        for f in personal_fields(base_cfg):
            if f in cols:
                assert c.resolve(silver_table(ind, rt), f).personal, (ind, rt, f)


def test_a_column_nobody_declared_has_no_level_and_overrides_merge():
    c = parse({"levels": {"general": "", "important": "", "core": ""},
               "columns": {"site": {"level": "general", "domain": "asset"},
                           "*_kwh": {"level": "important", "domain": "energy", "unit": "kWh"}},
               "tables": {"bronze.*": {"site": {"level": "core"}}}})
    assert c.resolve("silver.x", "brand_new_column") is None
    assert c.ungraded("silver.x", ["site", "brand_new_column"]) == ["brand_new_column"]
    assert c.resolve("bronze.x", "site") == Grade("core", "asset")
    assert c.resolve("gold.x", "electricity_kwh") == Grade("important", "energy", "kWh")
    assert parse_property(property_value("gold.x", ["site", "new"], c)) == {"site": Grade("general", "asset"),
                                                                           "new": None}


@pytest.mark.parametrize("doc, message", [
    ({"levels": {"low": "", "high": ""}}, "levels must be general, important, core"),
    ({"levels": {"general": "", "important": "", "core": ""}, "columns": {"x": {"level": "secret"}}},
     "level 'secret'"),
    ({"levels": {"general": "", "important": "", "core": ""}, "columns": {"x": {"levle": "core"}}},
     "unknown key"),
])
def test_a_malformed_declaration_is_refused(doc, message):
    with pytest.raises(ClassificationError, match=message):
        parse(doc)
