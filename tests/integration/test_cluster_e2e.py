"""The whole loopback cluster at once, as an operator runs it (issue #13): `brain cluster up` (three
KRaft brokers, a Spark standalone master with two workers, the Spark Connect server on that master,
s3proxy holding the lake and the checkpoints, PostgreSQL and Airflow's four services), energy records
simulated into the three brokers, `brain_energy` triggered through Airflow's REST API and run by its
real scheduler with Spark on the standalone master and the lake on s3a, `brain_metrics` started by the
silver Asset events, gold tables, `brain.metrics` messages and the dashboard populated, and
`brain reconcile --ledger` with nothing lost and nothing doubled.

While the ingest task reads Kafka, the leader broker of a partition of the topic it reads and one
Spark worker (with an executor of the running application) are killed with SIGKILL. Nobody restarts
them during the run: the topic keeps 2 of 3 replicas (min.insync.replicas 2), the application keeps
the other worker's executor, and what failed is retried by Spark (tasks) or Airflow (the task). After
the run an operator's `brain cluster up` restarts exactly the two killed processes; `status --json`
then shows 3 brokers in sync, 2 workers, the object store and the scheduler healthy, and
`brain cluster down` leaves no process and no listening port behind.

As conf/env/cluster-local.yaml says, the tasks attach to the cluster's Spark Connect server
(spark.remote: service) instead of starting a Spark driver each: the Connect server is one
application of the master with an executor on each worker (spark.cores.max 2).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from brain import config
from tests.conftest import ROOT

pytestmark = [pytest.mark.cluster, pytest.mark.integration, pytest.mark.slow]

RECORDS = int(os.environ.get("BRAIN_TEST_CLUSTER_RECORDS", "600"))
# Several micro-batches, so the kills land between the ingest's first commit and its last (the first
# batch is the slowest: the server's Python worker and the executors warm up).
PER_BATCH = max(RECORDS // 4, 1)
RUN_TIMEOUT_S = float(os.environ.get("BRAIN_TEST_AIRFLOW_RUN_TIMEOUT_S", "1500"))
KAFKA_PORTS, CONTROLLER_PORTS = [24092, 24094, 24096], [24093, 24095, 24097]
MASTER, MASTER_UI, WORKER_BASE, CONNECT, S3 = 27077, 28080, 27100, 25002, 28333
API, PG = 28280, 25432
PORTS = [*KAFKA_PORTS, *CONTROLLER_PORTS, MASTER, MASTER_UI, WORKER_BASE, WORKER_BASE + 1, WORKER_BASE + 2,
         WORKER_BASE + 3, CONNECT, S3, API, PG]
TIMINGS: dict[str, float] = {}
KILLED: dict[str, int] = {}   # what the run killed: name -> pid
_PIDS: dict[str, int] = {}    # every part's pid after the first `up`, then after the second


class Api:
    """Airflow 3's REST API with a JWT from POST /auth/token (SimpleAuthManager)."""

    def __init__(self, base: str, user: str, password: str):
        self.base = base
        req = urllib.request.Request(f"{base}/auth/token", method="POST",
                                     data=json.dumps({"username": user, "password": password}).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            self.token = json.loads(resp.read())["access_token"]

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        req = urllib.request.Request(f"{self.base}/api/v2{path}", method=method,
                                     headers={"Content-Type": "application/json",
                                              "Authorization": f"Bearer {self.token}"},
                                     data=None if body is None else json.dumps(body).encode())
        with urllib.request.urlopen(req, timeout=60) as resp:
            return json.loads(resp.read() or b"{}")

    def tasks(self, dag_id: str, run_id: str) -> dict[str, dict]:
        tis = self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]
        return {t["task_id"]: t for t in tis}

    def runs(self, dag_id: str) -> list[dict]:
        return self.call("GET", f"/dags/{dag_id}/dagRuns?limit=50")["dag_runs"]


def _wait(what: str, check, timeout: float, every: float = 3.0, diag=lambda: ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; {diag()}")


def _brain(env: dict, *argv: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "brain.cli.main", *argv], env=env, capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)
    if check:
        assert proc.returncode == 0, (f"brain {' '.join(argv)} -> {proc.returncode}\n{proc.stdout[-4000:]}\n"
                                      f"{proc.stderr[-6000:]}")
    return proc


def _lap(name: str, since: float) -> float:
    TIMINGS[name] = round(time.monotonic() - since, 1)
    print(f"[cluster e2e] {name}: {TIMINGS[name]} s", flush=True)
    return time.monotonic()


