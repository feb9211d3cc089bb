"""`brain bridge mqtt`: MQTT (Sparkplug B, plain JSON) -> Kafka, nothing lost.

One thread: paho's ``loop`` reads MQTT and calls ``_on_message``, which translates
the message (brain.edge.translate) and sends its records, or its dead letter, with
the idempotent Kafka producer (confluent-kafka, acks=all: kafka-python's pure
Python send capped one bridge at about 6 k records/s, docs/benchmarks.md). Its
delivery reports, served by ``poll`` in the same loop, count down each message's
records; the MQTT message is acknowledged (manual PUBACK, in arrival order as MQTT
requires) only once Kafka has acknowledged all of them. So:

- QoS 1 and a persistent session (clean_session false): what arrives while the
  bridge is away or busy waits at the broker;
- at most ``bridge.max_pending`` messages await Kafka; past that the bridge stops
  reading until Kafka catches up (and the broker's ``max_inflight_messages`` stops
  sending), which is the back-pressure;
- if Kafka does not acknowledge within ``bridge.kafka_timeout_s`` (librdkafka's
  ``message.timeout.ms``; a record its local queue cannot take for that long, or
  one it refuses, counts the same), the bridge drops
  the MQTT connection without acknowledging and reconnects after
  ``bridge.retry_backoff_s``: the broker redelivers those messages (QoS 1, DUP
  set; the session tracker takes them as replays, not gaps). Records resent that
  way keep their event_id (derived from the reading), which the pipeline
  deduplicates on. QoS 0 messages are never redelivered, so the bridge keeps
  their records itself (at most ``bridge.max_pending``) and sends them again.

Counts go to the ledger (brain.edge.ledger); alias tables and sequence numbers to
sessions.json, so a restart does not need every node to rebirth.
"""

from __future__ import annotations

import base64
import json
import signal
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from brain.config import Config
from brain.contracts.topic_names import topic_for
from brain.edge import broker, payload, topics
from brain.edge import mapping as edge_mapping
from brain.edge.ledger import Ledger, state_dir, write_json
from brain.edge.sessions import SessionTable
from brain.edge.translate import Outcome, Translator
from brain.ingest import kafka_io
from brain.simulator.sinks import confluent_config

# librdkafka scans for timed-out messages about once a second: a report that late is still on time.
TIMEOUT_GRACE_S = 2.0


class BridgeError(RuntimeError):
    pass


class Attempt:
    """One sending of a message's records: Kafka's delivery reports count it down. A message sent
    again (QoS 0, after a Kafka failure) gets a new one, so a late report of the abandoned
    producer cannot settle the new sending."""

    __slots__ = ("outstanding", "error", "deadline")

    def __init__(self, records: int, deadline: float):
        self.outstanding, self.error, self.deadline = records, None, deadline

    def delivered(self, err, msg) -> None:
        if err is not None and self.error is None:
            self.error = err
        self.outstanding -= 1

    def refused(self, unsent: int, error) -> None:
        """``unsent`` records never reached the producer's queue: no report will come for them."""
        self.outstanding -= unsent
        if self.error is None:
            self.error = error


@dataclass
class Pending:
    mid: int
    qos: int
    outcome: Outcome
    sends: list[tuple[str, bytes | None, bytes]] = field(default_factory=list)   # (topic, key, value)
    attempt: Attempt | None = None


def dead_letter_topic(cfg: Config) -> str:
    return str(cfg.get("kafka.topic_prefix", "") or "") + cfg.get("bridge.dead_letter_topic", type_=str)


def dead_letter_value(mqtt_topic: str, data: bytes, reason: str, detail: str, qos: int, now_ms: int) -> bytes:
    """The dead letter: why, and the payload byte for byte (base64), to read or replay."""
    return json.dumps({"reason": reason, "detail": detail, "mqtt_topic": mqtt_topic, "qos": qos,
                       "received_ms": now_ms, "payload_base64": base64.b64encode(data).decode()},
                      separators=(",", ":")).encode()


