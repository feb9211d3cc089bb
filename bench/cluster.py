"""`python -m bench --cluster`: the pipeline on the loopback cluster with one and with two Spark
workers, and how long a partition is unwritable after its leader broker is killed.

It starts its own loopback cluster (`brain cluster up` under BRAIN_ENV=cluster-local, on the
cluster's fixed ports, state in ``.state/bench-cluster`` or ``BRAIN_BENCH_CLUSTER_STATE``) with
Airflow and the Connect server left out (neither is measured), and stops it at the end. The lake and
the checkpoints are in the cluster's s3proxy (s3a://), as in cluster-local.

- ``pipeline_rps_1_worker`` / ``pipeline_rps_2_workers``: ``brain.pipeline`` ingest + validate of one
  industry (bench.throughput.pipeline, the figure ``pipeline_rps`` of the main bench), in a driver
  process of its own attached to the standalone master, over records simulated into fresh topics
  (replication 3, acks=all) and a fresh lake prefix; first with the cluster's first worker only, then
  after `brain cluster up` started the second (each worker has ``cluster.spark.worker_cores`` cores).
  Production is not timed; the driver's start (JVM, executors) is, in ``driver_s``, not in the rate.
- ``broker_kill``: a producer sends one record at a time (acks=all) to partition 0 of a fresh topic;
  the partition's leader is killed with SIGKILL; ``failover_s`` is the time from the kill to the
  first record acknowledged after it (the controller fences the dead broker, elects a new leader
  from the ISR, and the producer finds it), ``longest_gap_s`` the longest wait for one
  acknowledgement around it, ``lost`` the acknowledged records not read back (must be 0); then
  ``rejoin_s``: `brain cluster up` restarting the dead node until every partition is in sync again.

Results go to ``bench/results/cluster.json`` (and a timestamped copy), never ``latest.json``, and
the block between ``<!-- bench-cluster:begin -->`` and ``<!-- bench-cluster:end -->`` in
docs/benchmarks.md is rewritten from them (the main bench keeps that block: it rewrites only its own).
On the 2-core machine every JVM of the cluster (three brokers, master, workers, executors, s3proxy)
and the driver share the same two cores: a second worker adds executor cores, not CPUs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from bench import env as bench_env
from bench import report

ROOT = bench_env.ROOT
STATE = Path(os.environ.get("BRAIN_BENCH_CLUSTER_STATE", str(ROOT / ".state" / "bench-cluster")))
RESULT = "cluster.json"
BEGIN, END = "<!-- bench-cluster:begin -->", "<!-- bench-cluster:end -->"
INDUSTRY = "energy"


def cluster_env(workers: int) -> dict[str, str]:
    """BRAIN_ENV=cluster-local on the bench's own state, without Airflow and the Connect server."""
    out = {k: v for k, v in os.environ.items() if not k.startswith("BRAIN__")}
    out.pop("SPARK_CONNECT_MODE_ENABLED", None)
    out |= {"BRAIN_ENV": "cluster-local", "BRAIN__PATHS__STATE": str(STATE),
            "BRAIN__CLUSTER__AIRFLOW__ENABLED": "false", "BRAIN__CLUSTER__SPARK__CONNECT": "false",
            "BRAIN__CLUSTER__SPARK__WORKERS": str(workers), "GX_ANALYTICS_ENABLED": "False",
            # A driver of its own on the master (cluster-local attaches to the Connect server, left out here).
            "BRAIN__SPARK__REMOTE": ""}
    return out