def leftovers(state: Path) -> list[str]:
    """Live processes that belong to the cluster under ``state``: their command line names a path in
    it or they run inside it (executors in a worker's work dir, task processes in AIRFLOW_HOME)."""
    out, me = [], os.getpid()
    key = str(state)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if stat[0] == "Z":
                continue
            args = (entry / "cmdline").read_bytes().decode(errors="replace").replace("\0", " ")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if key in args or cwd.startswith(key):
            out.append(f"{entry.name}: {args[:200]} (cwd {cwd})")
    return out


def rss_mib(state: Path) -> int:
    """Resident memory of every process of the cluster under ``state`` (what the run reports)."""
    total = 0
    for line in leftovers(state):
        try:
            status = Path(f"/proc/{line.split(':', 1)[0]}/status").read_text()
        except OSError:
            continue
        total += next((int(x.split()[1]) for x in status.splitlines() if x.startswith("VmRSS:")), 0)
    return total // 1024


@pytest.fixture(scope="module")
def cluster():
    """BRAIN_ENV=cluster-local with its state in a folder of this run (under the project's .state:
    PostgreSQL runs as `postgres`, which cannot enter pytest's 0700 folders), the cluster started with
    that environment (Airflow's tasks inherit it) and stopped at the end whatever happened."""
    base = ROOT / ".state" / "test" / f"cluster-e2e-{uuid.uuid4().hex[:8]}"
    state = base / "state"
    env = {**os.environ,
           "BRAIN_ENV": "cluster-local",
           "BRAIN__PATHS__STATE": str(state),
           # The session's overrides (its test broker, local Spark, a local lake) would win over
           # cluster-local.yaml: name the cluster's own parts again.
           "BRAIN__KAFKA__BOOTSTRAP_SERVERS": ",".join(f"127.0.0.1:{p}" for p in KAFKA_PORTS),
           "BRAIN__SPARK__MASTER": f"spark://127.0.0.1:{MASTER}",
           "BRAIN__LAKE__ROOT": "s3a://brain-lake/lake",
           "BRAIN__LAKE__CHECKPOINTS": "s3a://brain-lake/checkpoints",
           "BRAIN__QUALITY__GX_DIR": str(base / "gx"),
           "BRAIN__QUALITY__DATA_DOCS_DIR": str(base / "data_docs"),
           "BRAIN__ANALYST__REPORT_DIR": str(base / "reports"),
           "BRAIN__KAFKA__EMBEDDED__HEAP": "384m",
           "BRAIN__PIPELINE__MAX_OFFSETS_PER_TRIGGER": str(PER_BATCH),
           # Manual only: unpausing an @hourly DAG makes the scheduler start the last hour's run at once.
           "BRAIN__INDUSTRIES__ENERGY__SCHEDULE": "null"}
    env.pop("SPARK_CONNECT_MODE_ENABLED", None)
    # The session pins in-process Spark on its own Connect port (tests/conftest.py); the cluster's
    # drivers attach to its Connect server (cluster-local.yaml), which holds the workers' cores.
    env.pop("BRAIN__SPARK__REMOTE", None)
    env.pop("BRAIN__SPARK_CONNECT__PORT", None)
    cfg = config.load(environ=env)
    try:
        yield env, cfg, state
    finally:
        _brain(env, "cluster", "down", check=False, timeout=600)
        left = leftovers(state)
        for line in left:  # a failed run must not leave the next one a port taken
            os.kill(int(line.split(":", 1)[0]), signal.SIGKILL)
        shutil.rmtree(base, ignore_errors=True)
        print(f"[cluster e2e] timings: {json.dumps(TIMINGS)}", flush=True)


def _leader_of(cfg, topic: str) -> int:
    """The node id leading the topic's partition 0."""
    from kafka import KafkaAdminClient

    from brain.ingest import kafka_security

    admin = KafkaAdminClient(bootstrap_servers=cfg.get("kafka.bootstrap_servers"), request_timeout_ms=15000,
                             **kafka_security.client_security(cfg, kafka_security.admin_user(cfg)).python())
    try:
        (described,) = admin.describe_topics([topic])
    finally:
        admin.close()
    part = next(p for p in described["partitions"] if p["partition_index"] == 0)
    assert len(part["replica_nodes"]) == 3 and len(part["isr_nodes"]) == 3, part
    return part["leader_id"]


