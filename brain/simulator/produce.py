"""``brain produce FILE --topic T``: load a user's JSON Lines or CSV records into Kafka.

JSON Lines are sent byte for byte (a line that is not JSON still goes: the
pipeline quarantines it, which is what a factory's bad record should meet).
CSV rows become JSON objects, each cell typed by the record's contract
(integers, numbers, booleans, ``a;b`` or JSON arrays; an empty cell is left out).
Keys are site/line/device as for the simulator.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator
from pathlib import Path

from brain.config import Config
from brain.contracts import topic_names, validate
from brain.contracts.schemas import CURRENT_VERSION, contracts
from brain.ingest import kafka_io
from brain.simulator.records import dumps
from brain.simulator.sinks import KafkaSink


class ProduceError(ValueError):
    pass


def produce_file(cfg: Config, path: str | Path, topic: str, *, file_format: str | None = None,
                 check: bool = False, sink=None) -> dict:
    """Send every record of ``path`` to ``topic``; returns counts.

    Result keys: ``topic``, ``file``, ``sent`` (acknowledged by Kafka), ``not_json``
    (lines sent that do not parse), and with ``check`` ``invalid`` (records sent
    that break their contract).
    """
    path = Path(path)
    if not path.is_file():
        raise ProduceError(f"{path}: no such file")
    fmt = (file_format or ("csv" if path.suffix.lower() == ".csv" else "jsonl")).lower()
    if fmt not in ("csv", "jsonl"):
        raise ProduceError(f"unknown format {fmt!r}: use jsonl or csv")
    if sink is None:
        _ensure_topic(cfg, topic)
        sink = KafkaSink(cfg, bulk=True)
    counts = {"topic": topic, "file": str(path), "sent": 0, "not_json": 0}
    if check:
        counts["invalid"] = 0
    rows = _csv_records(path) if fmt == "csv" else _jsonl_records(path)
    try:
        for record, value in rows:
            if record is None:
                counts["not_json"] += 1
            if check and validate(value):
                counts["invalid"] += 1
            sink.send(topic, kafka_io.record_key(record) if isinstance(record, dict) else None, value)
            counts["sent"] += 1
    finally:
        sink.close()
    return counts


def _ensure_topic(cfg: Config, topic: str) -> None:
    """Create a configured topic if missing; refuse an unknown one (a typo must not create a topic)."""
    if topic in topic_names.all_topics(cfg):
        kafka_io.create_topics(cfg, [topic])
        return
    existing = {t.topic for t in kafka_io.describe_topics(cfg) if t.partitions}
    if topic not in existing:
        raise ProduceError(f"topic {topic!r} does not exist and is not one of the configured topics "
                           f"({', '.join(topic_names.all_topics(cfg))}); create it first")


def _jsonl_records(path: Path) -> Iterator[tuple[dict | None, bytes]]:
    with open(path, "rb") as f:
        for line in f:
            value = line.rstrip(b"\r\n")
            if not value.strip():
                continue
            try:
                record = json.loads(value)
            except ValueError:
                record = None
            yield (record if isinstance(record, dict) else None), value


def _csv_records(path: Path) -> Iterator[tuple[dict, bytes]]:
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            record = csv_row_to_record(row)
            yield record, dumps(record).encode()


def csv_row_to_record(row: dict[str, str | None]) -> dict:
    """Type one CSV row by its record type's contract; cells that do not fit stay strings."""
    contract = contracts().get(((row.get("record_type") or "").strip(),
                                (row.get("schema_version") or CURRENT_VERSION).strip()))
    props = dict(contracts()[("envelope", CURRENT_VERSION)].schema["properties"])
    if contract:
        props.update(contract.schema["properties"])
    record: dict = {}
    for name, cell in row.items():
        if name is None or cell is None:
            continue
        text = cell.strip()
        types = _types(props.get(name, {}))
        if text == "":
            if "null" in types:
                record[name] = None
            continue
        record[name] = _coerce(text, types)
    return record


def _types(prop: dict) -> set[str]:
    ref = prop.get("$ref", "")
    if ref.endswith("/timestamp"):
        return {"string", "integer"}
    if ref.endswith("/count"):
        return {"integer"}
    declared = prop.get("type", "string")
    types = {declared} if isinstance(declared, str) else set(declared)
    if "enum" in prop or "const" in prop:
        values = prop.get("enum", [prop.get("const")])
        types |= {"string" if isinstance(v, str) else "null" if v is None else "number" for v in values}
    return types


def _coerce(text: str, types: set[str]):
    if "integer" in types and text.lstrip("-").isdigit():
        return int(text)
    if "number" in types:
        try:
            number = int(text) if text.lstrip("-").isdigit() else float(text)
            if math.isfinite(number):   # NaN/Infinity are not JSON
                return number
        except ValueError:
            pass
    if "boolean" in types and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if "array" in types:
        if text.startswith("["):
            try:
                return json.loads(text)
            except ValueError:
                pass
        return [p.strip() for p in text.split(";") if p.strip()]
    return text
