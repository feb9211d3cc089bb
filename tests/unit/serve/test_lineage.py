"""brain lineage: the graph of OpenLineage run events, walked up and down (no Spark, no Kafka)."""

from __future__ import annotations

import ast
import inspect
import json
import os
from datetime import datetime, timezone

import pytest

from brain import config
from brain.gold import enterprise
from brain.orchestration.airflow_env import airflow_env
from brain.serve import lineage, lineage_events
from brain.spark import LINEAGE_LISTENER, session_conf

KAFKA = "kafka://127.0.0.1:9092"


def _cfg(tmp_path, **env):
    return config.load(environ={**os.environ, "BRAIN__PATHS__STATE": str(tmp_path),
                                "BRAIN__LAKE__ROOT": str(tmp_path / "lake"),
                                "BRAIN__LINEAGE__DIR": str(tmp_path / "lineage"),
                                "BRAIN__KAFKA__BOOTSTRAP_SERVERS": "127.0.0.1:9092,127.0.0.1:9094", **env})


def _event(run, job, inputs=(), outputs=(), kind="COMPLETE"):
    return {"eventType": kind, "run": {"runId": run}, "job": {"namespace": "ns", "name": job},
            "inputs": [{"namespace": n, "name": d} for n, d in inputs],
            "outputs": [{"namespace": n, "name": d} for n, d in outputs]}


def _path(root, table):
    return ("file", f"{root}/{table.replace('.', '/')}")


def _events(root):
    topic, bronze, silver = (KAFKA, "energy.energy_meter"), _path(root, "bronze.energy_meter"), \
        _path(root, "silver.energy_meter")
    gold, brain = _path(root, "gold.energy_daily_site"), _path(root, "gold.enterprise_brain")
    return [
        # One run's datasets arrive over several events: START names the input, COMPLETE the output.
        _event("r1", "ingest", inputs=[topic], kind="START"),
        _event("r1", "ingest", outputs=[bronze]),
        _event("r2", "clean", inputs=[bronze], outputs=[silver, _path(root, "silver.quarantine")]),
        # Spark as it reports a checkpointed write: the table rewritten from itself, no source.
        _event("r3", "merge", inputs=[silver], outputs=[(silver[0], silver[1] + "/")]),
        _event("r4", "publish", inputs=[silver], outputs=[gold]),
        _event("r5", "enterprise", inputs=[gold], outputs=[brain]),
    ]


def test_a_run_links_each_input_to_each_output_across_its_events_and_never_to_itself(tmp_path):
    tmp_path = tmp_path / "lake"
    g = lineage.build_graph(_events(tmp_path))
    silver = _path(tmp_path, "silver.energy_meter")
    assert g.runs == 5
    assert set(g.up[_path(tmp_path, "bronze.energy_meter")]) == {(KAFKA, "energy.energy_meter")}
    assert silver not in g.down[silver]  # the trailing slash is the same table
    assert g.down[silver] == {_path(tmp_path, "gold.energy_daily_site"): {"ns/publish"}}


def test_walk_goes_breadth_first_each_dataset_once(tmp_path):
    root = tmp_path / "lake"
    g = lineage.build_graph(_events(root))
    up = lineage.walk(g, _path(root, "gold.enterprise_brain"), "upstream")
    assert [(lineage.label(h.dataset, root), h.depth) for h in up] == [
        ("gold.energy_daily_site", 1), ("silver.energy_meter", 2), ("bronze.energy_meter", 3),
        ("kafka:energy.energy_meter", 4)]
    down = lineage.walk(g, (KAFKA, "energy.energy_meter"), "downstream")
    assert [lineage.label(h.dataset, root) for h in down] == [
        "bronze.energy_meter", "silver.energy_meter", "silver.quarantine", "gold.energy_daily_site",
        "gold.enterprise_brain"]
    assert down[1].via == _path(root, "bronze.energy_meter") and down[1].jobs == ("ns/clean",)


