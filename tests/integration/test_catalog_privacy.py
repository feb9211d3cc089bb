"""After one cycle of simulated data (raw materials, whose record types all carry operator_id, with bad
records; every contract's silver columns are checked without a lake by tests/unit/contracts):
every column of every Delta table has a GB/T 43697 level (`brain catalog --json`), and no table
but bronze holds a raw operator_id: silver holds its HMAC-SHA-256 pseudonym, quarantine payloads
a marked pseudonym, and neither GX results nor Data Docs the raw value."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from pathlib import Path

import pytest

from brain import pipeline
from brain.clean.pseudonym import load_key
from brain.cli.main import main
from brain.lake.maintenance import lake_tables
from brain.lake.tables import table_path
from brain.simulator import run_simulation

pytestmark = [pytest.mark.integration, pytest.mark.slow]

OPERATOR_TYPES = ("machine_state", "production", "quality_inspection")
INDUSTRY = "raw_materials"


def _catalog(capsys, *args) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(["catalog", "--json", *args])
    return code, json.loads(capsys.readouterr().out)


def test_every_column_is_graded_and_no_table_but_bronze_holds_a_raw_operator_id(broker, spark, isolated_cfg,
                                                                                capsys):
    from pyspark.sql import functions as F

    cfg = isolated_cfg
    run_simulation(cfg, industry=INDUSTRY, sites=1, lines=1, devices=2, days=1, records=800, seed=5,
                   bad_ratio=0.08)
    pipeline.run_cycle(cfg, [INDUSTRY], log=lambda m: None)
    tables = lake_tables(cfg)
    assert any(t.startswith("gold.") for t in tables) and "silver.quarantine" in tables

    # -- classification: every column of every table has a level and a personal flag
    code, out = _catalog(capsys)
    assert code == 0 and out["ungraded"] == []
    assert sorted(t["table"] for t in out["tables"]) == sorted(tables)
    for t in out["tables"]:
        for c in t["columns"]:
            assert c["level"] in ("general", "important", "core") and isinstance(c["personal"], bool), (t, c)
    by_name = {t["table"]: t for t in out["tables"]}
    # Written into the tables by the writers that create them (bronze, silver, quarantine, gold KPIs).
    assert all(by_name[t]["stored"] for t in tables if t.startswith(("bronze.", "silver.")) or
               t.startswith("gold.raw_materials_")), [t for t in tables if not by_name[t]["stored"]]
    assert by_name["bronze.raw_materials_production"]["level"] == "core"
    prod = {c["name"]: c for c in by_name["silver.raw_materials_production"]["columns"]}
    assert prod["operator_id"]["personal"] and prod["operator_id"]["stored_level"] == "important"
    # --stamp writes the grades into every table created elsewhere (ledgers, scorecard).
    code, out = _catalog(capsys, "--stamp")
    assert code == 0 and all(t["stored"] for t in out["tables"])

    # -- personal information: the raw operator_ids the simulator sent, from bronze
    raw_ids = set()
    for t in tables:
        if t.startswith("bronze.") and t.endswith(OPERATOR_TYPES):
            df = spark.read.format("delta").load(str(table_path(cfg, t)))
            raw_ids |= {r[0] for r in df.select(F.get_json_object(F.col("payload").cast("string"), "$.operator_id"))
                        .distinct().collect() if r[0]}
    assert len(raw_ids) >= 3, raw_ids
    pattern = "|".join(re.escape(i) for i in sorted(raw_ids))
    leaks = {}
    for t in tables:
        if t.startswith("bronze."):
            continue
        df = spark.read.format("delta").load(str(table_path(cfg, t)))
        hit = F.lit(False)
        for c in df.columns:
            hit = hit | F.coalesce(F.col(f"`{c}`").cast("string").rlike(pattern), F.lit(False))
        n = df.where(hit).count()
        if n:
            leaks[t] = n
    assert leaks == {}

    # Silver holds HMAC-SHA-256(key, raw) with the key id next to it: checked against Python's hmac.
    key = load_key(cfg)
    bronze = spark.read.format("delta").load(str(table_path(cfg, "bronze.raw_materials_machine_state")))
    raw = {r["event_id"]: r["op"] for r in bronze.select(
        F.get_json_object(F.col("payload").cast("string"), "$.event_id").alias("event_id"),
        F.get_json_object(F.col("payload").cast("string"), "$.operator_id").alias("op")).collect()}
    silver = spark.read.format("delta").load(str(table_path(cfg, "silver.raw_materials_machine_state")))
    rows = silver.select("event_id", "operator_id", "operator_id_key_id").collect()
    assert rows
    for r in rows:
        assert r["operator_id"] == hmac.new(key.secret, raw[r["event_id"]].encode(), hashlib.sha256).hexdigest()
        assert r["operator_id_key_id"] == key.key_id

    # Quarantine keeps payloads for replay, operator_id pseudonymised inside them.
    q = spark.read.format("delta").load(str(table_path(cfg, "silver.quarantine")))
    marked = q.where(F.col("record_type").isin(*OPERATOR_TYPES)
                     & F.col("payload").cast("string").contains(f'"operator_id":"pseudonym:{key.key_id}:')).count()
    assert marked > 0

    # GX stores and Data Docs: files on disk.
    for folder in (cfg.path("quality.gx_dir"), cfg.path("quality.data_docs_dir")):
        for p in Path(folder).rglob("*"):
            if p.is_file() and p.suffix in (".json", ".html"):
                assert not re.search(pattern, p.read_text(errors="replace")), p
