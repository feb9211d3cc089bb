"""Sparkplug B payloads: protobuf bytes <-> plain Python values.

Decoding keeps each metric's raw value field; the data type that gives it a
meaning (signed or not, a number or a string) is often declared only in the
birth certificate, so ``typed_value`` runs after the alias is resolved.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from google.protobuf.message import DecodeError

from brain.edge import sparkplug_b_pb2 as pb

# Sparkplug DataType numbers (the enum in sparkplug_b.proto).
SIGNED_BITS = {pb.Int8: 8, pb.Int16: 16, pb.Int32: 32, pb.Int64: 64}
NUMERIC = {pb.Int8, pb.Int16, pb.Int32, pb.Int64, pb.UInt8, pb.UInt16, pb.UInt32, pb.UInt64, pb.Float, pb.Double}
TEXT = {pb.String, pb.Text, pb.UUID}
REBIRTH_METRIC = "Node Control/Rebirth"
BDSEQ_METRIC = "bdSeq"


class PayloadError(ValueError):
    pass


@dataclass(frozen=True)
class Metric:
    name: str | None
    alias: int | None
    timestamp: int | None
    datatype: int              # 0 (Unknown) when the message leaves it to the birth certificate
    value_field: str | None    # the protobuf oneof that is set, None when is_null or absent
    raw: object
    is_null: bool = False
    is_historical: bool = False
    is_transient: bool = False
    quality_code: int | None = None   # the "Quality" property (OPC DA code), when the node sends one


@dataclass(frozen=True)
class Payload:
    timestamp: int | None
    seq: int | None
    metrics: tuple[Metric, ...]


def decode(data: bytes) -> Payload:
    msg = pb.Payload()
    try:
        msg.ParseFromString(data)
    except (DecodeError, RuntimeWarning, ValueError) as exc:
        raise PayloadError(f"not a Sparkplug B protobuf payload: {exc}") from None
    return Payload(timestamp=msg.timestamp if msg.HasField("timestamp") else None,
                   seq=msg.seq if msg.HasField("seq") else None,
                   metrics=tuple(_metric(m) for m in msg.metrics))


def _metric(m) -> Metric:
    field = m.WhichOneof("value")
    return Metric(name=m.name if m.HasField("name") else None,
                  alias=m.alias if m.HasField("alias") else None,
                  timestamp=m.timestamp if m.HasField("timestamp") else None,
                  datatype=m.datatype,
                  value_field=None if m.is_null else field,
                  raw=None if m.is_null or field is None else getattr(m, field),
                  is_null=m.is_null or field is None,
                  is_historical=m.is_historical, is_transient=m.is_transient,
                  quality_code=_quality_property(m))


def _quality_property(m) -> int | None:
    if not m.HasField("properties"):
        return None
    for key, value in zip(m.properties.keys, m.properties.values):
        if key == "Quality" and value.WhichOneof("value") in ("int_value", "long_value"):
            return int(getattr(value, value.WhichOneof("value")))
    return None


def typed_value(datatype: int, field: str | None, raw: object) -> bool | int | float | str | bytes | None:
    """The metric's value as its data type means it (two's complement for signed integers)."""
    if field is None:
        return None
    if datatype in SIGNED_BITS and isinstance(raw, int):
        bits = SIGNED_BITS[datatype]
        raw &= (1 << bits) - 1
        return raw - (1 << bits) if raw >= 1 << (bits - 1) else raw
    if field in ("dataset_value", "template_value", "extension_value"):
        return None   # structured values have no single reading to bridge
    return raw


def encode(metrics: list[dict], seq: int | None = None, timestamp: int | None = None) -> bytes:
    """A payload from dicts with Metric's field names (name, alias, datatype, <x>_value, is_null,
    properties={"Quality": 192}); for rebirth requests, tests and simulated edge nodes."""
    msg = pb.Payload(timestamp=int(time.time() * 1000) if timestamp is None else timestamp)
    if seq is not None:
        msg.seq = seq
    for spec in metrics:
        m = msg.metrics.add()
        for key, value in spec.items():
            if key == "properties":
                for pkey, pval in value.items():
                    m.properties.keys.append(pkey)
                    m.properties.values.add(type=pb.Int32, int_value=int(pval))
            elif key == "value":
                _set_value(m, spec.get("datatype", 0), value)
            else:
                setattr(m, key, value)
    return msg.SerializeToString()


def _set_value(m, datatype: int, value) -> None:
    if datatype in (pb.Int8, pb.Int16, pb.Int32, pb.UInt8, pb.UInt16, pb.UInt32):
        m.int_value = int(value) & 0xFFFFFFFF
    elif datatype in (pb.Int64, pb.UInt64, pb.DateTime):
        m.long_value = int(value) & 0xFFFFFFFFFFFFFFFF
    elif datatype == pb.Float:
        m.float_value = float(value)
    elif datatype == pb.Double:
        m.double_value = float(value)
    elif datatype == pb.Boolean:
        m.boolean_value = bool(value)
    elif datatype in TEXT:
        m.string_value = str(value)
    elif datatype == pb.Bytes:
        m.bytes_value = bytes(value)
    else:
        raise PayloadError(f"cannot encode a value of Sparkplug data type {datatype}")


def rebirth_request() -> bytes:
    """NCMD payload asking an edge node to publish its births again (Sparkplug 3.0, 'Node Control/Rebirth')."""
    return encode([{"name": REBIRTH_METRIC, "datatype": pb.Boolean, "value": True}])
