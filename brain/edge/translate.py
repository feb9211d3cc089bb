"""One MQTT message -> contract records, or the reason it cannot be bridged.

No MQTT, no Kafka: the bridge hands each message here and sends what comes back,
so every rule (topic, payload, birth, alias, sequence, mapping) is unit-tested.
A message is bridged whole or dead-lettered whole: records are built only after
every metric of it has resolved.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field

from brain.edge import mapping, payload, topics
from brain.edge.mapping import EdgeMap, Place, UnknownPlace
from brain.edge.sessions import SessionProblem, SessionTable, birth_aliases, resolve


@dataclass
class Outcome:
    records: list[dict] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)   # metrics not turned into records, by why
    dead_letter: tuple[str, str] | None = None           # (reason, detail)
    rebirth: tuple[str, str] | None = None               # (group, edge_node) to ask for its births again


class Translator:
    def __init__(self, edge_map: EdgeMap, sessions: SessionTable, namespace: str = "spBv1.0",
                 json_prefix: str = "brain/json"):
        self.map, self.sessions = edge_map, sessions
        self.namespace, self.json_prefix = namespace, json_prefix.rstrip("/")

    def handle(self, topic: str, data: bytes, redelivered: bool = False, now_ms: int | None = None) -> Outcome:
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        if topic.startswith(self.json_prefix + "/"):
            return self._json(topic, data, now_ms)
        return self._sparkplug(topic, data, redelivered, now_ms)

    def _sparkplug(self, topic: str, data: bytes, redelivered: bool, now_ms: int) -> Outcome:
        out = Outcome()
        try:
            t = topics.parse_sparkplug(topic, self.namespace)
        except topics.TopicError as exc:
            out.dead_letter = ("bad_topic", str(exc))
            return out
        try:
            pl = payload.decode(data)
        except payload.PayloadError as exc:
            out.dead_letter = ("undecodable", str(exc))
            return out
        if not mapping.node_known(self.map, t.group, t.edge_node):
            out.dead_letter = ("unknown_device", f"edge node {t.group}/{t.edge_node} is not in the edge mapping")
            return out
        try:
            if t.message_type == "NBIRTH":
                session = self.sessions.nbirth(t.node_key, pl)
                aliases = session.aliases
            elif t.message_type == "NDEATH":
                self.sessions.ndeath(t.node_key, pl)
                return out
            else:
                session = self.sessions.advance(t.node_key, t.message_type, pl, redelivered)
                if t.message_type == "NDATA":
                    aliases = session.aliases
                elif t.message_type == "DBIRTH":
                    aliases = session.devices[t.device] = birth_aliases(pl.metrics)
                elif t.message_type == "DDEATH":
                    session.devices.pop(t.device, None)
                    return out
                else:
                    aliases = self.sessions.device_aliases(t.node_key, t.device, t.message_type)
            resolved = [(*resolve(m, aliases), m) for m in pl.metrics]
        except SessionProblem as exc:
            out.dead_letter = (exc.reason, f"{topic}: {exc.detail}")
            if exc.rebirth:
                out.rebirth = (t.group, t.edge_node)
            return out
        try:
            place = self._place(t.group, t.edge_node, t.device)
        except UnknownPlace as exc:
            out.dead_letter = ("unknown_device", str(exc))
            return out
        source = f"{t.group}/{t.edge_node}/{t.device or ''}"
        for name, datatype, m in resolved:
            value = payload.typed_value(datatype, m.value_field, m.raw)
            quality = mapping.quality(m.quality_code, session.stale)
            self._add(out, place, t.group, source, name, value, m.is_null, m.timestamp or pl.timestamp or now_ms,
                      quality)
        return out

    def _place(self, group: str, node: str, device: str | None) -> Place | None:
        if device is None and mapping.node_device(self.map, group, node) is None:
            return None   # the node's own metrics (bdSeq, Node Control/...) belong to no device
        return self.map.place(group, node, device)

    def _add(self, out: Outcome, place: Place | None, group: str, source: str, name: str, value,
             is_null: bool, event_ms: int, quality: str) -> None:
        if mapping.is_control(name):
            out.skipped["control"] += 1
            return
        target = self.map.target(group, place, name) if place else None
        if target is None:
            out.skipped["not_mapped"] += 1
            return
        if is_null:
            # The contract has no reading without a value: a null metric is counted, not sent.
            out.skipped["null_value"] += 1
            return
        state = self.map.state_of(value) if target.record_type == "machine_state" else None
        rec = mapping.record(place, target, source, name, value, int(event_ms), quality, state)
        if rec is None:
            out.skipped["not_a_reading"] += 1
        else:
            out.records.append(rec)

    def _json(self, topic: str, data: bytes, now_ms: int) -> Outcome:
        out = Outcome()
        try:
            t = topics.parse_json(topic, self.json_prefix)
        except topics.TopicError as exc:
            out.dead_letter = ("bad_topic", str(exc))
            return out
        try:
            body = json.loads(data)
        except ValueError as exc:
            out.dead_letter = ("undecodable", f"not JSON: {exc}")
            return out
        if not isinstance(body, dict) or not isinstance(body.get("metrics"), dict):
            out.dead_letter = ("undecodable", 'expected {"timestamp": <epoch ms>, "metrics": {"<name>": value}}')
            return out
        ts = body.get("timestamp", now_ms)
        if isinstance(ts, bool) or not isinstance(ts, int) or ts < 0:
            out.dead_letter = ("undecodable", f"timestamp {ts!r} is not epoch milliseconds")
            return out
        try:
            place = self.map.place(t.group, t.edge_node, t.device) if mapping.node_known(
                self.map, t.group, t.edge_node) else None
        except UnknownPlace as exc:
            out.dead_letter = ("unknown_device", str(exc))
            return out
        if place is None:
            out.dead_letter = ("unknown_device", f"edge node {t.group}/{t.edge_node} is not in the edge mapping")
            return out
        for name, value in body["metrics"].items():
            self._add(out, place, t.group, f"{t.group}/{t.edge_node}/{t.device}", name, value, value is None, ts,
                      "GOOD")
        return out

