"""Records must come from where they say (issue 14 item 2): ``site_mismatch`` and ``unknown_asset``.

The pure parts first (which places are registered, which site a topic names, how topics route to
lanes), then the checks themselves on small frames (local Spark, no Kafka): a record on site A's
topic claiming site B, records naming places the asset registry does not have, and the order of
both among the other reasons (docs/quarantine.md).
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timezone

import pytest

from brain import config
from brain.clean.fate import SITE_MISMATCH, UNKNOWN_ASSET, Limits, classify, decode, diagnose, parse
from brain.contracts import site_topics
from brain.contracts.assets import SITE_METER_AREA, SITE_METER_LINE, load_registry
from brain.industries import energy, raw_materials

INGEST = datetime.now(timezone.utc).replace(microsecond=0)
ENT = load_registry().enterprise
# Registered places (conf/assets.yaml): a blast furnace line of Baotou, and Tangshan's kiln line meter.
BAOTOU = {"enterprise": ENT, "site": "rm-baotou", "area": "ironmaking", "line": "bf-1", "device": "furnace"}
TANGSHAN = {"enterprise": ENT, "site": "rm-tangshan", "area": "clinker", "line": "kiln-1", "device": "kiln"}
BAOTOU_METER = {"enterprise": ENT, "site": "rm-baotou", "area": "ironmaking", "line": "bf-1", "device": "em-main"}
TELEMETRY = raw_materials.RECORD_SPECS["telemetry"]
METER = energy.ENERGY_METER


def _cfg(prefix: str = ""):
    return config.load(environ={"BRAIN__KAFKA__TOPIC_PREFIX": prefix} if prefix else {})


def _limits(prefix: str = "") -> Limits:
    from brain.clean.silver import limits

    return limits(_cfg(prefix))


def telemetry(place: dict, **over) -> dict:
    rec = {"schema_version": "1.0", "event_id": str(uuid.uuid4()), "record_type": "telemetry",
           "industry": "raw_materials", **place, "event_ts": INGEST.isoformat(), "quality": "GOOD",
           "sensor": "furnace_temp", "value": 1500.0, "unit": "degC"}
    return {**rec, **over}


def meter(place: dict, **over) -> dict:
    rec = {"schema_version": "1.0", "event_id": str(uuid.uuid4()), "record_type": "energy_meter",
           "industry": "energy", **place, "event_ts": INGEST.isoformat(), "quality": "GOOD",
           "carrier": "electricity", "value": 12.5, "unit": "kWh", "interval_s": 900}
    return {**rec, **over}


def frame(spark, rows: list[tuple[str, bytes | None]]):
    data = [(p, None, topic, 0, i, INGEST, INGEST) for i, (topic, p) in enumerate(rows)]
    return spark.createDataFrame(data, "payload binary, key binary, topic string, partition int, offset long, "
                                       "kafka_ts timestamp, ingest_ts timestamp")


def reasons(spark, spec, rows, limits: Limits) -> list:
    df = classify(parse(decode(frame(spark, rows)), spec), spec, limits)
    return [r["reason"] for r in df.orderBy("offset").select("reason").collect()]


# --- the pure parts ----------------------------------------------------------------------------

def test_the_registered_places_are_the_registrys_devices_and_for_energy_its_meters():
    reg = load_registry()
    places = reg.locations("raw_materials")
    assert tuple(BAOTOU.values()) in places and tuple(TANGSHAN.values()) in places
    assert len(places) == sum(len(ln.devices) for s in reg.sites("raw_materials") for ln in s.lines)
    assert not any(p[1].startswith("em-") for p in places)  # another industry's sites are not raw_materials'
    meters = reg.locations("energy")
    assert tuple(BAOTOU_METER.values()) in meters  # a line's electricity meter
    assert (ENT, "rm-baotou", SITE_METER_AREA, SITE_METER_LINE, "gas-main") in meters  # a site's fuel meter
    assert tuple(BAOTOU.values()) not in meters  # a furnace is no meter
    assert reg.locations("no_such_industry") == ()
    # The simulator's clones past the registry's end are not registered.
    clone = reg.sites("raw_materials", sites=4)[3]
    assert clone.id.endswith("-2") and not any(p[1] == clone.id for p in places)


def test_the_pipelines_limits_register_every_configured_industrys_places():
    cfg = _cfg()
    lim = _limits()
    reg = load_registry()
    for ind in cfg.industry_names():
        assert lim.registered(ind) == reg.locations(ind)
        assert lim.registered(ind), ind  # none empty: every configured industry has registered places
    assert Limits(1, 1, 1).registered("energy") is None  # no registry given: not checked (unit tests only)


def test_a_site_topic_names_its_site_and_a_shared_topic_none():
    cfg = _cfg("p1.")
    regex = site_topics.site_family_regex("p1.", "raw_materials")
    topic = site_topics.site_topic(cfg, "raw_materials", "rm-baotou", "telemetry")
    assert re.search(regex, topic).group(1) == "rm-baotou" == site_topics.site_of(cfg, "raw_materials", topic)
    for other in ("p1.raw_materials.telemetry", "raw_materials.site.rm-baotou.telemetry",  # shared; no prefix
                  "p1.energy.site.rm-baotou.energy_meter", "p1.raw_materials.site.a.b.telemetry"):
        assert re.search(regex, other) is None, other


def test_topics_route_to_their_record_types_lane_shared_and_per_site():
    from brain.clean.industry_pass import UnroutedTopic, industry_topics, lane_of, route, subscription
    from brain.pipeline import lanes

    cfg = _cfg()
    ways = lanes(cfg, "raw_materials")
    site = site_topics.site_topic(cfg, "raw_materials", "rm-baotou", "telemetry")
    later = site_topics.site_topic(cfg, "raw_materials", "rm-tangshan", "production")
    assert route(cfg, ways, ["raw_materials.telemetry", site, later]) == {
        "telemetry": sorted(["raw_materials.telemetry", site]), "production": [later]}
    assert lane_of(cfg, ways, site).bronze == lane_of(cfg, ways, "raw_materials.telemetry").bronze
    assert lane_of(cfg, ways, "energy.energy_meter") is None
    with pytest.raises(UnroutedTopic, match="no lane takes it"):
        route(cfg, ways, ["raw_materials.site.rm-baotou.not_a_record_type"])
    # The industry's topics: the shared ones always, in lane order, then the broker's site topics.
    listed = [later, site, "energy.energy_meter", "raw_materials.site.rm-baotou", "raw_materials.telemetry"]
    assert industry_topics(cfg, ways, listed) == [lane.topic for lane in ways] + sorted([site, later])
    # The source's one pattern takes exactly those.
    pattern = re.compile(subscription(cfg, "raw_materials"))
    assert [t for t in listed if pattern.fullmatch(t)] == [later, site, "raw_materials.telemetry"]


def test_the_pass_report_lists_shared_topics_first_then_site_topics():
    from brain.clean.industry_pass import PassTotals, Start, report
    from brain.pipeline import lanes

    cfg = _cfg()
    ways = lanes(cfg, "energy")
    site = site_topics.site_topic(cfg, "energy", "rm-baotou", "energy_meter")
    totals = PassTotals()
    totals.add({site: 3, "energy.energy_meter": 2}, [])
    out = report(cfg, ways, totals, {}, [w.topic for w in ways])
    assert [(r.topic, r.table, r.rows) for r in out.ingest] == [
        ("energy.energy_meter", ways[0].bronze, 2), (site, ways[0].bronze, 3)]
    assert not Start(topics=["a", "b"], idle={"a": "x", "b": "y"}).must_run
    assert Start(topics=["a", "b"], idle={"a": "x"}).must_run and Start().must_run


# --- the checks --------------------------------------------------------------------------------

def test_a_record_on_its_own_site_topic_and_a_registered_place_is_valid(spark):
    cfg = _cfg()
    own = site_topics.site_topic(cfg, "raw_materials", "rm-baotou", "telemetry")
    rows = [(own, json.dumps(telemetry(BAOTOU)).encode()),
            ("raw_materials.telemetry", json.dumps(telemetry(TANGSHAN)).encode())]  # shared topic: any site
    assert reasons(spark, TELEMETRY, rows, _limits()) == [None, None]
    meter_topic = site_topics.site_topic(cfg, "energy", "rm-baotou", "energy_meter")
    assert reasons(spark, METER, [(meter_topic, json.dumps(meter(BAOTOU_METER)).encode())], _limits()) == [None]


def test_a_record_claiming_another_site_than_its_topics_is_quarantined_site_mismatch(spark):
    cfg = _cfg("p2.")
    own = site_topics.site_topic(cfg, "raw_materials", "rm-baotou", "telemetry")
    rows = [(own, json.dumps(telemetry(TANGSHAN)).encode()),  # registered, but site A's topic
            (own, json.dumps(telemetry({**BAOTOU, "site": "nowhere"})).encode()),  # unknown too: mismatch first
            (own, json.dumps(telemetry(BAOTOU)).encode())]
    assert reasons(spark, TELEMETRY, rows, _limits("p2.")) == [SITE_MISMATCH, SITE_MISMATCH, None]
    # Without the prefix the topic is none of this deployment's site topics: nothing to compare.
    assert reasons(spark, TELEMETRY, rows[:1], _limits()) == [None]


def test_a_place_the_registry_does_not_have_is_quarantined_unknown_asset_naming_the_level(spark):
    shared = "raw_materials.telemetry"
    cases = [({**BAOTOU, "enterprise": "acme"}, "enterprise"),
             ({**BAOTOU, "site": "rm-nowhere"}, "site"),
             ({**BAOTOU, "site": "em-stuttgart"}, "site"),         # registered, but another industry's site
             ({**BAOTOU, "area": "clinker"}, "area"),              # Tangshan's area, not Baotou's
             ({**BAOTOU, "line": "bf-9"}, "line"),
             ({**BAOTOU, "device": "furnace-2"}, "device"),        # a simulator clone's name
             ({**BAOTOU, "device": "kiln"}, "device")]             # a device of another site
    rows = [(shared, json.dumps(telemetry(place)).encode()) for place, _ in cases]
    assert reasons(spark, TELEMETRY, rows, _limits()) == [f"{UNKNOWN_ASSET}:{lvl}" for _, lvl in cases]
    # An energy record must name a registered meter, not a production device.
    assert reasons(spark, METER, [("energy.energy_meter", json.dumps(meter(BAOTOU)).encode())],
                   _limits()) == [f"{UNKNOWN_ASSET}:device"]


def test_provenance_comes_after_the_record_is_readable_and_its_ids_well_formed_and_before_its_values(spark):
    own = site_topics.site_topic(_cfg(), "raw_materials", "rm-baotou", "telemetry")
    rows = [(own, json.dumps({k: v for k, v in telemetry(TANGSHAN).items() if k != "line"}).encode()),
            (own, json.dumps(telemetry({**TANGSHAN, "site": "../etc"})).encode()),
            (own, json.dumps(telemetry(TANGSHAN, value=99_999.0)).encode()),
            ("raw_materials.telemetry", json.dumps(telemetry({**BAOTOU, "device": "x"}, unit="degR")).encode()),
            ("raw_materials.telemetry", json.dumps(telemetry({**BAOTOU, "device": "x"}, event_ts="yesterday"))
             .encode())]
    assert reasons(spark, TELEMETRY, rows, _limits()) == [
        "missing_field:line", "invalid_id:site", SITE_MISMATCH, f"{UNKNOWN_ASSET}:device",
        f"{UNKNOWN_ASSET}:device"]


def test_the_quick_view_and_the_diagnosis_agree_on_provenance(spark):
    """classify (the quick view, then the diagnosis of what it does not pass) and diagnose alone give
    every row the same reason, with the registry and a site topic in play (as test_parse_once)."""
    cfg = _cfg()
    own = site_topics.site_topic(cfg, "raw_materials", "rm-baotou", "telemetry")
    places = [BAOTOU, TANGSHAN, {**BAOTOU, "device": "kiln"}, {**BAOTOU, "site": "rm-x"}, {**BAOTOU, "line": ""},
              {**BAOTOU, "site": 7}, {**BAOTOU, "enterprise": "ACME"}]
    rows = [(topic, json.dumps(telemetry(p)).encode()) for p in places
            for topic in (own, "raw_materials.telemetry")]
    rows += [(own, json.dumps(telemetry(BAOTOU, firmware="1")).encode()),  # diagnosed (undeclared key), valid
             (own, json.dumps(telemetry(TANGSHAN, firmware="1")).encode())]
    decoded = decode(frame(spark, rows))
    lim = _limits()
    quick = {r["offset"]: r["reason"] for r in classify(parse(decoded, TELEMETRY), TELEMETRY, lim).collect()}
    oracle = {r["offset"]: r["reason"] for r in diagnose(decoded, TELEMETRY, lim).collect()}
    assert quick == oracle
    assert {SITE_MISMATCH, f"{UNKNOWN_ASSET}:device", f"{UNKNOWN_ASSET}:site", f"{UNKNOWN_ASSET}:enterprise",
            None} <= set(oracle.values())