class Bridge:
    def __init__(self, cfg: Config, log=print):
        import paho.mqtt.client as mqtt

        self.cfg, self.log = cfg, log
        self.dir = state_dir(cfg)
        self.ledger_path, self.sessions_path = self.dir / "ledger.json", self.dir / "sessions.json"
        self.ledger = Ledger.load(self.ledger_path)
        self.sessions = SessionTable.from_json(_read_json(self.sessions_path))
        self.namespace = cfg.get("bridge.namespace", type_=str)
        self.translator = Translator(edge_mapping.load(edge_mapping.mapping_file(cfg)), self.sessions,
                                     self.namespace, cfg.get("bridge.json_prefix", type_=str))
        self.dlq = dead_letter_topic(cfg)
        self.topics: dict[tuple[str, str], str] = {}   # (industry, record_type) -> topic; config is fixed per run
        self.qos = cfg.get("bridge.qos", type_=int)
        self.max_pending = cfg.get("bridge.max_pending", type_=int)
        self.kafka_timeout = float(cfg.get("bridge.kafka_timeout_s"))
        self.backoff = float(cfg.get("bridge.retry_backoff_s"))
        self.rebirth_interval = float(cfg.get("bridge.rebirth_interval_s"))
        self.pending: deque[Pending] = deque()
        self.retry: deque[Pending] = deque()     # QoS 0 messages whose sends Kafka did not confirm
        self.last_rebirth: dict[tuple[str, str], float] = {}
        self.connected = False
        self.stopping = False
        self.last_activity = time.monotonic()
        self.run_counts = {"received": 0, "bridged": 0, "dead_lettered": 0, "records_produced": 0,
                           "left_unacknowledged": 0}
        self.producer = None

        host_id = cfg.get("bridge.host_id", type_=str)
        self.state_topic = topics.state_topic(self.namespace, host_id)
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=cfg.get("bridge.client_id", type_=str),
                             clean_session=False, protocol=mqtt.MQTTv311, manual_ack=True)
        client.username_pw_set(*broker.credentials(cfg))
        # Sparkplug 3.0 primary host: edge nodes publish only while its STATE says online.
        client.will_set(self.state_topic, self._state(False), qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self.client = client

    # -- MQTT --------------------------------------------------------------------------------------
    def _state(self, online: bool) -> bytes:
        return json.dumps({"online": online, "timestamp": int(time.time() * 1000)}).encode()

    def _on_connect(self, client, userdata, flags, reason, properties) -> None:
        if reason.is_failure:
            self.log(f"bridge: MQTT refused the connection: {reason}")
            return
        self.connected = True
        present = getattr(flags, "session_present", False)
        self.log(f"bridge: connected to MQTT ({'resuming' if present else 'new'} persistent session)")
        for filt in topics.subscriptions(self.namespace, self.cfg.get("bridge.json_prefix", type_=str)):
            client.subscribe(filt, qos=self.qos)
        client.publish(self.state_topic, self._state(True), qos=1, retain=True)

    def _on_disconnect(self, client, userdata, flags, reason, properties) -> None:
        self.connected = False

    def _connect(self) -> None:
        host, port = self.cfg.get("mqtt.host", type_=str), self.cfg.get("mqtt.port", type_=int)
        deadline = time.monotonic() + 30
        while True:
            try:
                self.client.connect(host, port, keepalive=self.cfg.get("mqtt.keepalive_s", type_=int))
                break
            except OSError as exc:
                if time.monotonic() > deadline:
                    raise BridgeError(f"cannot reach the MQTT broker at {host}:{port}: {exc} "
                                      "(start it with `brain mqtt start`)") from None
                time.sleep(1)
        end = time.monotonic() + 15
        while not self.connected and time.monotonic() < end:
            self.client.loop(0.1)
        if not self.connected:
            raise BridgeError(f"the MQTT broker at {host}:{port} did not accept the bridge "
                              "(wrong credentials? see `brain mqtt status` and docs/edge.md)")

    # -- messages ----------------------------------------------------------------------------------
    def _on_message(self, client, userdata, msg) -> None:
        self.last_activity = time.monotonic()
        self.ledger.received += 1
        self.run_counts["received"] += 1
        now_ms = int(time.time() * 1000)
        try:
            outcome = self.translator.handle(msg.topic, msg.payload, redelivered=bool(msg.dup), now_ms=now_ms)
        except Exception as exc:  # noqa: BLE001 - a message that trips a bug is dead-lettered, not a crash loop
            outcome = Outcome(dead_letter=("bridge_error", f"{type(exc).__name__}: {exc}"))
        item = Pending(msg.mid, msg.qos, outcome)
        if outcome.dead_letter:
            reason, detail = outcome.dead_letter
            item.sends.append((self.dlq, msg.topic.encode(),
                               dead_letter_value(msg.topic, msg.payload, reason, detail, msg.qos, now_ms)))
        topics_, encode, key_of = self.topics, kafka_io.encode, kafka_io.record_key
        for rec in outcome.records:
            where = (rec["industry"], rec["record_type"])
            topic = topics_.get(where) or topics_.setdefault(where, topic_for(self.cfg, *where))
            item.sends.append((topic, key_of(rec), encode(rec)))
        self._send(item)
        if outcome.rebirth:
            self._request_rebirth(*outcome.rebirth)

    def _send(self, item: Pending) -> None:
        self.pending.append(item)
        deadline = time.monotonic() + self.kafka_timeout
        item.attempt = attempt = Attempt(len(item.sends), deadline)
        produce, report = self.producer.produce, attempt.delivered
        for i, (topic, key, value) in enumerate(item.sends):
            while True:
                try:
                    produce(topic, value, key, on_delivery=report)
                    break
                except BufferError:
                    # The producer's local queue is full: serve its reports until it has room,
                    # as long as kafka-python's send blocked (max_block_ms = kafka_timeout_s).
                    if time.monotonic() > deadline:
                        attempt.refused(len(item.sends) - i, "the producer's queue stayed full")
                        return
                    self.producer.poll(0.05)
                except Exception as exc:  # noqa: BLE001 - any produce error means: Kafka did not take it
                    attempt.refused(len(item.sends) - i, exc)
                    return

    def _request_rebirth(self, group: str, node: str) -> None:
        now = time.monotonic()
        if now - self.last_rebirth.get((group, node), -1e9) < self.rebirth_interval:
            return
        self.last_rebirth[(group, node)] = now
        self.client.publish(topics.ncmd_topic(self.namespace, group, node), payload.rebirth_request(), qos=0)
        self.ledger.rebirths_requested += 1
        self.log(f"bridge: asked {group}/{node} to rebirth")

    def _settle(self, block: bool) -> bool:
        """Acknowledge, in order, the messages Kafka has fully acknowledged; with ``block``, first wait
        for the oldest one. False when Kafka failed: a record's delivery failed, or its report has not
        come by the message's deadline (librdkafka reports a timeout itself at message.timeout.ms;
        the grace covers its once-a-second scan for them)."""
        if self.producer is not None:
            self.producer.poll(0)     # serve the delivery reports that have arrived
        while self.pending:
            item = self.pending[0]
            attempt = item.attempt
            if attempt.error is not None:
                return False
            if attempt.outstanding > 0:
                late = time.monotonic() - attempt.deadline - TIMEOUT_GRACE_S
                if late > 0:
                    return False
                if not block:
                    return True
                self.producer.poll(min(-late, 0.1))
                continue
            self.pending.popleft()
            self.client.ack(item.mid, item.qos)
            self._count(item)
            block = False
        return True

    def _count(self, item: Pending) -> None:
        led, out = self.ledger, item.outcome
        if out.dead_letter:
            led.dead_lettered += 1
            led.dead_letters_by_reason[out.dead_letter[0]] += 1
            self.run_counts["dead_lettered"] += 1
        else:
            led.bridged += 1
            self.run_counts["bridged"] += 1
        produced = [t for t, _, _ in item.sends if t != self.dlq]
        led.records_produced += len(produced)
        self.run_counts["records_produced"] += len(produced)
        led.records_by_topic.update(produced)
        led.metrics_skipped.update(out.skipped)

    def _abandon_pending(self) -> None:
        """Leave QoS 1 messages unacknowledged for the broker to redeliver; keep QoS 0 ones to resend."""
        for item in self.pending:
            if item.qos > 0:
                self.ledger.left_unacknowledged += 1
                self.run_counts["left_unacknowledged"] += 1
            else:
                # No acknowledgement, no redelivery: the bridge's own bounded buffer is all they have.
                self.retry.append(item)
        self.pending.clear()
        lost = 0
        while len(self.retry) > self.max_pending:
            self.retry.popleft()
            lost += 1
        if lost:
            self.ledger.qos0_lost += lost
            self.log(f"bridge: {lost} QoS 0 message(s) dropped: more than bridge.max_pending awaited Kafka "
                     "(counted as qos0_lost; publish at QoS 1 where every reading matters)")

    def _resend_retry(self) -> None:
        while self.retry:
            self._send(self.retry.popleft())

    def _kafka_failed(self) -> None:
        self._abandon_pending()
        self.save()
        # Without the PUBACKs, the broker keeps these messages for the session and sends them again.
        self.client.disconnect()
        self.connected = False
        self._close_producer(purge=True)

    # -- the service -------------------------------------------------------------------------------
    def _open_producer(self):
        from confluent_kafka import Producer

        ms = int(self.kafka_timeout * 1000)
        # The project's librdkafka settings (security from kafka_security, acks=all, idempotence,
        # the same partitioner as the other clients); every delivery reported, not only failures.
        self.producer = Producer(confluent_config(
            self.cfg, **{"client.id": "brain-bridge", "delivery.report.only.error": False,
                         "message.timeout.ms": ms, "request.timeout.ms": max(1000, ms // 2)}))
        try:
            # librdkafka connects lazily: ask for the cluster's metadata so that a Kafka still down
            # fails here, before the bridge reads MQTT messages it could not send.
            self.producer.list_topics(timeout=self.kafka_timeout)
        except Exception as exc:  # noqa: BLE001 - KafkaException: no broker answered
            self._close_producer(purge=True)
            raise BridgeError(f"Kafka at {self.cfg.get('kafka.bootstrap_servers')} did not answer: {exc}") from None

    def _close_producer(self, purge: bool) -> None:
        """Let the producer go; with ``purge`` (Kafka failed) without waiting for what it still holds:
        those messages are left unacknowledged or kept to resend, so a late write is a duplicate the
        pipeline removes by event_id, never a loss."""
        producer, self.producer = self.producer, None
        if producer is None:
            return
        try:
            if purge:
                producer.purge(in_queue=True, in_flight=True, blocking=False)
            producer.flush(5 if purge else self.kafka_timeout)
        except Exception:  # noqa: BLE001 - the producer is being dropped anyway
            pass

    def _reconnect(self) -> None:
        """Kafka first (no point reading what cannot be sent), then MQTT; retried until they answer."""
        time.sleep(self.backoff)
        try:
            if self.producer is None:
                self._open_producer()
            self._resend_retry()
            self._connect()
        except Exception as exc:  # noqa: BLE001 - a service keeps trying; the log says why
            self.log(f"bridge: not reconnected yet ({exc}); retrying in {self.backoff:.0f}s")

    def save(self) -> None:
        self.ledger.in_flight = len(self.pending) + len(self.retry)
        self.ledger.save(self.ledger_path)
        write_json(self.sessions_path, self.sessions.as_json())

    def run(self, once: bool = False, max_messages: int | None = None, idle_timeout: float | None = None) -> dict:
        """Bridge until stopped (SIGTERM/SIGINT), or with ``once`` until ``idle_timeout`` seconds pass
        without a message; ``max_messages`` stops after that many were received and settled."""
        if once and idle_timeout is None:
            idle_timeout = 3.0
        kafka_io.create_topics(self.cfg, [self.dlq, *self.translator.map.topics(self.cfg)])
        # Signals reach only the main thread (a bridge run in a thread is stopped with .stopping = True).
        main = threading.current_thread() is threading.main_thread()
        previous = {s: signal.signal(s, self._stop) for s in (signal.SIGTERM, signal.SIGINT)} if main else {}
        try:
            self._open_producer()
            self._connect()
            last_save = time.monotonic()
            while not self.stopping:
                if not self.connected:
                    # PUBACKs cannot follow a dropped connection: the broker redelivers these instead.
                    self._abandon_pending()
                    if once:
                        raise BridgeError("lost the MQTT or Kafka connection; unacknowledged messages stay in "
                                          "the broker's session for the next run")
                    self._reconnect()
                    continue
                full = len(self.pending) >= self.max_pending
                if not full:
                    received = self.run_counts["received"]
                    # Awaiting Kafka: only look at MQTT, then wait for delivery reports instead.
                    self.client.loop(0 if self.pending else 0.05)
                    if self.pending and self.run_counts["received"] == received:
                        self.producer.poll(0.005)
                if not self._settle(block=full):
                    self.log(f"bridge: Kafka did not acknowledge; {len(self.pending)} MQTT message(s) left "
                             f"unacknowledged for redelivery; retrying in {self.backoff:.0f}s")
                    self._kafka_failed()
                    continue
                if time.monotonic() - last_save > 5:
                    self.save()
                    last_save = time.monotonic()
                if max_messages is not None and self.run_counts["received"] >= max_messages and not self.pending:
                    break
                if idle_timeout is not None and not self.pending and \
                        time.monotonic() - self.last_activity > idle_timeout:
                    break
            self._drain()
        finally:
            for s, h in previous.items():
                signal.signal(s, h)
            self._abandon_pending()     # after an error: whatever was not acknowledged will be redelivered
            if self.retry:
                self.ledger.qos0_lost += len(self.retry)
                self.log(f"bridge: stopping with {len(self.retry)} QoS 0 message(s) Kafka never confirmed "
                         "(counted as qos0_lost)")
                self.retry.clear()
            self.save()
        return {**self.run_counts, "ledger": self.ledger.as_dict()}

    def _drain(self) -> None:
        """Settle what is pending, say offline, and leave cleanly (PUBACKs written before DISCONNECT)."""
        if self.producer is not None:
            self.producer.flush(self.kafka_timeout)
            while self.pending:
                if not self._settle(block=True):
                    self._kafka_failed()
                    break
        if self.connected:
            offline = self.client.publish(self.state_topic, self._state(False), qos=1, retain=True)
            # Its PUBACK means the broker has read everything sent before it, the PUBACKs included.
            for _ in range(5):
                if offline.is_published():
                    break
                self.client.loop(0.05)
            self.client.disconnect()
            self.client.loop(0.1)
        self._close_producer(purge=False)

    def _stop(self, signum, frame) -> None:
        self.stopping = True


def _read_json(path) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return {}


def status(cfg: Config) -> dict:
    """The ledger and whether its equation holds (brain bridge status)."""
    led = Ledger.load(state_dir(cfg) / "ledger.json")
    return {**led.as_dict(), "ledger": str(state_dir(cfg) / "ledger.json"), "dead_letter_topic": dead_letter_topic(cfg)}
