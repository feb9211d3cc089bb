"""Airflow's real scheduler runs the pipeline: PostgreSQL + api-server + scheduler + dag-processor +
triggerer (brain.ops.airflow_services, as `brain cluster up` starts them), `brain_energy` triggered
through the REST API with the generated admin password, `brain_metrics` started by the silver
Asset events, gold populated, `brain reconcile` against the simulator's ledger, then everything
stopped with no process and no port left.

What this test starts: the Airflow services and PostgreSQL, on ports of their own (from
BRAIN_TEST_KAFKA_PORT), and the session's single embedded test broker. The three-broker Kafka
cluster and the Spark standalone cluster of `brain cluster up` are left out: with them and four
Airflow processes plus the tasks' Spark drivers the 2-core test machine would mostly measure
its own swapping; tests/integration/test_cluster_local.py covers those two. Tasks run Spark in
the driver (the session's ``spark.master``), as in the other tests.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from brain import config
from tests.conftest import ROOT, TEST_KAFKA_PORT

pytestmark = [pytest.mark.cluster, pytest.mark.slow, pytest.mark.integration]

RECORDS = 300
RUN_TIMEOUT_S = float(os.environ.get("BRAIN_TEST_AIRFLOW_RUN_TIMEOUT_S", "1500"))


class Api:
    """The few Airflow 3 REST calls the test makes, with a JWT from POST /auth/token (SimpleAuthManager)."""

    def __init__(self, base: str, user: str, password: str):
        self.base = base
        body = json.dumps({"username": user, "password": password}).encode()
        req = urllib.request.Request(f"{base}/auth/token", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            self.token = json.loads(resp.read())["access_token"]

    def call(self, method: str, path: str, body: dict | None = None, auth: bool = True) -> dict:
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(f"{self.base}/api/v2{path}", method=method, headers=headers,
                                     data=None if body is None else json.dumps(body).encode())
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read() or b"{}")


def _wait(what: str, check, timeout: float, every: float = 5.0, diag=lambda: ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; {diag()}")


def _all_runs(api: "Api") -> str:
    """Every run of the two DAGs with its tasks' states: what a timeout message needs."""
    out = []
    for dag_id in ("brain_energy", "brain_metrics"):
        for r in api.call("GET", f"/dags/{dag_id}/dagRuns?limit=20")["dag_runs"]:
            out.append(f"{dag_id}/{r['dag_run_id']} {r['state']} {_task_states(api, dag_id, r['dag_run_id'])}")
    return "; ".join(out) or "no runs"


def _run_state(api: Api, dag_id: str, run_id: str) -> str:
    return api.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"]


def _task_states(api: Api, dag_id: str, run_id: str) -> list:
    tis = api.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]
    return [(t["task_id"], t["state"], t.get("try_number")) for t in tis]


@pytest.fixture(scope="module")
def airflow_cluster(broker):
    """Isolated lake, topics and Airflow state; the services started with that environment (the
    tasks inherit it), stopped at the end whatever happened."""
    from brain.ops import airflow_services

    # Under the project's .state, not the 0700 pytest tmp dirs: the PostgreSQL server runs as `postgres`.
    base = ROOT / ".state" / "test" / f"airflow-cluster-{uuid.uuid4().hex[:8]}"
    env = {
        "BRAIN__LAKE__ROOT": str(base / "lake"),
        "BRAIN__LAKE__CHECKPOINTS": str(base / "checkpoints"),
        "BRAIN__KAFKA__TOPIC_PREFIX": f"t{uuid.uuid4().hex[:10]}.",
        "BRAIN__CLUSTER__POSTGRES__STATE_DIR": str(base / "postgres"),
        "BRAIN__CLUSTER__AIRFLOW__STATE_DIR": str(base / "airflow"),
        "BRAIN__CLUSTER__SECRETS_DIR": str(base / "secrets"),
        "BRAIN__CLUSTER__POSTGRES__PORT": str(TEST_KAFKA_PORT + 20),
        "BRAIN__CLUSTER__AIRFLOW__API_PORT": str(TEST_KAFKA_PORT + 21),
        # One task process at a time: each starts a Spark driver, and the machine has 2 cores.
        "BRAIN__CLUSTER__AIRFLOW__PARALLELISM": "1",
        # Manual only: unpausing an @hourly DAG makes the scheduler start the last hour's run at once,
        # which would double the test's Spark work; the run under test is the one triggered by REST.
        "BRAIN__INDUSTRIES__ENERGY__SCHEDULE": "null",
    }
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        cfg = config.load()
        try:
            st = airflow_services.up(cfg, log=print)
            yield cfg, st, base
        finally:
            airflow_services.down(cfg, log=print)
    shutil.rmtree(base, ignore_errors=True)


