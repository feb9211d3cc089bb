"""`brain doctor`: is every part of the stack really working?

Each check exercises the real thing (a produce/consume round-trip, a Delta
write/read/time-travel, a GX validation, a DagBag load) and, when it fails,
says how to fix it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Callable

from brain.config import Config


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    seconds: float = 0.0
    warning: str = ""  # ok, but worth knowing (an optional part is off); printed as "warn"

    def as_dict(self) -> dict:
        return asdict(self)


def _java(cfg: Config) -> tuple[str, str]:
    out = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=30)
    text = (out.stderr or out.stdout).strip()
    m = re.search(r'version "(\d+)', text)
    major = int(m.group(1)) if m else 0
    if major < 17:
        raise RuntimeError(f"Java 17+ needed, found: {text.splitlines()[0] if text else 'nothing'}")
    return text.splitlines()[0], ""


def _jars(cfg: Config) -> tuple[str, str]:
    """Every Maven-resolved group this config needs; one message naming each that is missing."""
    from brain.jars import JarsMissing, jar_dir, jars

    found, missing = [], []
    for group, required, label, why in needed_jar_groups(cfg):
        try:
            found.append(f"{len(jars(cfg, group, required))} {label} jars" + (f" ({why})" if why else ""))
        except JarsMissing as exc:
            if not why:
                missing.append(str(exc))
            else:
                missing.append(f"{jar_dir(cfg, group)} lacks {', '.join(r.rstrip('-_') for r in required)}, "
                               f"needed because {why}: run `make jars` (Maven resolves jvm/{group}/pom.xml; "
                               f"this group alone: `make .jars/{group}/.resolved`)")
    if missing:
        raise JarsMissing("; ".join(missing))
    listed, warning = local_fs_note(cfg)
    return ", ".join(found + ([listed] if listed else [])), warning


def local_fs_note(cfg: Config) -> tuple[str, str]:
    """(what doctor lists, a warning) about our local file system (jvm/localfs): listed when it serves
    this config's local Spark, a warning when it should and is not built, neither when it does not apply."""
    from brain.jars import local_fs_jar
    from brain.spark import local_fs_wanted

    if not local_fs_wanted(cfg, str(cfg.get("spark.master", type_=str))):
        return "", ""
    if local_fs_jar(cfg) is not None:
        return "the local file system without child processes", ""
    return "", ("jvm/localfs is not built, so Hadoop runs `chmod` and `readlink` processes for every file Spark "
                "writes here (slower, not wrong): `make .jars/localfs/brain-localfs.jar`")


def needed_jar_groups(cfg: Config) -> list[tuple[str, tuple[str, ...], str, str]]:
    """(jvm/ group, artifacts it must hold, label, why it is needed beyond the base stack): the s3a
    connector when the lake or the checkpoints are on s3a://, s3proxy when `brain cluster up`
    starts the object store (object_store.managed)."""
    from brain import storage
    from brain.jars import KAFKA_REQUIRED, SPARK_REQUIRED
    from brain.ops import object_store

    groups = [("spark", SPARK_REQUIRED, "Spark", ""), ("kafka", KAFKA_REQUIRED, "Kafka broker", "")]
    if storage.uses_object_store(cfg):
        remote = [k for k in storage.LOCATION_KEYS if storage.is_remote(cfg.get(k, type_=str))]
        groups.append(("s3a", storage.S3A_REQUIRED, "s3a connector",
                       f"{' and '.join(remote)} {'is' if len(remote) == 1 else 'are'} on s3a://"))
    if cfg.get("object_store.managed", False, type_=bool):
        groups.append(("s3proxy", object_store.REQUIRED, "s3proxy",
                       "object_store.managed: `brain cluster up` starts s3proxy"))
    return groups


