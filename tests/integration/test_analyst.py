"""Analyst surfaces on a real (small) lake: `brain query` on both engines, `brain trace`,
the `brain report` dashboard in headless Chromium, and `brain announce` to the real broker."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from brain import config
from brain.cli.main import main
from brain.ingest import kafka_io
from brain.serve import metrics_topic, query
from tests import analyst_data as data
from tests.browser import dump_dom, screenshot

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def lake_cfg(spark, tmp_path_factory):
    """Every contracted table, written once for the module; the CLI sees the same lake through the environment."""
    root = tmp_path_factory.mktemp("analyst")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BRAIN__LAKE__ROOT", str(root / "lake"))
        mp.setenv("BRAIN__KAFKA__TOPIC_PREFIX", f"t{uuid.uuid4().hex[:10]}.")
        cfg = config.load()
        data.build_lake(spark, cfg)
        yield cfg


PARITY = [
    "SELECT site, count(*) AS days, round(sum(energy_kwh), 3) AS kwh, max(oee) AS best "
    "FROM gold.enterprise_brain GROUP BY site ORDER BY site",
    "SELECT alert_ts, device, level FROM gold.pdm_alerts WHERE level = 'WARNING' ORDER BY alert_ts",
]
GUIDE = ROOT / "docs" / "analyst-guide.md"


def test_duckdb_and_spark_return_the_same_rows(lake_cfg):
    for sql in PARITY:
        fast = query.run(lake_cfg, sql, engine="duckdb")
        slow = query.run(lake_cfg, sql, engine="spark")
        assert fast[2] == "duckdb" and slow[2] == "spark"
        assert fast[:2] == slow[:2], sql
    cols, rows, _ = query.run(lake_cfg, PARITY[0], engine="duckdb")
    assert cols == ["site", "days", "kwh", "best"]
    assert rows == [("S1", 3, 15000.0, 0.684), ("S2", 3, 9150.0, 0.7372)]
    _, alerts, _ = query.run(lake_cfg, PARITY[1], engine="duckdb")
    assert alerts == [(dt.datetime(2026, 3, 2, 10, 5), "cnc-1", "WARNING"),
                      (dt.datetime(2026, 3, 3, 9, 30), "cnc-4", "WARNING"),
                      (dt.datetime(2026, 3, 3, 23, 59, 59), "kiln-fan", "WARNING")]


def test_guide_examples_run_on_both_engines_with_the_same_answer(lake_cfg):
    """Every ```sql block of docs/analyst-guide.md, so the documented queries keep working."""
    blocks = re.findall(r"```sql\n(.*?)```", GUIDE.read_text(), re.S)
    assert len(blocks) >= 7
    answers = {}
    for sql in blocks:
        fast = query.run(lake_cfg, sql, engine="duckdb")
        assert fast[1], f"no rows from the guide's example:\n{sql}"
        assert query.run(lake_cfg, sql, engine="spark")[:2] == fast[:2], sql
        answers[fast[0][0] + "/" + fast[0][1]] = fast[1]
    # Weekly OEE is ideal good time over planned busy time, not a mean of daily OEEs (0.75, 0.5 -> 0.625).
    assert answers["site/line"] == [("S1", "F1", 0.667, 2), ("S1", "F2", 0.95, 1)]
    assert answers["site/kgce_per_t"] == [("S2", 125.0, 62.0, 200.0), ("S3", 100.0, 12.0, 50.0)]
    assert answers["site/event_date"] == [("S1", data.D3, 0.5, 0.612)]                    # time travel


def test_time_travel_by_version_and_timestamp_on_both_engines(lake_cfg):
    from deltalake import DeltaTable

    history = DeltaTable(str(lake_cfg.path("lake.root") / "gold" / "enterprise_brain")).history()
    commits = sorted(h["timestamp"] for h in history)                 # version 0 preliminary, 1 final
    between = dt.datetime.fromtimestamp((commits[0] + commits[1]) / 2000, dt.timezone.utc)
    # One statement reading three snapshots of the same table: each reference keeps its own version.
    one = "(SELECT oee FROM gold.enterprise_brain{} WHERE site = 'S1' AND event_date = DATE '2026-03-03')"
    clauses = ("", " VERSION AS OF 0", f" TIMESTAMP AS OF '{between:%Y-%m-%d %H:%M:%S.%f}'")
    sql = "SELECT " + ", ".join(f"{one.format(c)} AS v{i}" for i, c in enumerate(clauses))
    for engine in ("duckdb", "spark"):
        _, rows, _ = query.run(lake_cfg, sql, engine=engine)
        assert rows == [(0.612, 0.5, 0.5)], engine


def test_auto_runs_duckdb_and_falls_back_to_spark_for_spark_only_sql(lake_cfg):
    said = []
    _, _, used = query.run(lake_cfg, "SELECT count(*) AS n FROM gold.enterprise_brain", log=said.append)
    assert used == "duckdb" and said == []
    cols, rows, used = query.run(lake_cfg, "SELECT DISTINCT date_format(event_date, 'yyyy-MM') AS month "
                                           "FROM gold.enterprise_brain", log=said.append)
    assert (used, rows) == ("spark", [("2026-03",)])
    assert "falling back to Spark" in said[0]


def test_query_cli_formats_and_errors(lake_cfg, capsys):
    sql = "SELECT site, event_date, oee FROM gold.enterprise_brain WHERE site = 'S2' ORDER BY event_date"
    assert main(["query", sql, "--format", "csv", "--engine", "duckdb"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == ["site,event_date,oee", "S2,2026-03-01,0.6237", "S2,2026-03-02,0.66885",
                                "S2,2026-03-03,0.7372"]
    assert "engine: duckdb" in err
    assert main(["query", sql, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0] == {"site": "S2", "event_date": "2026-03-01", "oee": 0.6237}
    assert main(["query", "SELECT * FROM gold.no_such_table"]) == 2
    assert "no table gold.no_such_table" in capsys.readouterr().err
    assert main(["query", "DELETE FROM gold.enterprise_brain"]) == 2
    assert "only reads" in capsys.readouterr().err
    assert main(["query", "--tables"]) == 0
    assert "gold.enterprise_brain" in capsys.readouterr().out.splitlines()


def test_trace_cli_answers_both_directions_and_refuses_unknown_ids(lake_cfg, capsys):
    assert main(["trace", "--lot", "LOT-A", "--json"]) == 0
    fwd = json.loads(capsys.readouterr().out)
    assert (fwd["batches"], fwd["shipments"]) == (["B-1", "B-2"], ["SHP-1", "SHP-2"])
    assert main(["trace", "--shipment", "SHP-2", "--json"]) == 0
    back = json.loads(capsys.readouterr().out)
    assert (back["batches"], back["lots"]) == (["B-2"], ["LOT-A", "LOT-W"])
    assert main(["trace", "--shipment", "SHP-1"]) == 0
    text = capsys.readouterr().out
    assert "<- batch B-1: 600 pcs" in text and "<- lot LOT-A: 120.5 kg [sugar]" in text
    assert main(["trace", "--lot", "LOT-UNKNOWN"]) == 4
    assert "no lot 'LOT-UNKNOWN'" in capsys.readouterr().err


def test_report_dashboard_shows_every_chart_with_data(lake_cfg, tmp_path):
    assert main(["report", "--out", str(tmp_path / "reports"), "--days", "7"]) == 0
    page = tmp_path / "reports" / "index.html"
    html = page.read_text()
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=\"?https?:", html)  # works offline
    dom = dump_dom(page)
    for section in ("overview", "oee", "energy", "data-quality", "pdm", "defects"):
        assert f'<section id="{section}" data-state="data">' in dom, section
    charts = {m: _chart(dom, m) for m in ("oee-trend", "oee-losses", "energy-intensity", "carbon", "dq-scorecard",
                                          "pdm-alerts", "defect-pareto")}
    assert charts["oee-trend"].count('class="series"') == 2                      # one line per site
    assert ">61.2%</text>" in charts["oee-trend"] and ">73.7%</text>" in charts["oee-trend"]    # latest OEE per site
    assert charts["oee-losses"].count('class="bar"') == 8                        # 2 sites x OEE + 3 losses
    assert charts["carbon"].count('class="bar"') == 6                            # 3 days x 2 sites
    assert ">0.6</text>" in charts["energy-intensity"]                           # S1 on day 3: 4800 kWh / 8000
    assert ">0.693</text>" in charts["energy-intensity"]                         # S2 on day 3: 3050 kWh / 4400
    assert charts["dq-scorecard"].count('class="cell"') == 21 and "n/a" in charts["dq-scorecard"]  # 3 x 7
    assert charts["pdm-alerts"].count('class="bar"') == 3                        # (W), (A+W), ... per day/level
    pareto = charts["defect-pareto"]
    assert pareto.index("<title>SEAL_LEAK: 42") < pareto.index("<title>UNDERFILL: 23") < pareto.index("LABEL_SKEW: 9")
    assert ">42</text>" in charts["defect-pareto"]                               # 30 + 12 seal leaks
    screenshot(page, tmp_path / "dashboard.png")


def test_report_on_an_empty_lake_says_no_data(isolated_cfg, tmp_path):
    assert main(["report", "--out", str(tmp_path)]) == 0
    dom = dump_dom(tmp_path / "index.html")
    assert dom.count('data-state="empty"') == 7 and dom.count("no data yet") == 7   # 7 sections, hourly too
    assert "<svg" not in dom
    screenshot(tmp_path / "index.html", tmp_path / "empty.png")


def test_announce_sends_one_schema_valid_message_per_site_and_day(broker, lake_cfg, capsys):
    validator = Draft202012Validator(json.loads((ROOT / "conf/contracts/metrics.schema.json").read_text()),
                                     format_checker=FormatChecker())
    assert metrics_topic.announce(lake_cfg) == 4                                  # latest 2 days x 2 sites
    assert main(["announce", "--day", "2026-03-02", "--json"]) == 0              # re-announce one day
    assert json.loads(capsys.readouterr().out) == {"topic": metrics_topic.topic(lake_cfg), "messages": 2}
    assert metrics_topic.announce(lake_cfg, days=[]) == 0
    msgs = list(kafka_io.consume_all(lake_cfg, metrics_topic.topic(lake_cfg)))
    assert metrics_topic.topic(lake_cfg).endswith("brain.metrics") and len(msgs) == 6
    for m in msgs:
        payload = json.loads(m.value)
        validator.validate(payload)
        assert m.key.decode() == payload["site"]
    by_day = {}
    for m in msgs:
        p = json.loads(m.value)
        by_day.setdefault((p["site"], p["event_date"]), set()).add(m.value)
    assert sorted(by_day) == [("S1", "2026-03-02"), ("S1", "2026-03-03"), ("S2", "2026-03-02"), ("S2", "2026-03-03")]
    assert len(by_day[("S1", "2026-03-02")]) == 1                         # same day again: same bytes
    s1 = json.loads(next(iter(by_day[("S1", "2026-03-03")])))
    assert (s1["kpis"]["oee"], s1["counts"]["pdm_alerts"]) == (0.612, 2)


def _chart(dom: str, name: str) -> str:
    m = re.search(rf'<svg class="chart" data-chart="{name}".*?</svg>', dom, re.S)
    assert m, f"chart {name} missing"
    return m.group(0)
