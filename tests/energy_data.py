"""Hand-made energy meter records with known totals, shared by integration and e2e tests."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

from brain.contracts import topic_names
from brain.ingest import kafka_io

# Registered sites (conf/assets.yaml), in sorted order: the pipeline quarantines records from places the
# asset registry does not have (unknown_asset), so test records come from real meters.
SITES = ("rm-baotou", "rm-ludwigshafen", "rm-tangshan")


def electricity_meter(site: str) -> dict:
    """enterprise/site/area/line/device of the site's first line's electricity meter in the registry; for
    a site the registry does not have (a test of bad site ids), the first of SITES' with ``site`` in it."""
    from brain.contracts.assets import load_registry

    reg = load_registry()
    for s in (s for ind in reg.raw["industries"] for s in reg.sites(ind)):
        line = next((ln for ln in s.lines if ln.meter), None) if s.id == site else None
        if line is not None:
            return {"enterprise": reg.enterprise, "site": site, "area": line.area, "line": line.id,
                    "device": line.meter.device}
    return {**electricity_meter(SITES[0]), "site": site}


def meter(site: str, value: float, unit: str = "kWh", day: datetime | None = None, **over) -> dict:
    ts = (day or datetime.now(timezone.utc) - timedelta(hours=1)).astimezone(timezone(timedelta(hours=8)))
    rec = {"schema_version": "1.0", "event_id": str(uuid.uuid4()), "record_type": "energy_meter",
           "industry": "energy", **electricity_meter(site), "event_ts": ts.isoformat(timespec="milliseconds"),
           "quality": "GOOD", "carrier": "electricity", "value": value, "unit": unit, "interval_s": 900}
    rec.update(over)
    return rec


def batch() -> tuple[list[tuple[bytes | None, bytes]], dict]:
    """Messages (key, value) and what the pipeline must make of them."""
    good = [meter("rm-baotou", 10.0), meter("rm-baotou", 0.02, "MWh"), meter("rm-ludwigshafen", 5.0),
            meter("rm-ludwigshafen", 1.0, quality="BAD")]
    msgs = [(kafka_io.record_key(r), kafka_io.encode(r)) for r in good]
    msgs.append((kafka_io.record_key(good[0]), kafka_io.encode(good[0])))  # resent: a duplicate
    msgs.append((None, b"\xff\xfe not utf-8"))
    msgs.append((None, json.dumps(meter("rm-ludwigshafen", -4.0)).encode()))
    expected = {"silver": 4, "duplicates": 1,
                "quarantine": {"non_utf8": 1, "out_of_range:value": 1},
                "kwh": {"rm-baotou": 30.0, "rm-ludwigshafen": 5.0}}
    return msgs, expected


def send(cfg, msgs, industry: str = "energy", record_type: str = "energy_meter") -> str:
    topic = topic_names.topic_for(cfg, industry, record_type)
    kafka_io.create_topics(cfg, [topic])
    kafka_io.produce(cfg, [(topic, k, v) for k, v in msgs])
    return topic