def _worker_with_an_executor(cfg) -> tuple[str, int]:
    """A worker that runs an executor (of the Connect server: the only application), with its pid."""
    from brain.ops import spark_standalone

    workers = [d for d in spark_standalone.daemons(cfg) if d.main_class == spark_standalone.WORKER_CLASS]
    for d in workers:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{d.webui_port}/json/", timeout=5) as resp:
                if json.loads(resp.read()).get("executors"):
                    return d.name, spark_standalone.read_pid(d)
        except (OSError, ValueError):
            continue
    raise AssertionError(f"no worker lists an executor: {[spark_standalone.daemon_status(d).detail for d in workers]}")


def test_scheduler_runs_energy_through_the_cluster_surviving_a_broker_and_a_worker_killed(cluster):
    from kafka import KafkaConsumer, TopicPartition

    from brain.contracts.topic_names import all_topics
    from brain.ingest import kafka_security
    from brain.lake.ledger_reads import column_names, read_rows
    from brain.ops import airflow_services, generated_secrets, object_store
    from brain.serve.metrics_topic import topic as metrics_topic

    env, cfg, state = cluster
    t = time.monotonic()
    st = json.loads(_brain(env, "cluster", "up", "--json", timeout=1500).stdout)
    t = _lap("cluster_up", t)
    assert st["up"], json.dumps(st)[:3000]
    assert st["kafka"]["live_brokers"] == 3 and st["kafka"]["in_sync_brokers"] == 3
    assert st["spark"]["alive_workers"] == 2 and st["spark"]["active_apps"] == ["enterprise-brain-connect"]
    assert st["object_store"]["ready"] and st["airflow"]["up"]
    _PIDS.update(_pids(st))  # the next tests compare against them

    # Simulated energy records into the three brokers, acks=all, each acknowledged one in the ledger.
    ledger = state.parent / "ledger.jsonl"
    start = (datetime.now(timezone.utc) - timedelta(days=1)).date().isoformat()
    sim = subprocess.run(
        [sys.executable, "-c",
         "import json, sys; from brain import config; from brain.simulator.run import run_simulation; "
         f"s = run_simulation(config.load(), industry='energy', sites=1, records={RECORDS}, days=1, seed=13, "
         f"bad_ratio=0.05, start={start!r}, ledger={str(ledger)!r}); print(json.dumps({{'total': s.total}}))"],
        env=env, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert sim.returncode == 0, sim.stderr[-4000:]
    assert json.loads(sim.stdout.strip().splitlines()[-1])["total"] == RECORDS
    t = _lap("simulate", t)

    # Auth is on: no token, no API; a wrong password gets no token.
    base_url = airflow_services.base_url(cfg)
    with pytest.raises(urllib.error.HTTPError) as denied:
        urllib.request.urlopen(f"{base_url}/api/v2/dags", timeout=30)
    assert denied.value.code == 401
    with pytest.raises(urllib.error.HTTPError):
        Api(base_url, "admin", "not-the-password")
    api = Api(base_url, st["airflow"]["admin_user"], generated_secrets.read(cfg, airflow_services.ADMIN_SECRET))

    def parsed():
        ids = {d["dag_id"]: d for d in api.call("GET", "/dags?limit=100")["dags"]}
        return ids if {"brain_energy", "brain_metrics"} <= set(ids) else None

    dags = _wait("the dag-processor to register brain_energy and brain_metrics", parsed, 600)
    assert dags["brain_energy"]["is_paused"] and dags["brain_metrics"]["is_paused"]
    for dag_id in ("brain_metrics", "brain_energy"):
        assert api.call("PATCH", f"/dags/{dag_id}", {"is_paused": False})["is_paused"] is False
    t = _lap("dags_parsed", t)

    run_id = f"rest_{uuid.uuid4().hex[:8]}"
    run = api.call("POST", "/dags/brain_energy/dagRuns", {"dag_run_id": run_id, "logical_date": None})
    assert run["run_type"] == "manual"

    def runs_diag() -> str:
        out = []
        for dag_id in ("brain_energy", "brain_metrics"):
            for r in api.runs(dag_id):
                tis = api.tasks(dag_id, r["dag_run_id"])
                out.append(f"{dag_id}/{r['dag_run_id']} {r['state']} "
                           f"{[(k, v['state'], v.get('try_number')) for k, v in tis.items()]}")
        return "; ".join(out) or "no runs"

    # The ingest reads Kafka: wait for its first micro-batch to be committed (the pass's checkpoint, an
    # object in s3proxy's folder), then kill a leader broker and a worker while batches remain.
    commits = object_store.data_dir(cfg) / "brain-lake" / "checkpoints" / "pass.energy" / "commits"

    def committed() -> int:
        return len([p for p in commits.iterdir() if p.name.isdigit()]) if commits.is_dir() else 0

    def first_batch():
        ingest = api.tasks("brain_energy", run_id).get("ingest", {})
        if ingest.get("state") in ("success", "failed"):
            raise AssertionError(f"the ingest ended ({ingest.get('state')}) before the kills could happen; "
                                 f"lower PER_BATCH ({PER_BATCH})")
        return ingest.get("state") == "running" and committed() > 0

    _wait("the ingest task's first committed micro-batch", first_batch, RUN_TIMEOUT_S, every=1.0, diag=runs_diag)
    t = _lap("ingest_first_batch", t)
    TIMINGS["rss_mib_during_ingest"] = rss_mib(state)
    print(f"[cluster e2e] resident memory of the cluster's processes: {TIMINGS['rss_mib_during_ingest']} MiB; "
          f"machine load {os.getloadavg()[0]:.1f}", flush=True)
    topic = all_topics(cfg, ["energy"])[0]
    leader = _leader_of(cfg, topic)
    node = st["kafka"]["nodes"][leader - 1]
    os.kill(node["pid"], signal.SIGKILL)
    worker, worker_pid = _worker_with_an_executor(cfg)
    os.kill(worker_pid, signal.SIGKILL)
    KILLED.update({f"kafka node {leader}": node["pid"], worker: worker_pid})
    batches_at_kill = committed()
    ingest_at_kill = api.tasks("brain_energy", run_id)["ingest"]["state"]
    print(f"[cluster e2e] killed kafka node {leader} (leader of {topic}[0], pid {node['pid']}) and {worker} "
          f"(pid {worker_pid}) after {batches_at_kill} committed batch(es); ingest {ingest_at_kill}", flush=True)
    assert ingest_at_kill in ("running", "up_for_retry", "queued", "scheduled"), ingest_at_kill

    state_ = _wait(f"brain_energy run {run_id} to finish",
                   lambda: (s := api.call("GET", f"/dags/brain_energy/dagRuns/{run_id}")["state"])
                   in ("success", "failed") and s, RUN_TIMEOUT_S, diag=runs_diag)
    tis = api.tasks("brain_energy", run_id)
    assert state_ == "success", runs_diag()
    print(f"[cluster e2e] brain_energy tries: {({k: v.get('try_number') for k, v in tis.items()})}", flush=True)
    total_batches = committed()
    assert total_batches > batches_at_kill, (total_batches, batches_at_kill)
    t = _lap("brain_energy_after_kills", t)

    def upstream(r):
        return api.call("GET", f"/dags/brain_metrics/dagRuns/{r['dag_run_id']}/upstreamAssetEvents")["asset_events"]

    def metrics_done():
        runs = api.runs("brain_metrics")
        if any(r["state"] not in ("success", "failed") for r in runs):
            return None
        mine = [r for r in runs if r["run_type"] == "asset_triggered"
                and any(e["source_run_id"] == run_id for e in upstream(r))]
        return mine or None

    metrics_runs = _wait(f"a brain_metrics run started by the Asset events of {run_id}", metrics_done,
                         RUN_TIMEOUT_S, diag=runs_diag)
    for r in metrics_runs:
        assert r["state"] == "success", runs_diag()
    assert {e["source_task_id"] for r in metrics_runs for e in upstream(r)} == {"validate"}
    t = _lap("brain_metrics", t)

    # Gold in the s3a lake.
    for gold in ("gold.energy_daily_site", "gold.energy_hourly_site", "gold.enterprise_brain"):
        assert read_rows(cfg, gold, column_names(cfg, gold)[:1]), gold
    enterprise = {(r[0], str(r[1])) for r in read_rows(cfg, "gold.enterprise_brain", ["site", "event_date"])}

    # brain.metrics: a day message for every site-day of gold.enterprise_brain.
    consumer = KafkaConsumer(bootstrap_servers=cfg.get("kafka.bootstrap_servers"), group_id=None,
                             enable_auto_commit=False, auto_offset_reset="earliest",
                             **kafka_security.client_security(cfg).python())
    try:
        mt = metrics_topic(cfg)
        consumer.assign([TopicPartition(mt, p) for p in sorted(consumer.partitions_for_topic(mt) or [])])
        consumer.seek_to_beginning()
        messages, deadline = [], time.monotonic() + 60
        while time.monotonic() < deadline:
            got = consumer.poll(timeout_ms=2000)
            messages += [json.loads(m.value) for batch in got.values() for m in batch]
            if messages and not got:
                break
    finally:
        consumer.close()
    days = {(m["site"], m["event_date"]) for m in messages if m["granularity"] == "day"}
    assert enterprise and enterprise <= days, (enterprise, days)

    # The dashboard, from the same lake.
    page = json.loads(_brain(env, "report", "--json").stdout)
    with_data = {s["key"] for s in page["sections"] if s["has_data"]}
    assert Path(page["page"]).is_file() and with_data, page
    assert any("energy" in s["source"] and s["has_data"] for s in page["sections"]), page["sections"]
    t = _lap("gold_metrics_dashboard", t)

    # Nothing lost, nothing doubled: every acknowledged record in exactly one of silver, quarantine, duplicates.
    rec = _brain(env, "reconcile", "--industry", "energy", "--ledger", str(ledger), "--json", check=False)
    assert rec.returncode == 0, rec.stdout[-3000:] + rec.stderr[-3000:]
    report = json.loads(rec.stdout)
    assert report["ok"] is True, report.get("problems")
    totals = report["totals"]
    assert (totals["lost"], totals["doubled"], totals["pending"]) == (0, 0, 0), totals
    assert totals["silver"] + totals["quarantine"] + totals["duplicates"] == totals["bronze_rows"] >= RECORDS
    led = report["ledger"]  # the simulator's acknowledged records, each found once by its Kafka coordinates
    assert led["acked"] == led["accounted"] == totals["bronze_rows"], (led, totals)
    assert (led["lost"], led["doubled"], led["silver_repeats"], led["no_reason"]) == (0, 0, 0, 0), led
    _lap("reconcile", t)


def _pids(st: dict) -> dict[str, int]:
    """Each part's pid by name, from `brain cluster status --json`."""
    out = {f"kafka node {i}": n["pid"] for i, n in enumerate(st["kafka"]["nodes"], 1)}
    names = ["spark-master"] + [f"spark-worker-{i}" for i in range(1, len(st["spark"]["daemons"]))]
    out |= {name: d["pid"] for name, d in zip(names, st["spark"]["daemons"])}
    out["spark-connect"] = st["spark_connect"]["pid"]
    out["s3proxy"] = st["object_store"]["pid"]
    out |= {f"airflow {c['name']}": c["pid"] for c in st["airflow"]["components"]}
    out["postgres"] = st["airflow"]["postgres"]["pid"]
    return out


def test_up_restarts_only_the_killed_parts_and_status_shows_them_in_sync(cluster):
    env, cfg, state = cluster
    assert len(KILLED) == 2, "the run above did not kill a broker and a worker"
    t = time.monotonic()
    st = json.loads(_brain(env, "cluster", "up", "--json", timeout=900).stdout)
    _lap("up_again", t)
    now = _pids(st)
    restarted = {name for name, pid in _PIDS.items() if now.get(name) != pid}
    assert restarted == set(KILLED), (restarted, KILLED)
    status = _brain(env, "cluster", "status", "--json")  # exit 0: every part up
    st = json.loads(status.stdout)
    assert st["up"]
    assert st["kafka"]["live_brokers"] == st["kafka"]["in_sync_brokers"] == 3
    assert st["kafka"]["under_replicated_partitions"] == 0 and st["kafka"]["partitions"] > 0
    assert st["spark"]["alive_workers"] == 2
    assert st["object_store"]["ready"]
    scheduler = next(c for c in st["airflow"]["components"] if c["name"] == "scheduler")
    assert scheduler["running"] and scheduler["healthy"]
    _PIDS.update(now)


def test_down_leaves_no_process_and_no_port(cluster):
    from brain.ops.processes import pid_alive, port_open

    env, cfg, state = cluster
    t = time.monotonic()
    _brain(env, "cluster", "down", timeout=600)
    _lap("down", t)
    assert not [f"{n} {p}" for n, p in _PIDS.items() if p and pid_alive(p)]
    # What the parts started (executors, their Python workers, task processes) exits with them; a
    # few seconds for the last ones to notice their parent is gone.
    deadline = time.monotonic() + 15
    while leftovers(state) and time.monotonic() < deadline:
        time.sleep(1)
    assert not leftovers(state)
    assert not [p for p in PORTS if port_open("127.0.0.1", p)]
    assert _brain(env, "cluster", "status", check=False).returncode == 3