def test_lineage_reads_the_folder_resolves_names_and_skips_broken_lines(tmp_path):
    cfg = _cfg(tmp_path)
    folder = tmp_path / "lineage"
    folder.mkdir()
    root = tmp_path / "lake"
    lines = [json.dumps(e) for e in _events(root)]
    (folder / "spark-1.jsonl").write_text("\n".join(lines[:3]) + "\n{\"cut short\n")
    (folder / "airflow-20261204.json").write_text("\n".join(lines[3:]) + "\n")
    (folder / "notes.txt").write_text("not an event")
    out = lineage.lineage(cfg, "silver.energy_meter")
    assert [h["name"] for h in out["upstream"]] == ["bronze.energy_meter", "kafka:energy.energy_meter"]
    assert [h["name"] for h in out["downstream"]] == ["gold.energy_daily_site", "gold.enterprise_brain"]
    assert lineage.lineage(cfg, "energy.energy_meter", ["downstream"])["downstream"][0]["name"] == \
        "bronze.energy_meter"
    text = lineage.render(out)
    assert "<- kafka:energy.energy_meter" in text and "-> gold.enterprise_brain" in text
    with pytest.raises(lineage.NoLineage, match="silver.nowhere"):
        lineage.lineage(cfg, "silver.nowhere")


def test_no_folder_yet_is_no_lineage_not_a_crash(tmp_path):
    with pytest.raises(lineage.NoLineage, match="lineage.enabled"):
        lineage.lineage(_cfg(tmp_path), "silver.energy_meter")


def test_the_pipelines_events_name_datasets_as_the_spark_listener_does(tmp_path):
    cfg = _cfg(tmp_path)
    assert lineage_events.topic_dataset(cfg, "energy.energy_meter") == (KAFKA, "energy.energy_meter")
    assert lineage_events.table_dataset(cfg, "silver.energy_meter") == _path(tmp_path / "lake", "silver.energy_meter")
    ev = lineage_events.run_event("ns", "energy.clean.energy_meter", [("file", "/b"), ("file", "/b")],
                                  [("file", "/s")], "id-1", datetime(2026, 12, 4, tzinfo=timezone.utc))
    assert (ev["eventType"], ev["job"]["name"], ev["run"]["runId"]) == ("COMPLETE", "energy.clean.energy_meter", "id-1")
    assert ev["inputs"] == [{"namespace": "file", "name": "/b", "facets": {}}]


def test_events_are_written_only_when_lineage_is_on(tmp_path):
    lineage_events.emit(_cfg(tmp_path), "job", [("file", "/a")], [("file", "/b")])
    assert not (tmp_path / "lineage").exists()
    cfg = _cfg(tmp_path, BRAIN__LINEAGE__ENABLED="true")
    lineage_events.emit(cfg, "job", [("file", "/a")], [("file", "/b")])
    [written] = list(lineage.read_events(tmp_path / "lineage"))
    assert written["inputs"][0]["name"] == "/a" and written["job"]["namespace"] == "enterprise-brain"


def test_enterprise_sources_are_tables_enterprise_build_reads():
    """lineage_events repeats what brain.gold.enterprise.build reads: each name must appear in it."""
    read = {n.id for n in ast.walk(ast.parse(inspect.getsource(enterprise.build))) if isinstance(n, ast.Name)}
    sources = lineage_events.enterprise_sources({"x": "gold.x_oee_daily_line"})
    constants = {k for k, v in vars(enterprise).items() if isinstance(v, str) and v.startswith("gold.")}
    named = {k for k in constants if any(vars(enterprise)[k] in s for s in sources.values())}
    assert named and named <= read
    assert "gold.x_oee_hourly_line" in sources[enterprise.ENTERPRISE_BRAIN_HOURLY]


def test_spark_gets_the_listener_and_its_jar_only_with_lineage_on(tmp_path):
    off = session_conf(_cfg(tmp_path))
    assert "spark.extraListeners" not in off and "openlineage" not in off["spark.jars"]
    on = session_conf(_cfg(tmp_path, BRAIN__LINEAGE__ENABLED="true"))
    assert on["spark.extraListeners"] == LINEAGE_LISTENER
    assert on["spark.openlineage.transport.type"] == "file"
    assert on["spark.openlineage.transport.location"].startswith(str(tmp_path / "lineage" / "spark-"))
    http = session_conf(_cfg(tmp_path, BRAIN__LINEAGE__ENABLED="true", BRAIN__LINEAGE__URL="http://127.0.0.1:5000"))
    assert (http["spark.openlineage.transport.type"], http["spark.openlineage.transport.url"]) == \
        ("http", "http://127.0.0.1:5000")


