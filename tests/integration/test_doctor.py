"""`brain doctor` exercises the real stack and names what is broken."""

from __future__ import annotations

import json

import pytest

from brain.cli.main import main

pytestmark = pytest.mark.integration


def test_doctor_json_reports_every_part_ok(broker, spark, capsys):
    assert main(["doctor", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    status = {c["name"]: c["ok"] for c in report["checks"]}
    assert report["ok"] is True
    assert status == {"java": True, "jars": True, "kafka": True, "spark": True, "delta": True,
                      "great_expectations": True, "spark_connect": True, "airflow": True}


def test_doctor_fails_and_names_kafka_when_no_broker_answers(spark, monkeypatch, capsys):
    monkeypatch.setenv("BRAIN__KAFKA__BOOTSTRAP_SERVERS", "127.0.0.1:1")  # nothing listens on port 1
    assert main(["doctor", "--skip", "airflow", "--skip", "great_expectations"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  kafka" in out and "brain kafka start" in out
    assert "broken: kafka" in out
