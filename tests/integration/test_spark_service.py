"""A real Spark Connect server: started, attached to, used for Delta, stopped; own port and state folder."""

from __future__ import annotations

import json

import pytest

from brain import config
from brain.ops import spark_service as svc
from brain.ops.processes import pid_alive
from tests.ports import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def service_cfg(tmp_path, monkeypatch):
    # Through the environment, so `brain spark ...` (which loads config itself) sees the same server.
    monkeypatch.setenv("BRAIN__PATHS__STATE", str(tmp_path / "state"))
    monkeypatch.setenv("BRAIN__SPARK_CONNECT__PORT", str(free_port()))
    cfg = config.load()
    yield cfg
    svc.stop(cfg, log=lambda m: None)


def test_start_attach_delta_round_trip_and_stop(service_cfg, tmp_path, capsys, monkeypatch):
    from pyspark.sql import functions as F
    from pyspark.sql.connect.session import SparkSession as RemoteSession

    from brain.cli.main import main

    cfg = service_cfg
    first = svc.start(cfg, log=lambda m: None)
    assert first.running and first.reachable and first.pid
    assert svc.paths(cfg).stdout.exists()
    assert svc.start(cfg, log=lambda m: None).pid == first.pid  # idempotent: one server

    capsys.readouterr()
    assert main(["spark", "status", "--json"]) == 0
    reported = json.loads(capsys.readouterr().out)
    assert reported["pid"] == first.pid and reported["url"] == svc.url(cfg) and reported["host"] == "127.0.0.1"

    # pyspark.sql.functions builds Connect columns only while this process-wide flag is set (the
    # classic builder's .remote() sets it for good); set here, it is unset again after the test.
    monkeypatch.setenv("SPARK_CONNECT_MODE_ENABLED", "1")
    # Without the server's token a client is turned away.
    stranger = RemoteSession.builder.remote(svc.url(cfg)).create()
    try:
        with pytest.raises(Exception, match="(?i)unauthenticated|token|authoriz"):
            stranger.range(1).count()
    finally:
        stranger.stop()
    spark = RemoteSession.builder.remote(svc.client_url(cfg)).create()
    try:
        # The server runs with the in-process session's settings: Delta's extension is there.
        assert spark.conf.get("spark.sql.extensions") == "io.delta.sql.DeltaSparkSessionExtension"
        path = str(tmp_path / "delta_table")
        spark.range(5).withColumn("tag", F.lit("connect")).write.format("delta").save(path)
        spark.range(5, 8).withColumn("tag", F.lit("more")).write.format("delta").mode("append").save(path)
        rows = spark.read.format("delta").load(path).orderBy("id").collect()
        assert [r["id"] for r in rows] == list(range(8))
        assert spark.read.format("delta").option("versionAsOf", 0).load(path).count() == 5
        assert (tmp_path / "delta_table" / "_delta_log").is_dir()  # written by the server, on this disk
    finally:
        spark.stop()

    svc.stop(cfg, log=lambda m: None)
    st = svc.status(cfg)
    assert not st.running and not st.reachable
    assert not pid_alive(first.pid)
    assert not svc.paths(cfg).pidfile.exists()
    assert main(["spark", "status"]) == 3
