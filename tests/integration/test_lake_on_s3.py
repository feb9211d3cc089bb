"""The lake and the streaming checkpoints on an object store: real s3proxy, real Spark, s3a://.

s3proxy (brain.ops.object_store, the loopback cluster's store) runs on its own test port with
its data in the session folder. Each step runs in a process of its own, as a user would run
it, because the s3a connector and the store's keys are set when a Spark driver starts (the
session-wide test SparkSession is a local-disk one). The proof that the lake really is in
the store: its files appear under s3proxy's data folder, and no local lake folder is made.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from brain import config, storage
from brain.ops import object_store
from tests.conftest import ROOT, SESSION_DIR, TEST_KAFKA_PORT

pytestmark = [pytest.mark.cluster, pytest.mark.integration, pytest.mark.slow]

S3_PORT = int(os.environ.get("BRAIN_TEST_S3_PORT", str(TEST_KAFKA_PORT + 40)))
BUCKET = "brain-lake"


@pytest.fixture(scope="module")
def store_env():
    """A running s3proxy and the environment that puts a fresh lake and checkpoints in it."""
    run = uuid.uuid4().hex[:8]
    env = {
        "BRAIN__OBJECT_STORE__PORT": str(S3_PORT),
        "BRAIN__OBJECT_STORE__STATE_DIR": str(SESSION_DIR / "object-store"),
        "BRAIN__OBJECT_STORE__BUCKET": BUCKET,
        "BRAIN__LAKE__ROOT": f"s3a://{BUCKET}/{run}/lake",
        "BRAIN__LAKE__CHECKPOINTS": f"s3a://{BUCKET}/{run}/checkpoints",
        "BRAIN__KAFKA__TOPIC_PREFIX": f"s3{run}.",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    cfg = config.load()
    try:
        st = object_store.start(cfg, log=lambda m: None)
        assert st["ready"], st
        yield cfg, {**os.environ, **env}, run
    finally:
        object_store.stop(cfg, log=lambda m: None)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _run(args: list[str], env: dict, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def _brain(args: list[str], env: dict, timeout: float = 900) -> subprocess.CompletedProcess:
    return _run([sys.executable, "-m", "brain.cli.main", *args], env, timeout)


def _stored_files(cfg, run: str) -> list[Path]:
    folder = object_store.data_dir(cfg) / BUCKET / run
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


DELTA_ROUND_TRIP = """
import json
from brain.config import load
from brain import storage
from brain.lake.ledger_reads import column_names, read_rows
from brain.lake.tables import is_delta, table_path
from brain.spark import get_session

cfg = load()
spark = get_session(cfg)
path = table_path(cfg, "quality.s3_probe")
assert not is_delta(path)
spark.range(0, 100).selectExpr("id AS n", "id % 7 AS k").write.format("delta").save(str(path))
spark.range(100, 130).selectExpr("id AS n", "id % 7 AS k").write.format("delta").mode("append").save(str(path))
through_spark = spark.read.format("delta").load(str(path)).selectExpr("count(*) AS c", "sum(n) AS s").first()
through_rs = read_rows(cfg, "quality.s3_probe", ["n"], where="k = 3")
print(json.dumps({"path": str(path), "is_delta": is_delta(path), "spark": [through_spark.c, through_spark.s],
                  "delta_rs_k3": sorted(r[0] for r in through_rs), "columns": column_names(cfg, "quality.s3_probe"),
                  "commits": sorted(p.name for p in (path / "_delta_log").iterdir() if p.name.endswith(".json"))}))
spark.stop()
"""


def test_a_delta_table_is_written_and_read_through_s3a_on_s3proxy(store_env):
    cfg, env, run = store_env
    done = _run([sys.executable, "-c", DELTA_ROUND_TRIP], env, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["path"] == f"s3a://{BUCKET}/{run}/lake/quality/s3_probe"
    assert out["is_delta"] is True
    assert out["spark"] == [130, sum(range(130))]
    assert out["delta_rs_k3"] == [n for n in range(130) if n % 7 == 3]  # delta-rs reads the same store
    assert out["columns"] == ["n", "k"]
    assert out["commits"] == ["00000000000000000000.json", "00000000000000000001.json"]
    # The table's files are objects in s3proxy's store, not a local lake.
    stored = {p.relative_to(object_store.data_dir(cfg) / BUCKET / run).parts[:3] for p in _stored_files(cfg, run)}
    assert ("lake", "quality", "s3_probe") in stored


def test_a_pipeline_cycle_with_lake_and_checkpoints_on_s3_reconciles(store_env, broker):
    cfg, env, run = store_env
    sim = _brain(["simulate", "--industry", "energy", "--records", "300", "--seed", "3"], env, timeout=600)
    assert sim.returncode == 0, sim.stderr[-4000:]
    cycle = _brain(["run", "--industry", "energy"], env, timeout=1500)
    assert cycle.returncode == 0, (cycle.stdout[-3000:], cycle.stderr[-5000:])
    rec = _brain(["reconcile", "--industry", "energy", "--json"], env, timeout=900)
    assert rec.returncode == 0, (rec.stdout[-3000:], rec.stderr[-4000:])
    report = json.loads(rec.stdout)
    totals = report["totals"]
    assert report["ok"] is True, report.get("problems")
    assert totals["kafka_consumed"] == totals["bronze_rows"] >= 300
    assert totals["silver"] + totals["quarantine"] + totals["duplicates"] == totals["bronze_rows"]
    assert (totals["lost"], totals["doubled"], totals["pending"]) == (0, 0, 0)
    # Bronze, silver, gold and the streaming checkpoint are objects in the store.
    stored = {p.relative_to(object_store.data_dir(cfg) / BUCKET / run).parts[:2] for p in _stored_files(cfg, run)}
    assert {("lake", "bronze"), ("lake", "silver"), ("lake", "gold"), ("checkpoints", "pass.energy")} <= stored


def test_the_compose_init_creates_the_lake_bucket_under_brain_env_cluster(store_env):
    """docker/create_bucket.py (compose's brain-init) as the real-cluster config runs it: BRAIN_ENV=cluster,
    the store at object_store.endpoint, credentials from BRAIN_S3_* only. Without them it stops naming
    both; with them the bucket exists afterwards, and a second run is a no-op."""
    cfg, env, run = store_env
    creds = json.loads(storage.credentials_file(cfg).read_text())
    bucket = f"deploy-{run}"
    cluster = {k: v for k, v in env.items() if not k.startswith(("BRAIN__", "BRAIN_S3_"))}
    cluster |= {"BRAIN_ENV": "cluster", "BRAIN__OBJECT_STORE__ENDPOINT": f"http://127.0.0.1:{S3_PORT}",
                "BRAIN__OBJECT_STORE__BUCKET": bucket, "BRAIN__PATHS__STATE": str(SESSION_DIR / "deploy-state")}
    script = [sys.executable, str(ROOT / "docker" / "create_bucket.py")]
    refused = _run(script, cluster, timeout=120)
    assert refused.returncode == 2
    assert "BRAIN_S3_ACCESS_KEY and BRAIN_S3_SECRET_KEY not set" in refused.stderr, refused.stderr[-2000:]
    assert not (object_store.data_dir(cfg) / bucket).exists()
    cluster |= {"BRAIN_S3_ACCESS_KEY": creds["access_key"], "BRAIN_S3_SECRET_KEY": creds["secret_key"]}
    for _ in range(2):
        made = _run(script, cluster, timeout=120)
        assert made.returncode == 0, made.stderr[-2000:]
        assert f"bucket {bucket} ready" in made.stdout
    assert (object_store.data_dir(cfg) / bucket).is_dir()
