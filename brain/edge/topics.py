"""MQTT topic names the bridge reads and writes.

Sparkplug B (3.0): ``spBv1.0/{group_id}/{message_type}/{edge_node_id}[/{device_id}]``;
device messages (DBIRTH, DDATA, DDEATH) carry a device id, node messages do not.
Plain JSON devices: ``{json_prefix}/{group}/{edge_node}/{device}``.
"""

from __future__ import annotations

from dataclasses import dataclass

NODE_TYPES = ("NBIRTH", "NDATA", "NDEATH")
DEVICE_TYPES = ("DBIRTH", "DDATA", "DDEATH")
BRIDGED_TYPES = NODE_TYPES + DEVICE_TYPES


class TopicError(ValueError):
    pass


@dataclass(frozen=True)
class SparkplugTopic:
    group: str
    message_type: str
    edge_node: str
    device: str | None = None

    @property
    def node_key(self) -> str:
        """One edge node's session: its sequence numbers and node aliases."""
        return f"{self.group}/{self.edge_node}"


@dataclass(frozen=True)
class JsonTopic:
    group: str
    edge_node: str
    device: str


def parse_sparkplug(topic: str, namespace: str = "spBv1.0") -> SparkplugTopic:
    parts = topic.split("/")
    if len(parts) < 4 or parts[0] != namespace:
        raise TopicError(f"{topic!r} is not a Sparkplug B topic ({namespace}/group/TYPE/edge_node[/device])")
    _, group, mtype, node, *rest = parts
    if mtype not in BRIDGED_TYPES:
        raise TopicError(f"{topic!r}: message type {mtype!r} is not one the bridge reads ({', '.join(BRIDGED_TYPES)})")
    if mtype in DEVICE_TYPES and len(rest) != 1:
        raise TopicError(f"{topic!r}: {mtype} needs a device id after the edge node")
    if mtype in NODE_TYPES and rest:
        raise TopicError(f"{topic!r}: {mtype} has no device id")
    if not all([group, node, *rest]):
        raise TopicError(f"{topic!r}: empty group, edge node or device id")
    return SparkplugTopic(group, mtype, node, rest[0] if rest else None)


def parse_json(topic: str, prefix: str) -> JsonTopic:
    head = prefix.rstrip("/") + "/"
    rest = topic[len(head):].split("/") if topic.startswith(head) else []
    if len(rest) != 3 or not all(rest):
        raise TopicError(f"{topic!r} is not a JSON device topic ({head}group/edge_node/device)")
    return JsonTopic(*rest)


def subscriptions(namespace: str, json_prefix: str) -> list[str]:
    """Only the message types the bridge bridges: not NCMD/DCMD (its own rebirth requests) or STATE."""
    node = [f"{namespace}/+/{t}/+" for t in NODE_TYPES]
    device = [f"{namespace}/+/{t}/+/+" for t in DEVICE_TYPES]
    return node + device + [f"{json_prefix.rstrip('/')}/+/+/+"]


def ncmd_topic(namespace: str, group: str, edge_node: str) -> str:
    return f"{namespace}/{group}/NCMD/{edge_node}"


def state_topic(namespace: str, host_id: str) -> str:
    """Sparkplug 3.0 primary host STATE topic: edge nodes wait for it before publishing."""
    return f"{namespace}/STATE/{host_id}"