def _brain(env: dict, *argv: str, timeout: float = 1200) -> dict:
    proc = subprocess.run([sys.executable, "-m", "brain.cli.main", *argv, "--json"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"brain {' '.join(argv)} failed ({proc.returncode}): {proc.stderr[-3000:]}")
    return json.loads(proc.stdout)


# The measurement in a driver of its own: standalone gives an application its executors when it
# registers, so each worker count gets a fresh application.
PIPELINE = """
import json, sys, time
from brain import config
from brain.simulator import run_simulation
from bench import throughput
cfg = config.load()
sim = run_simulation(cfg, industry=[{industry!r}], records={records}, seed={seed})
t = time.perf_counter()
from brain.spark import get_session
spark = get_session(cfg)
spark.range(1).count()  # executors registered
driver_s = round(time.perf_counter() - t, 1)
res = throughput.pipeline(cfg, [{industry!r}], sim.total, log=lambda m: print(m, file=sys.stderr))
res["driver_s"] = driver_s
res["executors"] = spark.sparkContext._jsc.sc().getExecutorMemoryStatus().size() - 1  # minus the driver
res["master"] = spark.sparkContext.master
print(json.dumps(res))
"""


def pipeline(workers: int, records: int, log) -> dict:
    tag = uuid.uuid4().hex[:6]
    env = cluster_env(workers) | {"BRAIN__KAFKA__TOPIC_PREFIX": f"benchc{tag}.",
                                  "BRAIN__LAKE__ROOT": f"s3a://brain-lake/bench/{tag}/lake",
                                  "BRAIN__LAKE__CHECKPOINTS": f"s3a://brain-lake/bench/{tag}/checkpoints",
                                  "BRAIN__QUALITY__GX_DIR": str(STATE / "bench" / tag / "gx"),
                                  "BRAIN__QUALITY__DATA_DOCS_ENABLED": "false"}
    log(f"pipeline with {workers} worker(s): {records:,} {INDUSTRY} records")
    proc = subprocess.run([sys.executable, "-c", PIPELINE.format(industry=INDUSTRY, records=records, seed=7)],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(f"the pipeline with {workers} worker(s) failed: {proc.stderr[-3000:]}")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    if res["accounted"] != records:
        raise RuntimeError(f"{records:,} records sent, {res['accounted']:,} accounted for")
    log(f"  {res['rps']} records/s ({res['seconds']} s; driver start {res['driver_s']} s, "
        f"{res['executors']} executor(s))")
    return {k: res[k] for k in ("records", "seconds", "rps", "stages_s", "driver_s", "executors", "master")}


def broker_kill(cfg, log, rejoin) -> dict:
    """Failover of one partition's leadership under an acks=all producer; ``rejoin`` restarts the node."""
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

    from brain.ingest import kafka_io, kafka_security
    from brain.ops import broker, kafka_cluster

    topic = f"benchkill{uuid.uuid4().hex[:6]}"
    kafka_io.create_topics(cfg, [topic])
    sec = kafka_security.client_security(cfg, kafka_security.admin_user(cfg)).python()
    servers = cfg.get("kafka.bootstrap_servers")
    admin = KafkaAdminClient(bootstrap_servers=servers, request_timeout_ms=15000, **sec)
    try:
        part = next(p for p in admin.describe_topics([topic])[0]["partitions"] if p["partition_index"] == 0)
    finally:
        admin.close()
    leader = part["leader_id"]
    node = kafka_cluster.nodes(cfg)[leader - 1]
    pid = broker.read_pid(kafka_cluster.node_paths(cfg, node))
    producer = KafkaProducer(bootstrap_servers=servers, acks="all", retries=2**31 - 1, request_timeout_ms=5000,
                             delivery_timeout_ms=120000, max_in_flight_requests_per_connection=1,
                             reconnect_backoff_max_ms=1000, **sec)
    acked: list[tuple[float, int]] = []
    stop = threading.Event()

    def send() -> None:
        i = 0
        while not stop.is_set():
            producer.send(topic, value=str(i).encode(), partition=0).get(timeout=120)
            acked.append((time.monotonic(), i))
            i += 1
            time.sleep(0.02)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    time.sleep(3)
    killed_at = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    log(f"broker kill: node {leader} (pid {pid}), leader of {topic}[0], killed")
    deadline = killed_at + 180
    while time.monotonic() < deadline and not any(t > killed_at + 0.001 for t, _ in acked[-5:]):
        time.sleep(0.05)
    time.sleep(3)
    stop.set()
    sender.join(timeout=150)
    producer.close()
    after = [t for t, _ in acked if t > killed_at]
    if not after:
        raise RuntimeError("no record was acknowledged within 180 s of the kill")
    failover = after[0] - killed_at
    times = [killed_at - 3] + [t for t, _ in acked]
    gap = max(b - a for a, b in zip(times, times[1:]))
    consumer = KafkaConsumer(bootstrap_servers=servers, group_id=None, enable_auto_commit=False, **sec)
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        read, end = set(), time.monotonic() + 60
        while len(read) < len(acked) and time.monotonic() < end:
            for batch in consumer.poll(timeout_ms=1000).values():
                read |= {int(m.value) for m in batch}
    finally:
        consumer.close()
    lost = len({i for _, i in acked} - read)
    log(f"  first acknowledgement {failover:.1f} s after the kill; {len(acked)} acknowledged, {lost} lost")
    t = time.monotonic()
    rejoin()
    rejoin_s = time.monotonic() - t
    log(f"  `brain cluster up` restarted node {leader}; every partition in sync after {rejoin_s:.1f} s")
    return {"killed_node": leader, "failover_s": round(failover, 2), "longest_gap_s": round(gap, 2),
            "acknowledged": len(acked), "lost": lost, "rejoin_s": round(rejoin_s, 1),
            "broker_session_timeout": "Kafka default broker.session.timeout.ms 9000"}


def run(records: int, log=None) -> dict:
    log = log or (lambda m: print(f"[bench cluster] {m}", flush=True))
    from brain import config

    started = time.monotonic()
    machine = bench_env.machine()
    out: dict = {"mode": "cluster", "when": None, "machine": machine, "industry": INDUSTRY, "records": records,
                 "errors": {}}
    STATE.mkdir(parents=True, exist_ok=True)
    try:
        log(f"brain cluster up with 1 worker (state {STATE})")
        st = _brain(cluster_env(1), "cluster", "up")
        out["spark_master"] = st["spark"]["master_url"]
        for workers in (1, 2):
            if workers == 2:
                log("brain cluster up with 2 workers (starts the second)")
                _brain(cluster_env(2), "cluster", "up")
            try:
                out[f"pipeline_{workers}"] = pipeline(workers, records, log)
            except Exception as exc:  # one failed figure must not lose the others
                out["errors"][f"pipeline_{workers}"] = str(exc)[:1000]
                log(f"  FAILED: {str(exc)[:300]}")
        cfg = config.load(environ=cluster_env(2))
        try:
            out["broker_kill"] = broker_kill(cfg, log, rejoin=lambda: _brain(cluster_env(2), "cluster", "up"))
        except Exception as exc:
            out["errors"]["broker_kill"] = str(exc)[:1000]
            log(f"  FAILED: {str(exc)[:300]}")
    finally:
        log("brain cluster down")
        try:
            _brain(cluster_env(2), "cluster", "down")
        except Exception as exc:  # noqa: BLE001 - reported, and the results still written
            out["errors"]["down"] = str(exc)[:1000]
        shutil.rmtree(STATE / "cluster" / "object-store" / "data" / "brain-lake" / "bench", ignore_errors=True)
    p1, p2 = (out.get(f"pipeline_{w}") or {} for w in (1, 2))
    out["pipeline_rps_1_worker"], out["pipeline_rps_2_workers"] = p1.get("rps"), p2.get("rps")
    out["two_vs_one_worker"] = (round(p2["rps"] / p1["rps"], 3) if p1.get("rps") and p2.get("rps") else None)
    out["broker_failover_s"] = (out.get("broker_kill") or {}).get("failover_s")
    out["broker_rejoin_s"] = (out.get("broker_kill") or {}).get("rejoin_s")
    machine["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
    out["when"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    out["total_s"] = round(time.monotonic() - started, 1)
    return out


def write(results: dict, where: Path = report.RESULTS) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    path = where / RESULT
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    shutil.copyfile(path, where / f"cluster-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json")
    return path


def render(r: dict) -> str:
    """The docs/benchmarks.md block (pure)."""
    m, f = r.get("machine", {}), report._fmt
    k = r.get("broker_kill") or {}
    lines = [BEGIN,
             f"Run: `python -m bench --cluster`, {r.get('when')}, {r.get('total_s')} s in all; "
             f"{f(r.get('records'))} {r.get('industry')} records per pipeline run, master `{r.get('spark_master')}`. "
             f"Machine: {m.get('cpus')} CPUs, {m.get('ram_gib')} GiB RAM; 1-minute load average "
             f"{m.get('load_average_1m_at_start')} at the start, {m.get('load_average_1m_at_end')} at the end. "
             "Every JVM of the cluster and the driver share these CPUs: a second worker adds executor cores, "
             "not processors.",
             "",
             "| figure | value | measured on |",
             "|---|---|---|"]
    for w in (1, 2):
        p = r.get(f"pipeline_{w}") or {}
        lines.append(f"| `pipeline_rps_{w}_worker{'s' if w == 2 else ''}` | {f(p.get('rps'))} | "
                     f"ingest + validate, {f(p.get('records'))} records in {f(p.get('seconds'))} s, "
                     f"{p.get('executors', 'n/a')} executor(s); driver start {f(p.get('driver_s'))} s not counted |")
    lines += [f"| `two_vs_one_worker` | {f(r.get('two_vs_one_worker'))} | ratio |",
              f"| `broker_failover_s` | {f(k.get('failover_s'))} | SIGKILL of partition 0's leader -> first "
              f"acks=all write acknowledged after it (longest wait for one write {f(k.get('longest_gap_s'))} s; "
              f"{f(k.get('acknowledged'))} acknowledged, {f(k.get('lost'))} lost) |",
              f"| `broker_rejoin_s` | {f(k.get('rejoin_s'))} | `brain cluster up` restarting the killed node until "
              "no partition is under-replicated |"]
    if r.get("errors"):
        lines += ["", "Measurements that failed in this run:", ""]
        lines += [f"- `{k}`: {v}" for k, v in r["errors"].items()]
    lines.append(END)
    return "\n".join(lines)


def update_doc(results: dict, doc: Path = report.DOC) -> None:
    """Replace the cluster block of docs/benchmarks.md (append it the first time)."""
    block = render(results)
    text = doc.read_text() if doc.is_file() else "# Benchmarks\n"
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n## The loopback cluster (`python -m bench --cluster`)\n\n" + block + "\n"
    doc.write_text(text)


def main(records: int, results_dir: Path | None = None, docs: bool = True) -> int:
    results = run(records)
    path = write(results, results_dir or report.RESULTS)
    if docs:
        update_doc(results)
    print(json.dumps({k: results.get(k) for k in ("pipeline_rps_1_worker", "pipeline_rps_2_workers",
                                                 "two_vs_one_worker", "broker_failover_s", "broker_rejoin_s",
                                                 "errors")}, indent=2))
    print(f"wrote {path}" + ("" if not docs else f" and {report.DOC}"))
    return 1 if results["errors"] else 0
