"""Pseudonymisation before silver: Spark's HMAC-SHA-256 against Python's hmac module (local Spark)."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from brain.clean.pseudonym import MissingSecret, PseudonymKey, load_key, pseudonymise, scrub_payload

KEY = PseudonymKey("k7", b"a test key that is not the real one")
LONG_KEY = PseudonymKey("k8", bytes(range(256)) * 2)  # longer than SHA-256's block: hashed first (RFC 2104)


def expected(key: PseudonymKey, value: str) -> str:
    return hmac.new(key.secret, value.encode("utf-8"), hashlib.sha256).hexdigest()


@pytest.mark.parametrize("key", [KEY, LONG_KEY], ids=["short key", "long key"])
def test_spark_hmac_equals_python_hmac(spark, key):
    values = ["op-0001", "Zhang Wei 张伟", "", "x" * 300]
    df = spark.createDataFrame([(i, v) for i, v in enumerate(values)] + [(99, None)], "n int, operator_id string")
    rows = {r["n"]: r for r in pseudonymise(df, ("operator_id",), key).collect()}
    for i, v in enumerate(values):
        assert rows[i]["operator_id"] == expected(key, v)
        assert rows[i]["operator_id_key_id"] == key.key_id
    assert rows[99]["operator_id"] is None and rows[99]["operator_id_key_id"] is None
    assert pseudonymise(df, ("operator_id",), key).columns == ["n", "operator_id", "operator_id_key_id"]


def test_a_frame_without_the_field_is_unchanged(spark):
    df = spark.createDataFrame([(1, "a")], "n int, s string")
    assert pseudonymise(df, ("operator_id",), KEY) is df


def test_quarantine_payload_loses_the_raw_value_and_replay_keeps_the_pseudonym(spark):
    rec = {"event_id": "e1", "operator_id": "op-0042", "state": "RUNNING"}
    payloads = [json.dumps(rec).encode(), b'{"operator_id": 12345, "x": 1}',
                b'\xff\xfe not utf-8 "operator_id":"op-0042" trailing', b'{"no": "personal data"}', None]
    df = spark.createDataFrame([(i, p) for i, p in enumerate(payloads)], "n int, payload binary")
    out = {r["n"]: r["payload"] for r in scrub_payload(df, ("operator_id",), KEY).collect()}
    marked = f"pseudonym:k7:{expected(KEY, 'op-0042')}"
    assert json.loads(bytes(out[0])) == {**rec, "operator_id": marked}
    assert json.loads(bytes(out[1])) == {"operator_id": f"pseudonym:k7:{expected(KEY, '12345')}", "x": 1}
    assert bytes(out[2]) == b'\xff\xfe not utf-8 "operator_id":"' + marked.encode() + b'" trailing'
    assert bytes(out[3]) == payloads[3] and out[4] is None
    for p in out.values():
        assert p is None or b"op-0042" not in bytes(p)
    # Scrubbing again (a record quarantined twice) changes nothing; replayed into silver, the
    # marked value keeps its pseudonym and key id instead of being hashed again.
    again = scrub_payload(spark.createDataFrame([(0, bytes(out[0]))], "n int, payload binary"),
                          ("operator_id",), PseudonymKey("k9", b"another key"))
    assert bytes(again.first()["payload"]) == bytes(out[0])
    silver = pseudonymise(spark.createDataFrame([(marked,)], "operator_id string"), ("operator_id",),
                          PseudonymKey("k9", b"another key")).first()
    assert (silver["operator_id"], silver["operator_id_key_id"]) == (expected(KEY, "op-0042"), "k7")


class _Cfg:
    def __init__(self, state, **over):
        self.state, self.over = state, over

    def get(self, key, default=None, type_=None):
        return self.over.get(key, default)

    def path(self, key):
        assert key == "paths.state"
        return self.state


def test_key_from_env_else_generated_file_else_missing_secret_names_both(tmp_path, monkeypatch):
    monkeypatch.setenv("T_PSEUDO_KEY", "from-env")
    assert load_key(_Cfg(tmp_path, **{"privacy.key_env": "T_PSEUDO_KEY"})).secret == b"from-env"
    monkeypatch.delenv("T_PSEUDO_KEY")
    cfg = _Cfg(tmp_path, **{"privacy.key_env": "T_PSEUDO_KEY", "privacy.key_id": "k2"})
    first = load_key(cfg)
    path = tmp_path / "secrets" / "pseudonym" / "k2.key"
    assert path.stat().st_mode & 0o777 == 0o600 and len(first.secret) == 64
    assert load_key(cfg) == first  # generated once, then read
    off = _Cfg(tmp_path, **{"privacy.key_env": "T_PSEUDO_KEY", "privacy.key_id": "k3",
                            "privacy.generate_missing_key": False})
    with pytest.raises(MissingSecret, match="T_PSEUDO_KEY.*k3.key"):
        load_key(off)
