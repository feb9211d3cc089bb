"""`brain cluster up|down`: three real KRaft brokers keep taking acks=all writes with one of them
killed (replication 3, min.insync.replicas 2), Spark runs jobs on the standalone master's
workers (through Spark Connect and in a session of its own, which writes a Delta table into the
s3a:// lake on the cluster's s3proxy), `up` again brings the dead broker back, and `down` leaves
no process behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from brain import config
from brain.ops import spark_service
from brain.ops.processes import pid_alive, port_open

pytestmark = [pytest.mark.cluster, pytest.mark.integration, pytest.mark.slow]

KAFKA_PORTS, CONTROLLER_PORTS = [24092, 24094, 24096], [24093, 24095, 24097]
MASTER, MASTER_UI, WORKER_BASE, CONNECT = 27077, 28080, 27100, 25002
S3 = 28333  # object_store.port: s3proxy holding the s3a:// lake


@pytest.fixture
def cluster_env(tmp_path):
    """BRAIN_ENV=cluster-local on this test's ports and state dir (the session's own overrides of
    bootstrap servers and spark.master would otherwise win over cluster-local.yaml)."""
    env = {**os.environ,
           "BRAIN_ENV": "cluster-local",
           "BRAIN__PATHS__STATE": str(tmp_path / "state"),
           "BRAIN__CLUSTER__KAFKA__PORTS": json.dumps(KAFKA_PORTS),
           "BRAIN__CLUSTER__KAFKA__CONTROLLER_PORTS": json.dumps(CONTROLLER_PORTS),
           "BRAIN__KAFKA__BOOTSTRAP_SERVERS": ",".join(f"127.0.0.1:{p}" for p in KAFKA_PORTS),
           "BRAIN__KAFKA__EMBEDDED__HEAP": "384m",
           "BRAIN__CLUSTER__SPARK__MASTER_PORT": str(MASTER),
           "BRAIN__CLUSTER__SPARK__MASTER_WEBUI_PORT": str(MASTER_UI),
           "BRAIN__CLUSTER__SPARK__WORKER_BASE_PORT": str(WORKER_BASE),
           "BRAIN__SPARK__MASTER": f"spark://127.0.0.1:{MASTER}",
           "BRAIN__SPARK__DRIVER_MEMORY": "1g",
           "BRAIN__SPARK_CONNECT__PORT": str(CONNECT),
           # This test runs a job through Connect and one in a session of its own (spark.remote empty),
           # side by side: the Connect server leaves the second worker's core to the latter.
           "BRAIN__SPARK__REMOTE": "",
           "BRAIN__SPARK_CONNECT__EXTRA_CONF": json.dumps({"spark.cores.max": "1"}),
           # cluster-local.yaml's lake in the object store (the session's local test lake would win).
           "BRAIN__LAKE__ROOT": "s3a://brain-lake/lake",
           "BRAIN__LAKE__CHECKPOINTS": "s3a://brain-lake/checkpoints",
           # Airflow on PostgreSQL is test_cluster_e2e's (the whole cluster at once); PostgreSQL cannot
           # reach this 0700 pytest folder as `postgres` anyway.
           "BRAIN__CLUSTER__AIRFLOW__ENABLED": "false"}
    yield env
    # Whatever happened, leave nothing running.
    _brain(env, "cluster", "down", check=False)


def _brain(env: dict, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "brain.cli.main", *argv], env=env, capture_output=True,
                          text=True, timeout=400)
    if check:
        assert proc.returncode == 0, f"brain {' '.join(argv)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def _pids(st: dict) -> list[int]:
    parts = [*st["kafka"]["nodes"], *st["spark"]["daemons"], st["spark_connect"], st.get("object_store")]
    return [p["pid"] for p in parts if p and p["pid"]]


def _consume_all(cfg, topic: str, expected: int, timeout: float = 60) -> list[bytes]:
    from kafka import KafkaConsumer, TopicPartition

    from brain.ingest import kafka_security

    consumer = KafkaConsumer(bootstrap_servers=cfg.get("kafka.bootstrap_servers"), group_id=None,
                             enable_auto_commit=False, auto_offset_reset="earliest",
                             **kafka_security.client_security(cfg).python())
    try:
        consumer.assign([TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))])
        consumer.seek_to_beginning()
        values: list[bytes] = []
        deadline = time.monotonic() + timeout
        while len(values) < expected and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=1000).values():
                values += [r.value for r in records]
        return values
    finally:
        consumer.close()


def test_cluster_survives_a_broker_and_runs_spark_on_its_workers(cluster_env):
    from kafka.admin import ConfigResource, ConfigResourceType

    from brain.ingest import kafka_io

    env = cluster_env
    st = json.loads(_brain(env, "cluster", "up", "--json").stdout)
    assert st["up"] and st["kafka"]["live_brokers"] == 3 and st["spark"]["alive_workers"] == 2
    assert json.loads(_brain(env, "cluster", "up", "--json").stdout)["kafka"]["nodes"] == st["kafka"]["nodes"]
    pids = _pids(st)
    assert len(pids) == 3 + 3 + 1 + 1  # brokers, master + workers, Connect, s3proxy
    assert st["object_store"]["ready"] and st["object_store"]["bucket"] == "brain-lake"

    cfg = config.load(environ=env)
    topic = f"cluster.{uuid.uuid4().hex[:8]}"
    assert kafka_io.create_topics(cfg, [topic]) == [topic]
    admin = kafka_io.admin(cfg)
    try:
        partitions = admin.describe_topics([topic])[0]["partitions"]
        assert partitions and all(len(p["replica_nodes"]) == 3 for p in partitions), partitions
        described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        by_topic = next(by_name[topic] for by_name in described.values() if topic in by_name)
        assert by_topic["min.insync.replicas"]["value"] == "2", described
    finally:
        admin.close()
    assert kafka_io.producer(cfg).config["acks"] in ("all", -1)

    first = [(topic, f"k{i}".encode(), f"before-{i}".encode()) for i in range(200)]
    assert kafka_io.produce(cfg, first) == {topic: 200}

    # One broker dies hard: every partition keeps 2 in-sync copies, so acks=all writes still succeed.
    victim = st["kafka"]["nodes"][2]["pid"]
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while pid_alive(victim) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not pid_alive(victim)
    second = [(topic, f"k{i}".encode(), f"after-{i}".encode()) for i in range(200)]
    assert kafka_io.produce(cfg, second) == {topic: 200}
    values = _consume_all(cfg, topic, 400)
    assert sorted(values) == sorted(v for _, _, v in first + second)
    # The controller drops the dead broker after its session times out (broker.session.timeout.ms).
    deadline = time.monotonic() + 60
    while True:
        down_st = json.loads(_brain(env, "cluster", "status", "--json", check=False).stdout)
        if down_st["kafka"]["live_brokers"] == 2 or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert not down_st["up"] and down_st["kafka"]["live_brokers"] == 2

    # A Spark job through Connect runs on the standalone master's executors.
    from pyspark.sql.connect.session import SparkSession as RemoteSession

    session = RemoteSession.builder.remote(spark_service.client_url(cfg)).create()
    try:
        assert session.range(1000).count() == 1000
        assert session.conf.get("spark.master") == f"spark://127.0.0.1:{MASTER}"
    finally:
        session.stop()
    assert down_st["spark"]["active_apps"] == ["enterprise-brain-connect"]

    # A process with its own session (what `brain run` does) gets the core Connect leaves free, and
    # its executors (other JVMs) write and read a Delta table in the s3a:// lake on s3proxy.
    own = subprocess.run([sys.executable, "-c", "from brain import config; from brain.spark import get_session; "
                          "from brain.lake.tables import table_path; c = config.load(); s = get_session(c); "
                          "p = str(table_path(c, 'quality.cluster_probe')); "
                          "s.range(1000).write.format('delta').mode('overwrite').save(p); "
                          "print(p, s.sparkContext.master, s.read.format('delta').load(p).count())"],
                         env=env, capture_output=True, text=True, timeout=400)
    assert own.stdout.split()[-3:] == ["s3a://brain-lake/lake/quality/cluster_probe", f"spark://127.0.0.1:{MASTER}",
                                       "1000"], own.stderr[-2000:]
    stored = Path(env["BRAIN__PATHS__STATE"]) / "cluster/object-store/data/brain-lake/lake/quality/cluster_probe"
    assert (stored / "_delta_log" / "00000000000000000000.json").is_file()

    # `up` again restarts only the dead node, which rejoins the cluster with its log dir.
    again = json.loads(_brain(env, "cluster", "up", "--json").stdout)
    assert again["up"] and again["kafka"]["live_brokers"] == 3
    assert [n["pid"] for n in again["kafka"]["nodes"]][:2] == [n["pid"] for n in st["kafka"]["nodes"]][:2]
    pids += _pids(again)

    _brain(env, "cluster", "down")
    time.sleep(1)
    assert not [p for p in pids if pid_alive(p)]
    ports = [*KAFKA_PORTS, *CONTROLLER_PORTS, MASTER, MASTER_UI, WORKER_BASE, WORKER_BASE + 2, CONNECT, S3]
    assert not [p for p in ports if port_open("127.0.0.1", p)]
    assert _brain(env, "cluster", "status", check=False).returncode == 3