def test_the_scheduler_runs_energy_then_metrics_from_asset_events(airflow_cluster):
    from deltalake import DeltaTable

    from brain.lake.tables import table_path
    from brain.ops import airflow_services, generated_secrets
    from brain.simulator.run import run_simulation

    cfg, st, base = airflow_cluster
    assert st["up"], st
    assert [c["name"] for c in st["components"] if c["running"] and c["healthy"]] == [
        "api-server", "dag-processor", "scheduler", "triggerer"]

    ledger = base / "ledger.jsonl"
    start = (datetime.now(timezone.utc) - timedelta(days=1)).date().isoformat()
    summary = run_simulation(cfg, industry="energy", sites=1, records=RECORDS, days=1, seed=13,
                             bad_ratio=0.05, start=start, ledger=str(ledger))
    assert summary.total == RECORDS

    base_url = airflow_services.base_url(cfg)
    # Auth is on: the REST API refuses a request without a token, and a wrong password gets none.
    with pytest.raises(urllib.error.HTTPError) as denied:
        urllib.request.urlopen(f"{base_url}/api/v2/dags", timeout=30)
    assert denied.value.code == 401
    with pytest.raises(urllib.error.HTTPError):
        Api(base_url, "admin", "not-the-password")
    api = Api(base_url, st["admin_user"], generated_secrets.read(cfg, airflow_services.ADMIN_SECRET))

    # The dag-processor parses dags/ into PostgreSQL; new DAGs are paused (cluster.airflow.dags_paused_at_creation).
    def parsed():
        ids = {d["dag_id"]: d for d in api.call("GET", "/dags?limit=100")["dags"]}
        return ids if {"brain_energy", "brain_metrics"} <= set(ids) else None

    dags = _wait("the dag-processor to register brain_energy and brain_metrics", parsed, 600)
    assert dags["brain_energy"]["timetable_summary"] in (None, "None")
    assert dags["brain_energy"]["is_paused"] and dags["brain_metrics"]["is_paused"]
    for dag_id in ("brain_metrics", "brain_energy"):
        assert api.call("PATCH", f"/dags/{dag_id}", {"is_paused": False})["is_paused"] is False

    run_id = f"rest_{uuid.uuid4().hex[:8]}"
    run = api.call("POST", "/dags/brain_energy/dagRuns", {"dag_run_id": run_id, "logical_date": None})
    assert run["dag_run_id"] == run_id and run["run_type"] == "manual"

    state = _wait(f"brain_energy run {run_id} to finish",
                  lambda: (s := _run_state(api, "brain_energy", run_id)) in ("success", "failed") and s,
                  RUN_TIMEOUT_S, diag=lambda: _all_runs(api))
    assert state == "success", _task_states(api, "brain_energy", run_id)

    # The validate task's outlets (the silver Assets) start brain_metrics: an asset-triggered run that
    # consumed this run's events.
    def upstream(r):
        return api.call("GET", f"/dags/brain_metrics/dagRuns/{r['dag_run_id']}/upstreamAssetEvents")["asset_events"]

    def metrics_done():
        runs = api.call("GET", "/dags/brain_metrics/dagRuns?limit=50")["dag_runs"]
        if any(r["state"] not in ("success", "failed") for r in runs):
            return None  # wait until none is queued or running (max_active_runs=1 runs them in turn)
        mine = [r for r in runs if r["run_type"] == "asset_triggered"
                and any(e["source_run_id"] == run_id for e in upstream(r))]
        return mine or None

    metrics_runs = _wait(f"a brain_metrics run started by the Asset events of {run_id}", metrics_done,
                         RUN_TIMEOUT_S, diag=lambda: _all_runs(api))
    for r in metrics_runs:
        assert r["state"] == "success", (r["dag_run_id"], _task_states(api, "brain_metrics", r["dag_run_id"]))
    events = [e for r in metrics_runs for e in upstream(r)]
    assert {e["source_dag_id"] for e in events} == {"brain_energy"}
    assert {e["source_task_id"] for e in events} == {"validate"}
    assert "silver.energy_meter" in {e["name"] for e in events}

    for gold in ("gold.energy_daily_site", "gold.energy_daily_site_kwh", "gold.energy_hourly_site"):
        rows = DeltaTable(str(table_path(cfg, gold))).to_pyarrow_table().num_rows
        assert rows > 0, gold

    # Every record the simulator's producer had acknowledged is in exactly one of silver, quarantine, duplicates.
    res = subprocess.run([sys.executable, "-c", "import sys; from brain.cli.main import main; sys.exit(main())",
                          "reconcile", "--industry", "energy", "--ledger", str(ledger), "--json"],
                         capture_output=True, text=True, timeout=900, env=dict(os.environ), cwd=ROOT)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    report = json.loads(res.stdout)
    assert report["ok"] is True and report["totals"]["lost"] == 0, report["totals"]


def test_down_leaves_no_process_and_no_port(airflow_cluster):
    from brain.ops import airflow_services, postgres
    from brain.ops.processes import pid_alive, port_open

    cfg, st, _ = airflow_cluster
    pids = [c["pid"] for c in st["components"]] + [st["postgres"]["pid"]]
    assert all(pids)
    airflow_services.up(cfg, log=print)  # idempotent: nothing new starts
    assert [c["pid"] for c in airflow_services.status(cfg)["components"]] == pids[:-1]

    after = airflow_services.down(cfg, log=print)
    assert not any(c["running"] for c in after["components"]) and not after["postgres"]["running"]
    assert not [p for p in pids if pid_alive(p)]
    assert not port_open("127.0.0.1", airflow_services.api_port(cfg))
    assert not port_open("127.0.0.1", postgres.port(cfg))
    # Nothing the components started (task processes, Spark drivers) is left in their process groups.
    assert not [p for p in pids[:-1] if airflow_services._group_members(p)]
