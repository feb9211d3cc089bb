"""Sparkplug B edge node sessions as a host application tracks them (Sparkplug 3.0).

An NBIRTH opens a session: it declares the node's metrics with their aliases and
data types, its bdSeq (which its NDEATH will repeat) and the first sequence
number. Every later message of the node (NDATA, DBIRTH, DDATA, DDEATH) carries
the next number, 0-255 wrapping. A DBIRTH declares a device's aliases. Data whose
alias no birth declared, or that breaks the sequence, cannot be trusted: the
caller dead-letters it and asks the node to rebirth. After a gap the session is
kept but marked stale: its next readings are bridged as UNCERTAIN until a new NBIRTH.

Pure state (JSON-serialisable), so it survives a bridge restart and is unit-tested.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from brain.edge.payload import BDSEQ_METRIC, Metric, Payload

SEQ_MODULUS = 256


class SessionProblem(Exception):
    """A message the session cannot accept; ``reason`` is the dead-letter reason."""

    def __init__(self, reason: str, detail: str, rebirth: bool):
        super().__init__(detail)
        self.reason, self.detail, self.rebirth = reason, detail, rebirth


@dataclass
class NodeSession:
    bd_seq: int | None
    last_seq: int
    aliases: dict[int, tuple[str, int]] = field(default_factory=dict)            # node metrics
    devices: dict[str, dict[int, tuple[str, int]]] = field(default_factory=dict)  # device -> aliases
    stale: bool = False

    def as_json(self) -> dict:
        return {"bd_seq": self.bd_seq, "last_seq": self.last_seq, "stale": self.stale,
                "aliases": {str(a): list(v) for a, v in self.aliases.items()},
                "devices": {d: {str(a): list(v) for a, v in al.items()} for d, al in self.devices.items()}}

    @classmethod
    def from_json(cls, raw: dict) -> NodeSession:
        def aliases(d: dict) -> dict[int, tuple[str, int]]:
            return {int(a): (v[0], int(v[1])) for a, v in d.items()}
        return cls(bd_seq=raw.get("bd_seq"), last_seq=int(raw["last_seq"]), stale=bool(raw.get("stale")),
                   aliases=aliases(raw.get("aliases", {})),
                   devices={d: aliases(a) for d, a in raw.get("devices", {}).items()})


def next_seq(seq: int) -> int:
    return (seq + 1) % SEQ_MODULUS


def check_sequence(last_seq: int, seq: int | None, redelivered: bool) -> str:
    """'ok' for the next number; 'replay' for a redelivery (MQTT QoS 1 resends what was not
    acknowledged) of a number already seen; otherwise a problem."""
    if seq is None:
        raise SessionProblem("missing_seq", "payload has no sequence number", rebirth=True)
    if not 0 <= seq < SEQ_MODULUS:
        raise SessionProblem("sequence_gap", f"sequence number {seq} is outside 0-255", rebirth=True)
    if seq == next_seq(last_seq):
        return "ok"
    if redelivered and (last_seq - seq) % SEQ_MODULUS < SEQ_MODULUS // 2:
        # Behind, not ahead: a message the bridge saw before but never acknowledged.
        return "replay"
    raise SessionProblem("sequence_gap", f"expected sequence number {next_seq(last_seq)}, got {seq}", rebirth=True)


def birth_aliases(metrics: tuple[Metric, ...]) -> dict[int, tuple[str, int]]:
    """alias -> (name, datatype) declared by a birth certificate."""
    return {m.alias: (m.name, m.datatype) for m in metrics if m.alias is not None and m.name}


def resolve(metric: Metric, aliases: dict[int, tuple[str, int]]) -> tuple[str, int]:
    """The metric's (name, datatype): by name if it has one, else by the alias its birth declared."""
    if metric.name:
        declared = next((dt for name, dt in aliases.values() if name == metric.name), 0)
        return metric.name, metric.datatype or declared
    if metric.alias is not None and metric.alias in aliases:
        name, datatype = aliases[metric.alias]
        return name, metric.datatype or datatype
    raise SessionProblem("unknown_alias", f"alias {metric.alias} was not declared by a birth certificate",
                         rebirth=True)


class SessionTable:
    """Every edge node's session, keyed ``group/edge_node``."""

    def __init__(self, nodes: dict[str, NodeSession] | None = None):
        self.nodes: dict[str, NodeSession] = nodes or {}

    def as_json(self) -> dict:
        return {k: s.as_json() for k, s in self.nodes.items()}

    @classmethod
    def from_json(cls, raw: dict) -> SessionTable:
        return cls({k: NodeSession.from_json(v) for k, v in raw.items()})

    def nbirth(self, node: str, payload: Payload) -> NodeSession:
        if payload.seq is None:
            raise SessionProblem("missing_seq", "NBIRTH has no sequence number", rebirth=True)
        bd = next((m.raw for m in payload.metrics if m.name == BDSEQ_METRIC), None)
        session = NodeSession(bd_seq=bd, last_seq=payload.seq % SEQ_MODULUS, aliases=birth_aliases(payload.metrics))
        self.nodes[node] = session
        return session

    def advance(self, node: str, message_type: str, payload: Payload, redelivered: bool = False) -> NodeSession:
        """Check the sequence of a message after NBIRTH (NDATA, DBIRTH, DDATA, DDEATH) and advance it."""
        session = self.nodes.get(node)
        if session is None:
            raise SessionProblem("no_birth", f"{message_type} from {node} before its NBIRTH", rebirth=True)
        try:
            if check_sequence(session.last_seq, payload.seq, redelivered) == "ok":
                session.last_seq = payload.seq
        except SessionProblem:
            if payload.seq is not None and 0 <= payload.seq < SEQ_MODULUS:
                # Resynchronise on what arrived, so one lost message costs one dead letter, not all after it.
                session.last_seq = payload.seq
            session.stale = True
            raise
        return session

    def device_aliases(self, node: str, device: str, message_type: str) -> dict[int, tuple[str, int]]:
        aliases = self.nodes[node].devices.get(device)
        if aliases is None:
            raise SessionProblem("no_birth", f"{message_type} from device {device} of {node} before its DBIRTH",
                                 rebirth=True)
        return aliases

    def ndeath(self, node: str, payload: Payload) -> bool:
        """Close the session if the death's bdSeq matches its birth's; False for a late death of an older one."""
        session = self.nodes.get(node)
        if session is None:
            return False
        bd = next((m.raw for m in payload.metrics if m.name == BDSEQ_METRIC), None)
        if bd is not None and session.bd_seq is not None and bd != session.bd_seq:
            return False
        del self.nodes[node]
        return True
