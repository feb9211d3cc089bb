"""Kafka topics and producing, with one set of producer settings.

Topic names come from brain.contracts.topic_names; records are keyed by device
so one device's records stay in order in one partition.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterable, Iterator

from brain.config import Config
from brain.ingest.kafka_security import client_security


def record_key(record: dict) -> bytes | None:
    """Partition key: the device, so its readings stay ordered."""
    parts = [str(record.get(k, "")) for k in ("site", "line", "device")]
    return "/".join(parts).encode() if any(parts) else None


def client_settings(cfg: Config, user: str | None = None) -> dict:
    """kafka-python settings every client here starts from: the brokers and the deployment's security
    (kafka.security; ``user`` logs in as another principal than kafka.sasl.client_user)."""
    return {"bootstrap_servers": cfg.get("kafka.bootstrap_servers", type_=str),
            **client_security(cfg, user).python()}


def spark_options(cfg: Config, source: bool = True, user: str | None = None) -> dict[str, str]:
    """Options of Spark's Kafka source (or sink): the brokers, the deployment's security, and for a
    source the consumer-group prefix the pipeline principal's ACL allows (Spark makes up the rest
    of the group id)."""
    opts = {"kafka.bootstrap.servers": str(cfg.get("kafka.bootstrap_servers", type_=str)),
            **client_security(cfg, user).spark()}
    if source:
        opts["groupIdPrefix"] = str(cfg.get("kafka.sasl.pipeline_group_prefix", "brain-pipeline"))
    return opts


def admin(cfg: Config, user: str | None = None):
    from kafka import KafkaAdminClient

    return KafkaAdminClient(**client_settings(cfg, user), request_timeout_ms=15000, client_id="brain-admin")


def topic_settings(cfg: Config) -> tuple[int, dict[str, str]]:
    """Replication factor and topic configs every topic we create gets (kafka.topics.*).

    One broker takes 1 / 1; a cluster 3 / 2, so a record acknowledged with acks=all
    is on two brokers and the topic still takes writes with one broker down.
    """
    rf = cfg.get("kafka.topics.replication_factor", type_=int)
    min_isr = cfg.get("kafka.topics.min_insync_replicas", type_=int)
    if not 1 <= min_isr <= rf:
        raise ValueError(f"kafka.topics.min_insync_replicas = {min_isr} must be between 1 and "
                         f"kafka.topics.replication_factor = {rf} (set in {cfg.source_of('kafka.topics')})")
    return rf, {"min.insync.replicas": str(min_isr)}


def create_topics(cfg: Config, topics: Iterable[str], partitions: int | None = None) -> list[str]:
    """Create the topics that do not exist yet (replication from kafka.topics, retention.ms from
    retention.kafka_days of the topic's industry); returns the ones created."""
    partitions = partitions or cfg.get("kafka.topic_partitions", type_=int)
    rf, configs = topic_settings(cfg)
    client = admin(cfg)
    try:
        existing = set(client.list_topics())
        wanted = [t for t in topics if t not in existing]
        if wanted:
            # Return once every partition has a leader: on a cluster, a topic the controller has
            # accepted can be missing from the brokers' metadata for a moment.
            from brain.lake.retention import topic_retention_ms  # per industry (retention.kafka_days)

            client.create_topics({t: {"num_partitions": partitions, "replication_factor": rf,
                                      "configs": {**configs, "retention.ms": str(topic_retention_ms(cfg, t))}}
                                  for t in wanted}, wait_for_metadata=False)
            client.wait_for_topics(wanted, timeout_ms=1000 * float(cfg.get("kafka.topic_ready_timeout_s", 60)))
        return wanted
    finally:
        client.close()


def list_topics(cfg: Config) -> list[str]:
    """The broker's topic names (internal ones left out), sorted."""
    client = admin(cfg)
    try:
        return sorted(t for t in client.list_topics() if not t.startswith("__"))
    finally:
        client.close()


def delete_topics_with_prefix(cfg: Config, prefix: str) -> list[str]:
    """Delete every topic whose name starts with ``prefix`` (throw-away bench and test topics)."""
    client = admin(cfg)
    try:
        doomed = [t for t in client.list_topics() if t.startswith(prefix)]
        if doomed:
            client.delete_topics(doomed)
        return doomed
    finally:
        client.close()


@dataclass(frozen=True)
class TopicInfo:
    topic: str
    partitions: int
    end_offsets: dict[int, int]

    @property
    def total(self) -> int:
        return sum(self.end_offsets.values())


def describe_topics(cfg: Config, topics: Iterable[str] | None = None) -> list[TopicInfo]:
    """Topics with their end offsets (records ever written, per partition)."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(**client_settings(cfg), client_id="brain-describe", enable_auto_commit=False)
    try:
        names = sorted(topics) if topics is not None else sorted(
            t for t in consumer.topics() if not t.startswith("__"))
        out = []
        for t in names:
            parts = consumer.partitions_for_topic(t) or set()
            tps = [TopicPartition(t, p) for p in sorted(parts)]
            ends = consumer.end_offsets(tps) if tps else {}
            out.append(TopicInfo(t, len(tps), {tp.partition: ends[tp] for tp in tps}))
        return out
    finally:
        consumer.close()


def beginning_offsets(cfg: Config, topic: str) -> dict[int, int]:
    """The earliest offset Kafka still holds per partition (after retention)."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(**client_settings(cfg), client_id="brain-describe", enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        return {tp.partition: off for tp, off in consumer.beginning_offsets(tps).items()} if tps else {}
    finally:
        consumer.close()


def producer(cfg: Config, **overrides):
    """A producer with our durability settings: acks=all and idempotence on."""
    from kafka import KafkaProducer

    settings = cfg.get("kafka.producer", {}, type_=dict)
    conf = {
        **client_settings(cfg),
        "acks": "all" if str(settings.get("acks", "all")) == "all" else int(settings["acks"]),
        "enable_idempotence": True,
        "linger_ms": int(settings.get("linger_ms", 20)),
        "batch_size": int(settings.get("batch_size", 262144)),
        "compression_type": settings.get("compression_type") or None,
        "max_request_size": 8 * 1024 * 1024,
        "client_id": "brain-producer",
    }
    conf.update(overrides)
    return KafkaProducer(**conf)


# json.dumps with arguments builds a new encoder on every call; the bridge encodes once per record.
_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def encode(record: dict) -> bytes:
    return _ENCODE(record).encode()


def produce(cfg: Config, messages: Iterable[tuple[str, bytes | None, bytes]],
            flush_timeout: float = 120) -> dict[str, int]:
    """Send (topic, key, value) messages and wait for every acknowledgement.

    Returns acknowledged counts per topic; raises if any send failed, so a
    caller never believes a record is in Kafka when it is not.
    """
    prod = producer(cfg)
    futures = []
    try:
        for topic, key, value in messages:
            futures.append((topic, prod.send(topic, key=key, value=value)))
        prod.flush(timeout=flush_timeout)
    finally:
        prod.close(timeout=flush_timeout)
    counts: dict[str, int] = {}
    for topic, fut in futures:
        fut.get(timeout=0)  # re-raises the send error, if any
        counts[topic] = counts.get(topic, 0) + 1
    return counts


def consume_all(cfg: Config, topic: str, timeout_ms: int = 5000) -> Iterator:
    """Read a topic from the beginning to its current end (tests, doctor)."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(**client_settings(cfg), enable_auto_commit=False, consumer_timeout_ms=timeout_ms)
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        remaining = {tp: ends[tp] for tp in tps if ends[tp] > 0}
        for msg in consumer:
            yield msg
            tp = TopicPartition(msg.topic, msg.partition)
            if tp in remaining and msg.offset + 1 >= remaining[tp]:
                del remaining[tp]
            if not remaining:
                break
    finally:
        consumer.close()