def _kafka(cfg: Config) -> tuple[str, str]:
    import socket

    from brain.ingest import kafka_io

    servers = cfg.get("kafka.bootstrap_servers", type_=str)
    reachable = []
    for server in servers.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            socket.create_connection((host, int(port)), timeout=3).close()
            reachable.append(server)
        except (OSError, ValueError):
            pass
    if not reachable:
        raise RuntimeError(f"no Kafka broker answers at {servers}")
    topic = "_brain_doctor"
    kafka_io.create_topics(cfg, [topic], partitions=1)
    token = uuid.uuid4().hex.encode()
    kafka_io.produce(cfg, [(topic, b"doctor", token)])
    for msg in kafka_io.consume_all(cfg, topic, timeout_ms=10000):
        if msg.value == token:
            return f"{cfg.get('kafka.bootstrap_servers')}: produce/consume round-trip ok", ""
    raise RuntimeError("produced a message but could not read it back")


_spark_holder: dict = {}


def _spark(cfg: Config) -> tuple[str, str]:
    from brain.spark import get_session

    spark = get_session(cfg)
    _spark_holder["spark"] = spark
    n = spark.range(1000).selectExpr("sum(id) AS s").collect()[0]["s"]
    if n != 499500:
        raise RuntimeError(f"Spark computed {n}, expected 499500")
    from brain.spark import is_connect, remote_url

    if is_connect(spark):  # no SparkContext on a Connect client; the server runs spark.master
        return f"Spark {spark.version} over Spark Connect at {remote_url(cfg)}", ""
    return f"Spark {spark.version}, master {spark.sparkContext.master}", ""


def _delta(cfg: Config) -> tuple[str, str]:
    spark = _spark_holder.get("spark")
    if spark is None:
        raise RuntimeError("Spark is not working (see the spark check)")
    state = cfg.path("paths.state")
    state.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=state, prefix="doctor-delta-") as tmp:
        spark.range(10).write.format("delta").save(tmp)
        spark.range(10, 15).write.format("delta").mode("append").save(tmp)
        now = spark.read.format("delta").load(tmp).count()
        v0 = spark.read.format("delta").option("versionAsOf", 0).load(tmp).count()
    if (now, v0) != (15, 10):
        raise RuntimeError(f"Delta round-trip read {now} rows now and {v0} at version 0; expected 15 and 10")
    return "write, append, read and time travel (VERSION AS OF 0) ok", ""


def _great_expectations(cfg: Config) -> tuple[str, str]:
    import great_expectations as gx

    spark = _spark_holder.get("spark")
    if spark is None:
        raise RuntimeError("Spark is not working (see the spark check)")
    ctx = gx.get_context(mode="ephemeral")
    asset = ctx.data_sources.add_spark("doctor").add_dataframe_asset("doctor")
    batch_def = asset.add_batch_definition_whole_dataframe("all")
    df = spark.createDataFrame([(1,), (2,), (None,)], "x int")
    batch = batch_def.get_batch(batch_parameters={"dataframe": df})
    res = batch.validate(gx.expectations.ExpectColumnValuesToNotBeNull(column="x"))
    if res.success or res.result.get("unexpected_count") != 1:
        raise RuntimeError(f"GX should have found exactly 1 null; got {res.result}")
    return f"great_expectations {gx.__version__} on Spark: found the planted null", ""


def _spark_connect(cfg: Config) -> tuple[str, str]:
    """The warm Connect server: needed when spark.remote = service (off is a failure), used when it
    answers under auto (the default; off is a warning: commands start Spark in-process), unused when
    sessions are in-process."""
    from brain.ops import spark_service
    from brain.spark import remote_mode

    st = spark_service.status(cfg)
    mode = remote_mode(cfg)
    if not st.running and not st.reachable:
        if mode == "service":
            raise RuntimeError(f"Spark Connect server not running at {st.url}, and spark.remote = service "
                               f"attaches the pipeline to it: start it with `brain spark start`")
        if mode == "auto":
            return ("Spark Connect server not running: commands start Spark in their own process "
                    "(~10 s each)"), "start it with `brain spark start` (make run does)"
        return "Spark Connect server not running (optional)", "start it with `brain spark start` to attach to " \
            f"{st.url}"
    if not st.running:
        return st.detail, "not ours: `brain spark start` will refuse this port; set spark_connect.port"
    if not st.reachable:
        raise RuntimeError(st.detail)
    spark_service.probe(cfg)
    used = " (commands attach to it)" if mode in ("auto", "service") else " (unused: spark.remote = '')"
    return f"{st.detail}: a Connect session ran a query{used}", ""


