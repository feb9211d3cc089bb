"""Sparkplug B topic parsing, payload round trips, alias resolution and sequence numbers: pure functions."""

from __future__ import annotations

import pytest

from brain.edge import payload, topics
from brain.edge.sessions import SessionProblem, SessionTable, check_sequence, resolve
from brain.edge.sparkplug_b_pb2 import Boolean, Double, Int8, Int16, Int32, Int64, UInt64


def test_sparkplug_topics_node_and_device():
    t = topics.parse_sparkplug("spBv1.0/plant-a/DDATA/gw-1/press-7")
    assert (t.group, t.message_type, t.edge_node, t.device, t.node_key) == ("plant-a", "DDATA", "gw-1", "press-7",
                                                                             "plant-a/gw-1")
    n = topics.parse_sparkplug("spBv1.0/plant-a/NBIRTH/gw-1")
    assert n.device is None and n.message_type == "NBIRTH"


@pytest.mark.parametrize("bad", ["spBv1.0/g/DDATA/n",            # device message without a device
                                 "spBv1.0/g/NDATA/n/d",          # node message with one
                                 "spBv1.0/g/NCMD/n",             # a command, not bridged
                                 "spAv1.0/g/NDATA/n",            # another namespace
                                 "spBv1.0//NDATA/n", "spBv1.0/g"])
def test_bad_sparkplug_topics_are_refused(bad):
    with pytest.raises(topics.TopicError):
        topics.parse_sparkplug(bad)


def test_json_topics_and_subscriptions():
    assert topics.parse_json("brain/json/g/n/d", "brain/json") == topics.JsonTopic("g", "n", "d")
    with pytest.raises(topics.TopicError):
        topics.parse_json("brain/json/g/n", "brain/json")
    subs = topics.subscriptions("spBv1.0", "brain/json/")
    assert "spBv1.0/+/DDATA/+/+" in subs and "spBv1.0/+/NBIRTH/+" in subs and "brain/json/+/+/+" in subs
    assert not any("CMD" in s or "STATE" in s for s in subs)
    assert topics.ncmd_topic("spBv1.0", "g", "n") == "spBv1.0/g/NCMD/n"


def test_payload_round_trip_and_signed_integers():
    data = payload.encode([{"name": "t", "alias": 3, "datatype": Double, "value": 21.5},
                           {"name": "neg8", "datatype": Int8, "value": -3},
                           {"name": "neg16", "datatype": Int16, "value": -300},
                           {"name": "neg32", "datatype": Int32, "value": -70000},
                           {"name": "neg64", "datatype": Int64, "value": -5},
                           {"name": "gone", "datatype": Double, "is_null": True},
                           {"name": "q", "datatype": Double, "value": 1.0, "properties": {"Quality": 0}}],
                          seq=7, timestamp=1_700_000_000_000)
    p = payload.decode(data)
    assert (p.seq, p.timestamp) == (7, 1_700_000_000_000)
    values = {m.name: payload.typed_value(m.datatype, m.value_field, m.raw) for m in p.metrics}
    assert values == {"t": 21.5, "neg8": -3, "neg16": -300, "neg32": -70000, "neg64": -5, "gone": None, "q": 1.0}
    assert p.metrics[0].alias == 3 and p.metrics[5].is_null and p.metrics[6].quality_code == 0
    with pytest.raises(payload.PayloadError):
        payload.decode(b"\x0a\xff not protobuf")


def test_rebirth_request_is_node_control_rebirth_true():
    (m,) = payload.decode(payload.rebirth_request()).metrics
    assert (m.name, m.datatype, m.raw) == ("Node Control/Rebirth", Boolean, True)


@pytest.mark.parametrize("last,seq,redelivered,verdict", [(0, 1, False, "ok"), (255, 0, False, "ok"),
                                                          (9, 9, True, "replay"), (9, 7, True, "replay"),
                                                          (1, 254, True, "replay")])
def test_sequence_numbers_wrap_and_replays_pass(last, seq, redelivered, verdict):
    assert check_sequence(last, seq, redelivered) == verdict


@pytest.mark.parametrize("last,seq,reason", [(0, 2, "sequence_gap"), (9, 9, "sequence_gap"), (255, 1, "sequence_gap"),
                                             (3, 256, "sequence_gap"), (3, None, "missing_seq")])
def test_sequence_problems_ask_for_a_rebirth(last, seq, reason):
    with pytest.raises(SessionProblem) as err:
        check_sequence(last, seq, redelivered=False)
    assert err.value.reason == reason and err.value.rebirth


def test_a_redelivery_ahead_of_the_sequence_is_still_a_gap():
    with pytest.raises(SessionProblem):
        check_sequence(9, 12, redelivered=True)


def _birth(seq: int, bd: int = 0, **extra) -> payload.Payload:
    metrics = [{"name": "bdSeq", "datatype": UInt64, "value": bd}]
    metrics += [{"name": n, "alias": a, "datatype": Double, "value": 1.0} for n, a in extra.items()]
    return payload.decode(payload.encode(metrics, seq=seq))


def _data(seq: int, *aliases: int) -> payload.Payload:
    return payload.decode(payload.encode([{"alias": a, "datatype": Double, "value": 2.0} for a in aliases], seq=seq))


def test_aliases_come_from_the_birth_and_data_before_birth_is_refused():
    table = SessionTable()
    with pytest.raises(SessionProblem) as err:
        table.advance("g/n", "NDATA", _data(1, 1))
    assert err.value.reason == "no_birth"
    session = table.nbirth("g/n", _birth(0, temp=1, press=2))
    assert resolve(_data(1, 2).metrics[0], session.aliases) == ("press", Double)
    with pytest.raises(SessionProblem) as err:
        resolve(_data(1, 9).metrics[0], session.aliases)
    assert err.value.reason == "unknown_alias"
    with pytest.raises(SessionProblem):
        table.device_aliases("g/n", "dev", "DDATA")


def test_a_gap_resyncs_and_marks_the_session_stale_until_the_next_birth():
    table = SessionTable()
    table.nbirth("g/n", _birth(0, temp=1))
    table.advance("g/n", "NDATA", _data(1, 1))
    with pytest.raises(SessionProblem):
        table.advance("g/n", "NDATA", _data(5, 1))
    assert table.nodes["g/n"].stale and table.nodes["g/n"].last_seq == 5
    table.advance("g/n", "NDATA", _data(6, 1))             # one lost message costs one dead letter
    assert not table.nbirth("g/n", _birth(0, temp=1)).stale


def test_death_closes_only_its_own_session_and_state_survives_json():
    table = SessionTable()
    table.nbirth("g/n", _birth(0, bd=4, temp=1))
    table.nodes["g/n"].devices["d"] = {7: ("x", Double)}
    again = SessionTable.from_json(table.as_json())
    assert again.nodes["g/n"].devices["d"] == {7: ("x", Double)} and again.nodes["g/n"].bd_seq == 4
    assert not table.ndeath("g/n", _birth(0, bd=3))          # an older session's late death
    assert table.ndeath("g/n", _birth(0, bd=4)) and "g/n" not in table.nodes