def test_airflow_env_configures_the_openlineage_provider(tmp_path):
    assert airflow_env(_cfg(tmp_path))["AIRFLOW__OPENLINEAGE__DISABLED"] == "True"
    env = airflow_env(_cfg(tmp_path, BRAIN__LINEAGE__ENABLED="true"))
    transport = json.loads(env["AIRFLOW__OPENLINEAGE__TRANSPORT"])
    assert transport == {"type": "file", "log_file_path": str(tmp_path / "lineage" / "airflow"), "append": False}
    assert env["AIRFLOW__OPENLINEAGE__NAMESPACE"] == "enterprise-brain"


def test_lineage_on_without_the_jar_says_to_run_make_jars(tmp_path):
    from brain.jars import JarsMissing

    spark_dir = tmp_path / "jars" / "spark"
    spark_dir.mkdir(parents=True)
    for name in ("delta-spark_4.2_2.13-4.4.0", "delta-storage-4.4.0", "spark-sql-kafka-0-10_2.13-4.2.0",
                 "kafka-clients-3.9.2"):
        (spark_dir / f"{name}.jar").touch()
    cfg = _cfg(tmp_path, BRAIN__PATHS__JARS=str(tmp_path / "jars"))
    assert "spark.extraListeners" not in session_conf(cfg)
    with pytest.raises(JarsMissing, match="make jars"):
        session_conf(_cfg(tmp_path, BRAIN__PATHS__JARS=str(tmp_path / "jars"), BRAIN__LINEAGE__ENABLED="true"))


def test_with_a_url_the_events_go_over_http_not_to_files(tmp_path):
    """A real local HTTP endpoint (as Marquez would be) receives the event the client posts."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    got = []

    class Lineage(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            got.append((self.path, json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
            self.send_response(201)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Lineage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        cfg = _cfg(tmp_path, BRAIN__LINEAGE__ENABLED="true",
                   BRAIN__LINEAGE__URL=f"http://127.0.0.1:{server.server_port}")
        lineage_events.emit(cfg, "energy.clean.energy_meter", [("file", "/b")], [("file", "/s")])
    finally:
        server.shutdown()
    [(path, event)] = got
    assert path == "/api/v1/lineage" and event["job"]["name"] == "energy.clean.energy_meter"
    assert event["inputs"][0]["name"] == "/b" and event["outputs"][0]["name"] == "/s"
    assert not (tmp_path / "lineage").exists()


def test_stage_events_link_topic_bronze_silver_gold_only_for_lanes_that_moved_rows(tmp_path):
    from types import SimpleNamespace

    cfg = _cfg(tmp_path, BRAIN__LINEAGE__ENABLED="true")
    lanes = [SimpleNamespace(topic="energy.energy_meter", bronze="bronze.energy_meter", silver="silver.energy_meter"),
             SimpleNamespace(topic="energy.other", bronze="bronze.energy_other", silver="silver.energy_other")]
    lineage_events.ingest(cfg, "energy", lanes, {
        "ingest": [{"table": "bronze.energy_meter", "rows": 3}, {"table": "bronze.energy_other", "rows": 0}],
        "clean": [{"table": "silver.energy_meter", "bronze_rows": 3}]})
    lineage_events.publish(cfg, "energy", {"gold.energy_daily_site": ("silver.energy_meter",)}, [
        {"table": "gold.energy_daily_site", "days": ["2026-12-01"]}, {"table": "gold.data_quality_daily",
                                                                      "days": ["2026-12-01"]},
        {"table": "gold.energy_hourly_site", "days": []}])
    g = lineage.build_graph(lineage.read_events(tmp_path / "lineage"))
    root = tmp_path / "lake"
    names = {lineage.label(d, root) for d in g.datasets()}
    assert "bronze.energy_other" not in names and "gold.energy_hourly_site" not in names
    down = [lineage.label(h.dataset, root) for h in lineage.walk(g, (KAFKA, "energy.energy_meter"), "downstream")]
    assert down[:2] == ["bronze.energy_meter", "quality.duplicates"]
    assert {"silver.energy_meter", "silver.quarantine", "gold.energy_daily_site",
            "gold.data_quality_daily"} <= set(down)
    up = {lineage.label(h.dataset, root) for h in lineage.walk(g, _path(root, "gold.data_quality_daily"), "upstream")}
    assert {"silver.energy_meter", "silver.quarantine", "quality.duplicates"} <= up


PARENT = {"namespace": "airflow", "job": "brain_energy.ingest", "run_id": "0190f0c8-0000-7000-8000-000000000001",
          "root_namespace": "airflow", "root_job": "brain_energy",
          "root_run_id": "0190f0c8-0000-7000-8000-000000000002"}


def test_a_stage_event_inside_an_airflow_task_names_its_task_and_dag_run_as_parent():
    event = lineage_events.run_event("brain", "energy.clean.energy_meter", [("file", "/b")], [("file", "/s")],
                                     "0190f0c8-0000-7000-8000-000000000003", datetime(2026, 12, 5, tzinfo=timezone.utc),
                                     parent=PARENT)
    facet = event["run"]["facets"]["parent"]
    assert facet["run"] == {"runId": PARENT["run_id"]}
    assert facet["job"] == {"namespace": "airflow", "name": "brain_energy.ingest"}
    assert facet["root"] == {"run": {"runId": PARENT["root_run_id"]}, "job": {"namespace": "airflow",
                                                                             "name": "brain_energy"}}
    assert facet["_schemaURL"].endswith("ParentRunFacet.json#/$defs/ParentRunFacet")
    # The HTTP transport's typed event carries the same facet, as the client serialises it.
    from openlineage.client.serde import Serde

    typed = json.loads(Serde.to_json(lineage_events._typed(event)))
    assert typed["run"]["facets"]["parent"]["job"]["name"] == "brain_energy.ingest"
    assert typed["run"]["facets"]["parent"]["root"]["run"]["runId"] == PARENT["root_run_id"]
    bare = lineage_events.run_event("brain", "j", [], [], "r2", datetime(2026, 12, 5, tzinfo=timezone.utc))
    assert bare["run"]["facets"] == {}


def test_outside_an_airflow_task_there_is_no_parent():
    assert lineage_events.airflow_parent() is None


def _s3(table):
    """An s3a lake table as the openlineage-spark listener names it: namespace s3://<bucket>, name the key."""
    return ("s3://brain-lake", f"lake/{table.replace('.', '/')}")


