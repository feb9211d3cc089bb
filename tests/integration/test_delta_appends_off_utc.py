"""On a machine whose clock is not in UTC, a Delta append is one Spark job, as on a UTC one.

Delta 4 otherwise rebuilds a small table's state after every commit when the JVM's time zone is
not UTC (a check of the file list it keeps in the .crc file): one more job per append, about
three times the append's time. The JVM here is started with TZ=Europe/Berlin."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.integration]

SCRIPT = r"""
import json, sys
from brain import config
from brain.spark import get_session
spark = get_session(config.load())
jvm_tz = spark._jvm.java.util.TimeZone.getDefault().getID()
store = spark.sparkContext._jsc.sc().statusStore()
path = sys.argv[1]
spark.range(10).write.format("delta").save(path)
jobs = []
for _ in range(4):
    before = store.jobsList(None).size()
    spark.range(100).write.format("delta").mode("append").save(path)
    jobs.append(store.jobsList(None).size() - before)
print(json.dumps({"tz": jvm_tz, "jobs": jobs, "rows": spark.read.format("delta").load(path).count()}))
"""


def _appends(tmp_path, **env) -> dict:
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "t")], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "TZ": "Europe/Berlin",
                                            "BRAIN__PATHS__STATE": str(tmp_path / "state"), **env})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_an_append_is_one_job_when_the_machine_is_not_on_utc(tmp_path):
    out = _appends(tmp_path)
    assert out["tz"] == "Europe/Berlin"
    assert out["jobs"] == [1, 1, 1, 1]
    assert out["rows"] == 410
