"""The bridge's counts: every MQTT message it received, and what became of it.

``<paths.state>/<bridge.state_dir>/ledger.json``, cumulative over runs. The
equation ``brain bridge status`` checks:

    received = bridged + dead_lettered + left_unacknowledged + qos0_lost + in_flight

bridged: its records (zero for a DEATH, or a birth with nothing mapped) were
acknowledged by Kafka, then the message by the bridge to MQTT; dead_lettered: its
dead letter was acknowledged; left_unacknowledged: Kafka did not confirm in time
(or the MQTT connection dropped first), so the bridge never acknowledged it and
the broker redelivers it (it is then received again); qos0_lost: a message
published at QoS 0, which MQTT never redelivers, that Kafka did not confirm before
the bridge's own buffer overflowed or the bridge stopped; in_flight: awaiting Kafka
when the ledger was saved (a running bridge saves every few seconds; one that was
killed leaves them unacknowledged, so the broker redelivers them too). Each
bridged metric is a produced record or a counted skip.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from brain.config import Config


def state_dir(cfg: Config) -> Path:
    return cfg.path("paths.state") / str(cfg.get("bridge.state_dir", type_=str))


@dataclass
class Ledger:
    received: int = 0
    bridged: int = 0
    dead_lettered: int = 0
    left_unacknowledged: int = 0
    qos0_lost: int = 0
    in_flight: int = 0
    records_produced: int = 0
    rebirths_requested: int = 0
    dead_letters_by_reason: Counter = field(default_factory=Counter)
    records_by_topic: Counter = field(default_factory=Counter)
    metrics_skipped: Counter = field(default_factory=Counter)
    updated_at: str | None = None

    COUNTERS = ("dead_letters_by_reason", "records_by_topic", "metrics_skipped")

    def balanced(self) -> bool:
        return self.received == (self.bridged + self.dead_lettered + self.left_unacknowledged + self.qos0_lost
                                 + self.in_flight)

    def as_dict(self) -> dict:
        out = {k: (dict(sorted(v.items())) if k in self.COUNTERS else v) for k, v in self.__dict__.items()}
        out["balanced"] = self.balanced()
        return out

    @classmethod
    def load(cls, path: Path) -> Ledger:
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError:
            return cls()
        raw.pop("balanced", None)
        for k in cls.COUNTERS:
            raw[k] = Counter(raw.get(k, {}))
        return cls(**raw)

    def save(self, path: Path) -> None:
        self.updated_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        write_json(path, self.as_dict())


def write_json(path: Path, data: dict) -> None:
    """Whole or not at all: a crash mid-write leaves the previous file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
    os.replace(tmp, path)
