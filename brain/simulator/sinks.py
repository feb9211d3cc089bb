"""Where simulated (or user-supplied) records go: Kafka, JSON Lines files, or nowhere.

The Kafka sink uses confluent-kafka (librdkafka): the bulk path has to sustain
well over 100k records/s on two cores, which kafka-python cannot. It reads the
same ``kafka.producer`` settings as brain.ingest.kafka_io.producer and keeps its
guarantees: acks=all, idempotence, and an error if any record was not
acknowledged. With a ``ledger`` file it also writes one line per record the
broker acknowledged (topic, partition, offset, event_id): what a producer can
prove it handed over, for `brain reconcile --ledger`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from contextlib import ExitStack
from pathlib import Path
from typing import Protocol

from brain.config import Config
from brain.ingest.kafka_security import client_security


class SinkError(RuntimeError):
    pass


class Sink(Protocol):
    name: str

    def send(self, topic: str, key: bytes | None, value: bytes) -> None: ...
    def close(self) -> None: ...


def confluent_config(cfg: Config, **overrides) -> dict:
    """librdkafka settings equivalent to brain.ingest.kafka_io.producer's."""
    settings = cfg.get("kafka.producer", {}, type_=dict)
    acks = str(settings.get("acks", "all"))
    conf = {
        "bootstrap.servers": cfg.get("kafka.bootstrap_servers", type_=str),
        **client_security(cfg).confluent(),
        "client.id": "brain-simulator",
        "acks": "all" if acks == "all" else int(acks),
        "enable.idempotence": True,
        "linger.ms": int(settings.get("linger_ms", 20)),
        "batch.size": int(settings.get("batch_size", 262144)),
        "compression.type": settings.get("compression_type") or "none",
        # Oversized test records (just over 1 MiB) must reach the broker, which takes up to 8 MiB.
        "message.max.bytes": 8 * 1024 * 1024,
        "queue.buffering.max.messages": 1_000_000,
        "queue.buffering.max.kbytes": 512 * 1024,
        "message.timeout.ms": 120_000,
        "delivery.report.only.error": True,
        # Same key -> same partition as the Java client and kafka-python, so a device's records
        # stay in one partition whichever tool sent them.
        "partitioner": "murmur2_random",
    }
    conf.update(overrides)
    return conf


# Bulk loads (history, files) trade latency for throughput: bigger, later batches
# nearly double records/s on a small machine. Streams keep the configured latency.
BULK_SETTINGS = {"linger.ms": 100, "batch.size": 2_000_000, "batch.num.messages": 100_000}


class KafkaSink:
    name = "kafka"

    def __init__(self, cfg: Config, flush_timeout_s: float = 120, bulk: bool = False,
                 ledger: str | Path | None = None):
        from confluent_kafka import Producer

        self.errors: list[str] = []
        self.flush_timeout_s = flush_timeout_s
        conf = confluent_config(cfg, on_delivery=self._failed)
        if bulk:
            conf.update({k: max(v, conf.get(k, 0)) for k, v in BULK_SETTINGS.items()})
        self._ledger = None
        if ledger is not None:
            # The ledger needs a report for every acknowledged record, not only the failures.
            conf.update({"on_delivery": self._delivered, "delivery.report.only.error": False})
            self._ledger = open(ledger, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self._producer = Producer(conf)

    def _failed(self, err, msg) -> None:
        if err is not None:
            self.errors.append(f"{msg.topic()}: {err}")

    def _delivered(self, err, msg) -> None:
        if err is not None:
            self._failed(err, msg)
            return
        self._ledger.write(json.dumps({"topic": msg.topic(), "partition": msg.partition(), "offset": msg.offset(),
                                       "event_id": ledger_event_id(msg.value())}) + "\n")

    def send(self, topic: str, key: bytes | None, value: bytes) -> None:
        produce = self._producer.produce
        while True:
            try:
                produce(topic, value, key)
                return
            except BufferError:   # local queue full: let librdkafka drain it
                self._producer.poll(0.05)

    def poll(self) -> None:
        self._producer.poll(0)

    def close(self) -> None:
        try:
            left = self._producer.flush(self.flush_timeout_s)
        finally:
            if self._ledger is not None:
                self._ledger.close()
        if left:
            raise SinkError(f"{left} records were not acknowledged by Kafka within {self.flush_timeout_s:.0f} s")
        if self.errors:
            raise SinkError(f"{len(self.errors)} records failed delivery, first: {self.errors[0]}")


def ledger_event_id(value: bytes | None) -> str | None:
    """The event_id of a message, if it is a JSON object with a string one (anything else: None)."""
    try:
        record = json.loads(value) if value else None
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested too deep to parse
        return None
    event_id = record.get("event_id") if isinstance(record, dict) else None
    return event_id if isinstance(event_id, str) else None


def read_ledger(path: str | Path) -> list[dict]:
    """The acknowledged records a KafkaSink ``ledger`` file lists (topic, partition, offset, event_id)."""
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


class FileSink:
    """One ``<topic>.jsonl`` per topic; each message is one line, byte for byte."""

    name = "jsonl"

    def __init__(self, folder: Path, topics: Iterable[str]):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._stack = ExitStack()
        self._files: dict = {}
        # Truncate every selected topic's file so a rerun leaves exactly this run's records.
        for t in topics:
            self._open(t)

    def _open(self, topic: str):
        # Open for the sink's lifetime; close() closes them all through the stack.
        f = open(self.folder / f"{topic}.jsonl", "wb", buffering=1 << 20)  # noqa: SIM115
        self._files[topic] = self._stack.enter_context(f)
        return f

    def send(self, topic: str, key: bytes | None, value: bytes) -> None:
        f = self._files.get(topic) or self._open(topic)
        f.write(value + b"\n")

    def close(self) -> None:
        self._stack.close()


class NullSink:
    """Generates and counts but sends nothing (measures the generator alone)."""

    name = "none"

    def send(self, topic: str, key: bytes | None, value: bytes) -> None:
        pass

    def close(self) -> None:
        pass
