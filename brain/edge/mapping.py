"""conf/edge.yaml: where a Sparkplug group, edge node, device and metric sit in the asset registry.

group -> industry + site, edge node -> line (its area from the registry), device ->
a device of that line, metric -> sensor (or the configured machine-state metric).
``records`` turns one resolved metric value into a contract record, built like
the simulator's: same envelope fields, integer epoch-millisecond event_ts, and an
event_id derived from the reading itself so a resent message keeps its id.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from brain.contracts.assets import Registry, load_registry
from brain.contracts.paths import conf_dir
from brain.simulator.records import SCHEMA_VERSION

# Namespace of the bridge's event ids (uuid5): a fixed, arbitrary UUID.
EVENT_NAMESPACE = uuid.UUID("5b1d0a6e-8c2f-4f7e-9a53-3e2d6f1c7b84")
# Sparkplug's own metrics (session and control), never readings.
CONTROL_PREFIXES = ("Node Control/", "Device Control/", "Properties/", "Node Info/")
CONTROL_NAMES = ("bdSeq",)
STATES = ("RUNNING", "IDLE", "DOWN", "SETUP")


class MappingError(ValueError):
    pass


class UnknownPlace(Exception):
    """A group, edge node or device the mapping does not place in the registry."""


@dataclass(frozen=True)
class Place:
    industry: str
    enterprise: str
    site: str
    area: str
    line: str
    device: str
    device_class: str


@dataclass(frozen=True)
class Target:
    """What a metric becomes: a sensor reading (record_type telemetry) or the machine state."""
    record_type: str
    sensor: str | None = None
    unit: str | None = None


@dataclass(frozen=True)
class EdgeMap:
    raw: dict
    registry: Registry
    # (group, edge node, device) -> Place: the registry's hierarchy is rebuilt by every
    # Registry.sites call, which per message was a quarter of the bridge's translation time.
    # Never stale: raw and registry are read once when the bridge starts and never reloaded
    # while it runs; a changed mapping is a new EdgeMap (a restarted bridge) with its own cache.
    _places: dict = field(default_factory=dict, compare=False, repr=False)
    # (group, device class, metric) -> Target or None, for the same reason and as safely.
    _targets: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def state_metric(self) -> str | None:
        return (self.raw.get("state_metric") or {}).get("name")

    def topics(self, cfg) -> list[str]:
        """The topics bridged records go to: telemetry and machine_state of every mapped industry."""
        from brain.contracts.topic_names import topic_for

        industries = sorted({g["industry"] for g in (self.raw.get("groups") or {}).values()})
        return [topic_for(cfg, ind, rt) for ind in industries for rt in ("telemetry", "machine_state")]

    def place(self, group: str, edge_node: str, device: str | None) -> Place:
        key = (group, edge_node, device)
        if key not in self._places:  # an unknown place raises, so it is looked up again next time
            self._places[key] = self._find_place(group, edge_node, device)
        return self._places[key]

    def _find_place(self, group: str, edge_node: str, device: str | None) -> Place:
        g = (self.raw.get("groups") or {}).get(group)
        if g is None:
            raise UnknownPlace(f"group {group!r} is not in the edge mapping")
        node = (g.get("edge_nodes") or {}).get(edge_node)
        if node is None:
            raise UnknownPlace(f"edge node {edge_node!r} of group {group!r} is not in the edge mapping")
        if device is None:
            device = node.get("device")
            if device is None:
                raise UnknownPlace(f"edge node {group}/{edge_node} has no `device:` for its own metrics")
        else:
            device = (g.get("devices") or {}).get(device, device)
        site = next((s for s in self.registry.sites(g["industry"]) if s.id == g["site"]), None)
        line = next((ln for ln in site.lines if ln.id == node["line"]), None) if site else None
        if line is None:
            raise UnknownPlace(f"line {node.get('line')!r} of site {g.get('site')!r} is not in the asset registry")
        dev = next((d for d in line.devices if d.id == device), None)
        if dev is None:
            raise UnknownPlace(f"device {device!r} is not on line {g['site']}/{line.id} in the asset registry")
        return Place(g["industry"], self.registry.enterprise, site.id, line.area, line.id, dev.id, dev.device_class)

    def target(self, group: str, place: Place, metric: str) -> Target | None:
        """None: not a reading the pipeline knows (counted as skipped, not sent)."""
        key = (group, place.device_class, metric)
        try:
            return self._targets[key]
        except KeyError:
            found = self._targets[key] = self._find_target(group, place, metric)
            return found

    def _find_target(self, group: str, place: Place, metric: str) -> Target | None:
        if metric == self.state_metric:
            return Target("machine_state")
        g = (self.raw.get("groups") or {}).get(group) or {}
        spec = {**(self.raw.get("metrics") or {}), **(g.get("metrics") or {})}.get(metric)
        if spec is None and metric in self.registry.classes[place.device_class].sensors:
            spec = metric
        if spec is None:
            return None
        sensor, unit = (spec, None) if isinstance(spec, str) else (spec["sensor"], spec.get("unit"))
        if sensor not in self.registry.sensors:
            return None
        return Target("telemetry", sensor, unit or self.registry.sensors[sensor].unit)

    def state_of(self, value) -> dict | None:
        values = (self.raw.get("state_metric") or {}).get("values") or {}
        found = values.get(value, values.get(str(value)))
        if found is None and isinstance(value, str) and value.upper() in STATES:
            found = {"state": value.upper()}
        if found is None:
            return None
        state = found if isinstance(found, dict) else {"state": found}
        return {"state": state["state"], "reason_code": state.get("reason_code"),
                "planned": bool(state.get("planned", False))}


def is_control(metric: str) -> bool:
    return metric in CONTROL_NAMES or metric.startswith(CONTROL_PREFIXES)


def mapping_file(cfg) -> Path:
    return conf_dir() / str(cfg.get("bridge.mapping", "edge.yaml"))


def load(path: Path, registry: Registry | None = None) -> EdgeMap:
    """The mapping checked against the registry (default: conf/assets.yaml)."""
    return _parse(str(path), registry or load_registry())


def _parse(path: str, registry: Registry) -> EdgeMap:
    try:
        raw = yaml.safe_load(Path(path).read_text()) or {}
    except OSError as exc:
        raise MappingError(f"edge mapping {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise MappingError(f"edge mapping {path} is not valid YAML: {exc}") from None
    for name, g in (raw.get("groups") or {}).items():
        missing = [k for k in ("industry", "site", "edge_nodes") if k not in (g or {})]
        if missing:
            raise MappingError(f"{path}: group {name!r} needs {', '.join(missing)}")
        sites = {s.id for s in registry.sites(g["industry"])}
        if g["site"] not in sites:
            raise MappingError(f"{path}: group {name!r}: site {g['site']!r} is not a {g['industry']} site "
                               f"of the asset registry (known: {', '.join(sorted(sites))})")
    for value, state in ((raw.get("state_metric") or {}).get("values") or {}).items():
        s = state["state"] if isinstance(state, dict) else state
        if s not in STATES:
            raise MappingError(f"{path}: state_metric value {value!r} -> {s!r} is not one of {', '.join(STATES)}")
    return EdgeMap(raw, registry)


def quality(quality_code: int | None, stale: bool) -> str:
    """The envelope's OPC UA style quality. The metric's "Quality" property is an OPC DA code
    (bits 7-6: 11 good, 01 uncertain, 00 bad; 500 is Sparkplug's STALE); a stale session
    (after a sequence gap, until its rebirth) makes a good value UNCERTAIN."""
    if quality_code is not None:
        if quality_code == 500:
            return "UNCERTAIN"
        level = quality_code & 0xC0
        if level == 0:
            return "BAD"
        if level == 0x40:
            return "UNCERTAIN"
    return "UNCERTAIN" if stale else "GOOD"


def record(place: Place, target: Target, source: str, metric: str, value, event_ms: int,
           quality_: str, state: dict | None = None) -> dict | None:
    """One contract record, or None when the value cannot be one (not a number; for the state
    metric, ``state`` is ``EdgeMap.state_of(value)``, None for a value the mapping does not know)."""
    rec = {"schema_version": SCHEMA_VERSION,
           "event_id": event_id(source, metric, event_ms),
           "record_type": target.record_type, "industry": place.industry, "enterprise": place.enterprise,
           "site": place.site, "area": place.area, "line": place.line, "device": place.device,
           "event_ts": int(event_ms), "quality": quality_}
    if target.record_type == "machine_state":
        return None if state is None else {**rec, **state}
    if isinstance(value, bool):
        value = int(value)
    if not isinstance(value, (int, float)) or value != value or value in (float("inf"), float("-inf")):
        return None
    rec.update({"sensor": target.sensor, "value": value, "unit": target.unit})
    return rec


_EVENT_NAMESPACE_BYTES = EVENT_NAMESPACE.bytes


def event_id(source: str, metric: str, event_ms: int) -> str:
    """``str(uuid.uuid5(EVENT_NAMESPACE, "source|metric|event_ms"))``, spelled out (RFC 4122: SHA-1 of
    namespace + name, version 5, variant 10) without building a UUID object: once per record, that
    was a tenth of the bridge's time. The same string, so ids stay those of earlier bridge runs."""
    h = bytearray(hashlib.sha1(_EVENT_NAMESPACE_BYTES + f"{source}|{metric}|{event_ms}".encode()).digest()[:16])
    h[6] = (h[6] & 0x0F) | 0x50
    h[8] = (h[8] & 0x3F) | 0x80
    x = h.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def node_known(edge_map: EdgeMap, group: str, edge_node: str) -> bool:
    g = (edge_map.raw.get("groups") or {}).get(group) or {}
    return edge_node in (g.get("edge_nodes") or {})


def node_device(edge_map: EdgeMap, group: str, edge_node: str) -> str | None:
    """The registry device an edge node's own metrics belong to, if the mapping names one."""
    return ((edge_map.raw["groups"][group].get("edge_nodes") or {})[edge_node] or {}).get("device")