_DAGBAG_SCRIPT = """
import json, time
t = time.monotonic()
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder={folder!r})
print(json.dumps({{"dags": sorted(bag.dags), "errors": {{k: v[-400:] for k, v in bag.import_errors.items()}},
                  "seconds": round(time.monotonic() - t, 1)}}))
"""


def _airflow(cfg: Config) -> tuple[str, str]:
    import os

    from brain.orchestration.airflow_env import airflow_env

    env = {**os.environ, **airflow_env(cfg)}
    folder = env["AIRFLOW__CORE__DAGS_FOLDER"]
    out = subprocess.run([sys.executable, "-c", _DAGBAG_SCRIPT.format(folder=folder)], env=env,
                         capture_output=True, text=True, timeout=300)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"loading the DAGs crashed: {out.stderr.strip()[-600:]}")
    info = json.loads(lines[-1])
    if info["errors"]:
        raise RuntimeError("DAG import errors: " + "; ".join(f"{k}: {v}" for k, v in info["errors"].items()))
    if not info["dags"]:
        raise RuntimeError(f"no DAGs found in {folder}")
    return f"{len(info['dags'])} DAGs import cleanly: {', '.join(info['dags'])}", ""


FIXES = {
    "java": "install OpenJDK 17 (apt-get install openjdk-17-jre-headless) and put `java` on PATH",
    "jars": "run `make jars` (Maven resolves them from jvm/*/pom.xml into .jars/; see the message for which)",
    "kafka": "start the broker: `brain kafka start` (or check kafka.bootstrap_servers)",
    "spark": "check Java and `make setup`; see the error above",
    "delta": "the Delta jars must match Spark: `make jars`",
    "great_expectations": "reinstall pinned packages: `make setup`",
    "airflow": "fix the DAG import errors above; run `make setup` if Airflow itself fails",
    "spark_connect": "restart it: `brain spark stop && brain spark start` (log: <paths.state>/spark_connect/logs)",
}

CHECKS: list[tuple[str, Callable[[Config], tuple[str, str]]]] = [
    ("java", _java), ("jars", _jars), ("kafka", _kafka), ("spark", _spark), ("delta", _delta),
    ("great_expectations", _great_expectations), ("spark_connect", _spark_connect), ("airflow", _airflow),
]


def run_checks(cfg: Config, skip: set[str] | None = None) -> list[Check]:
    from brain.errors import explain

    results = []
    for name, fn in CHECKS:
        if skip and name in skip:
            continue
        t = time.monotonic()
        try:
            detail, warning = fn(cfg)
            results.append(Check(name, True, detail, seconds=round(time.monotonic() - t, 1), warning=warning))
        except Exception as exc:  # noqa: BLE001 - a doctor reports every failure, it does not stop at one
            results.append(Check(name, False, explain(exc), FIXES.get(name, ""), round(time.monotonic() - t, 1)))
    return results


def print_checks(checks: list[Check]) -> None:
    width = max(len(c.name) for c in checks)
    for c in checks:
        mark = "FAIL" if not c.ok else "warn" if c.warning else "ok  "
        print(f"{mark}  {c.name.ljust(width)}  {c.detail}  ({c.seconds}s)")
        if not c.ok and c.fix:
            print(f"      {' ' * width}  fix: {c.fix}")
        elif c.warning:
            print(f"      {' ' * width}  note: {c.warning}")
    bad = [c.name for c in checks if not c.ok]
    print(f"\n{'all checks passed' if not bad else 'broken: ' + ', '.join(bad)}")