def _s3_cfg(tmp_path):
    # No BRAIN_S3_* variables and no credentials file: naming datasets must not need the store.
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRAIN_S3_")}
    return config.load(environ={**env, "BRAIN__PATHS__STATE": str(tmp_path),
                                "BRAIN__LAKE__ROOT": "s3a://brain-lake/lake/",
                                "BRAIN__LAKE__CHECKPOINTS": "s3a://brain-lake/checkpoints",
                                "BRAIN__LINEAGE__DIR": str(tmp_path / "lineage"),
                                "BRAIN__KAFKA__BOOTSTRAP_SERVERS": "127.0.0.1:9092"})


def test_a_lake_on_s3a_is_named_as_the_spark_listener_names_it_without_credentials(tmp_path):
    cfg = _s3_cfg(tmp_path)
    assert lineage_events.table_dataset(cfg, "silver.energy_meter") == _s3("silver.energy_meter")
    assert lineage_events.location_dataset("/x/lake/silver/t") == ("file", "/x/lake/silver/t")


def test_lineage_of_an_s3a_lake_shows_tables_and_other_objects_by_their_s3a_uri(tmp_path):
    cfg = _s3_cfg(tmp_path)
    topic = (KAFKA, "energy.energy_meter")
    bronze, silver, gold = _s3("bronze.energy_meter"), _s3("silver.energy_meter"), _s3("gold.energy_daily_site")
    export = ("s3://brain-lake", "exports/energy/2026-12-04")  # not a lake table
    folder = tmp_path / "lineage"
    folder.mkdir()
    events = [_event("r1", "ingest", [topic], [bronze]), _event("r2", "clean", [bronze], [silver]),
              _event("r3", "publish", [silver], [gold]), _event("r4", "export", [gold], [export])]
    (folder / "spark-1.jsonl").write_text("\n".join(json.dumps(e) for e in events) + "\n")

    out = lineage.lineage(cfg, "silver.energy_meter")
    assert (out["namespace"], out["dataset"]) == silver
    assert [h["name"] for h in out["upstream"]] == ["bronze.energy_meter", "kafka:energy.energy_meter"]
    assert [h["name"] for h in out["downstream"]] == ["gold.energy_daily_site",
                                                      "s3a://brain-lake/exports/energy/2026-12-04"]
    # A dataset is found by its s3a URI as well as by its table name.
    by_uri = lineage.lineage(cfg, "s3a://brain-lake/exports/energy/2026-12-04", ["upstream"])
    assert (by_uri["namespace"], by_uri["dataset"]) == export
    assert lineage.location(("s3a://brain-lake/", "/lake/x/")) == "s3a://brain-lake/lake/x"
    assert lineage.location(topic) is None
