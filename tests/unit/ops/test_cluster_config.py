"""The loopback cluster's configuration, without starting anything: node properties, topic
replication from kafka.topics, and `brain cluster up` refusing a config that points elsewhere."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from brain import config
from brain.ingest import kafka_io
from brain.ops import broker, cluster, kafka_cluster, spark_standalone


def _props(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line)


def _cluster_cfg(**extra: str):
    # The test session's own overrides (bootstrap servers, spark.master) would beat cluster-local.yaml.
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRAIN__KAFKA__") and k != "BRAIN__SPARK__MASTER"}
    return config.load(env="cluster-local", environ={**env, **extra})


def test_cluster_local_nodes_are_three_voters_with_replicated_defaults():
    cfg = _cluster_cfg()
    nodes = kafka_cluster.nodes(cfg)
    assert [n.node_id for n in nodes] == [1, 2, 3]
    assert cfg.get("kafka.bootstrap_servers") == kafka_cluster.bootstrap(cfg)
    props = _props(broker.node_properties(nodes[1], Path("/tmp/d")))
    assert props["node.id"] == "2"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:24093,2@127.0.0.1:24095,3@127.0.0.1:24097"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:24094,CONTROLLER://127.0.0.1:24095"
    assert (props["default.replication.factor"], props["min.insync.replicas"]) == ("3", "2")
    assert (props["offsets.topic.replication.factor"], props["transaction.state.log.min.isr"]) == ("3", "2")
    assert kafka_io.topic_settings(cfg) == (3, {"min.insync.replicas": "2"})
    cluster.check_config(cfg)


def test_the_embedded_broker_keeps_one_copy():
    cfg = config.load()
    props = _props(broker.server_properties(cfg, Path("/tmp/d")))
    assert props["node.id"] == "1" and props["offsets.topic.replication.factor"] == "1"
    assert props["controller.quorum.voters"] == f"1@127.0.0.1:{cfg.get('kafka.embedded.controller_port')}"
    assert kafka_io.topic_settings(cfg) == (1, {"min.insync.replicas": "1"})


def test_min_isr_above_replication_is_refused():
    cfg = config.load(environ={**os.environ, "BRAIN__KAFKA__TOPICS__MIN_INSYNC_REPLICAS": "2"})
    with pytest.raises(ValueError, match="min_insync_replicas"):
        kafka_io.topic_settings(cfg)


def test_spark_daemons_are_a_master_and_two_one_core_workers():
    cfg = _cluster_cfg()
    master, *workers = spark_standalone.daemons(cfg)
    assert cfg.get("spark.master") == spark_standalone.master_url(cfg) == "spark://127.0.0.1:27077"
    assert (master.port, master.webui_port) == (27077, 28080)
    assert [(w.port, w.webui_port) for w in workers] == [(27100, 27101), (27102, 27103)]
    assert all(w.args[-1] == "spark://127.0.0.1:27077" and "--cores" in w.args for w in workers)


def test_up_refuses_a_config_that_points_elsewhere():
    with pytest.raises(cluster.ClusterError, match="cluster-local"):
        cluster.check_config(config.load())
    moved = _cluster_cfg(BRAIN__CLUSTER__KAFKA__PORTS="[23992, 23994, 23996]")
    with pytest.raises(cluster.ClusterError, match="kafka.bootstrap_servers"):
        cluster.check_config(moved)


def test_replication_summary_names_the_brokers_missing_from_an_isr():
    from brain.ops.kafka_cluster import replication_summary

    topics = [{"name": "energy.energy_meter", "partitions": [
                  {"partition_index": 0, "replica_nodes": [1, 2, 3], "isr_nodes": [1, 2]},
                  {"partition_index": 1, "replica_nodes": [2, 3, 1], "isr_nodes": [2, 3, 1]},
                  {"partition_index": 2, "replica_nodes": [3, 1, 2], "isr_nodes": [1]}]},
              {"name": "brain.metrics", "partitions": [
                  {"partition_index": 0, "replica_nodes": [1, 2, 3], "isr_nodes": [3, 2, 1]}]}]
    assert replication_summary(topics) == {"partitions": 4, "under_replicated": 2, "lagging_brokers": [2, 3]}
    assert replication_summary([]) == {"partitions": 0, "under_replicated": 0, "lagging_brokers": []}


def test_a_node_that_gave_up_starting_is_explained_by_its_last_errors(tmp_path):
    log = tmp_path / "server.log"
    log.write_text(
        "[2026-12-06 07:47:01,000] INFO [BrokerServer id=3] Transition from SHUTDOWN to STARTING\n"
        "[2026-12-06 07:47:02,000] ERROR [QuorumController id=3] Exceptionally slow controller event took 3502 ms.\n"
        "[2026-12-06 07:47:02,100] INFO [MetadataLoader id=3] catching up\n"
        "[2026-12-06 07:48:55,800] ERROR [BrokerServer id=3] Fatal error during broker startup. Prepare to shutdown\n"
        "java.util.concurrent.TimeoutException: the controller did not acknowledge that we are caught up\n"
        "[2026-12-06 07:48:55,900] FATAL Exiting Kafka due to fatal exception during startup.\n"
        "[2026-12-06 07:48:55,906] INFO [MetadataLoader id=3] closed event queue.\n")
    why = kafka_cluster.startup_failure(log, lines=2).splitlines()
    # The two last error lines, each with the line after it (where Kafka prints the exception).
    assert why == ["[2026-12-06 07:48:55,800] ERROR [BrokerServer id=3] Fatal error during broker startup. "
                   "Prepare to shutdown",
                   "java.util.concurrent.TimeoutException: the controller did not acknowledge that we are caught up",
                   "[2026-12-06 07:48:55,900] FATAL Exiting Kafka due to fatal exception during startup.",
                   "[2026-12-06 07:48:55,906] INFO [MetadataLoader id=3] closed event queue."]
    assert kafka_cluster.startup_failure(tmp_path / "missing.log") == ""

