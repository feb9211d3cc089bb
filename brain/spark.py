"""SparkSession factory: Delta Lake, the Kafka connector, and config-driven master."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from brain import storage
from brain.config import Config
from brain.jars import JarsMissing, jar_dir, local_fs_jar, spark_jars

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


LINEAGE_LISTENER = "io.openlineage.spark.agent.OpenLineageSparkListener"
LINEAGE_JAR = "openlineage-spark_"


def session_conf(cfg: Config) -> dict[str, str]:
    """Every Spark setting we apply, as plain strings (pure; testable without a JVM)."""
    # The clean stage's whole-stage code (classify's checks) is one method of ~27 kB of
    # bytecode; HotSpot never JIT-compiles a method over 8 kB unless told to, so the stage
    # ran interpreted (2-3 x slower). Executors run that code on a cluster, drivers locally.
    jit = "-XX:-DontCompileHugeMethods" if cfg.get("spark.jit_huge_methods", type_=bool) else ""
    # Every query compiles classes of its own, so metaspace keeps growing; a first metaspace
    # threshold of 512 MB instead of the JVM's ~21 MB cost a warm cycle less driver CPU and
    # fewer concurrent GC cycles (conf/defaults.yaml spark.metaspace_size).
    metaspace = cfg.get("spark.metaspace_size", "", type_=str) or ""
    metaspace = f"-XX:MetaspaceSize={metaspace}" if metaspace else ""
    lineage = bool(cfg.get("lineage.enabled", False, type_=bool))
    jvm_flags = " ".join(f for f in (jit, metaspace, cfg.get("spark.java_options", "") or "") if f)
    master = cfg.get("spark.master", type_=str)
    jars = [j for j in spark_jars(cfg) if lineage or not j.name.startswith(LINEAGE_JAR)]
    local_fs = local_fs_jar(cfg) if local_fs_wanted(cfg, master) else None
    conf = {
        "spark.master": master,
        "spark.app.name": str(cfg.get("spark.app_name", "enterprise-brain")),
        "spark.jars": ",".join(str(j) for j in jars),
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.warehouse.dir": str(storage.warehouse_dir(cfg)),
        "spark.sql.shuffle.partitions": str(cfg.get("spark.shuffle_partitions", type_=int)),
        "spark.sql.adaptive.enabled": str(bool(cfg.get("spark.adaptive", False, type_=bool))).lower(),
        "spark.driver.memory": str(cfg.get("spark.driver_memory", "2g")),
        "spark.ui.enabled": str(bool(cfg.get("spark.ui_enabled", False))).lower(),
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.session.timeZone": "UTC",
        # Python workers run the interpreter that runs us (the project venv),
        # not whatever `python3` is first on PATH.
        "spark.pyspark.python": sys.executable,
        "spark.pyspark.driver.python": sys.executable,
        # Delta's log replay defaults to 50 partitions: far too many for small
        # local tables, where it dominates every read and every idempotent append.
        "spark.databricks.delta.snapshotPartitions": str(cfg.get("spark.delta_snapshot_partitions", 1, type_=int)),
        # Tasks that list a table's files in parallel. Delta's VACUUM makes this many tasks whatever
        # the table's size: Spark's default (10,000) made a VACUUM of a three-file table take 12-23 s
        # of task scheduling here, against 2.5 s with 4; `brain maintain` runs one per table.
        "spark.sql.sources.parallelPartitionDiscovery.parallelism": str(
            cfg.get("spark.file_listing_parallelism", 4, type_=int)),
        # Compiled classes Spark keeps (its default: 100). One cycle of the four industries asks for
        # ~1,400 different ones (each record type's checks, Delta's and GX's queries), so a warm
        # session or the Spark service recompiled ~3,600 classes with Janino every cycle.
        "spark.sql.codegen.cache.maxEntries": str(cfg.get("spark.codegen_cache_entries", 2000, type_=int)),
        # Most queries see few rows (gold days, ledgers, Delta's own log queries): they run
        # interpreted; a batch of spark.compiled_from_rows rows or more switches to compiled code
        # (codegen_for).
        **codegen_conf(compiles(cfg, 0)),
        # Delta 4 re-derives a small table's whole file list after every commit, to check the list
        # it keeps in the .crc file, whenever the JVM's time zone is not UTC (our session's is; the
        # machine's may be anything). That is a state rebuild, a Spark job, per append: 0.6-0.8 s
        # instead of 0.2-0.3 s here with TZ=Europe/Berlin. The .crc's list only feeds that check.
        "spark.databricks.delta.allFilesInCrc.verificationMode.forceOnNonUTC.enabled": "false",
        # We rely on Delta schema evolution only where we ask for it explicitly.
        "spark.databricks.delta.schema.autoMerge.enabled": "false",
        "spark.sql.streaming.stopGracefullyOnShutdown": "true",
        # PySpark wraps every functions/Column call to tell the JVM the Python call site (for
        # "DataFrame query context" in error messages): 8-12 extra py4j round trips per call.
        # The clean stage builds ~900 such calls per record type (~1 s of Python per record
        # type in every process, holding the GIL); see spark.dataframe_call_sites.
        "spark.python.sql.dataFrameDebugging.enabled": str(
            bool(cfg.get("spark.dataframe_call_sites", False, type_=bool))).lower(),
        # Derby metastore files would otherwise land in the current directory.
        "spark.driver.extraJavaOptions": (
            f"-Dderby.system.home={cfg.path('paths.state') / 'derby'} "
            f"-Dlog4j2.configurationFile={cfg.root / 'conf' / 'spark-log4j2.properties'} {jvm_flags}").strip(),
        "spark.executor.extraJavaOptions": jvm_flags,
    }
    # s3a:// lake or checkpoints: the connector's jars and the object store's address and keys.
    conf.update(storage.spark_conf(cfg))
    if local_fs:  # on the JVM's class path (with s3a's): spark-submit reads local files before spark.jars load
        conf["spark.driver.extraClassPath"] = _class_path(local_fs, conf.get("spark.driver.extraClassPath"))
        conf["spark.hadoop.fs.file.impl"] = "org.enterprisebrain.fs.NoForkLocalFileSystem"
        conf["spark.hadoop.fs.AbstractFileSystem.file.impl"] = "org.enterprisebrain.fs.NoForkLocalFs"
    if lineage:
        if not any(j.name.startswith(LINEAGE_JAR) for j in spark_jars(cfg)):
            # Spark would fail later with a bare ClassNotFoundException for the listener.
            raise JarsMissing(f"lineage.enabled needs {LINEAGE_JAR.rstrip('_')} in {jar_dir(cfg, 'spark')}; "
                              "run `make jars` (jvm/spark/pom.xml lists it)")
        conf.update(lineage_conf(cfg))
    for key, value in (cfg.get("spark.extra_conf", {}) or {}).items():
        if key == "spark.driver.extraClassPath" and local_fs:  # a user's class path joins ours, not replaces it
            value = _class_path(conf.get(key), value)
        conf[str(key)] = str(value)
    return conf


# Whole-stage code generation, and the per-expression code generators' interpreted fallback.
# ``factoryMode`` is marked internal in Spark (its tests set it), but it is the only switch that
# makes projections, predicates and orderings interpreted too; an unknown value fails loudly.
_CODEGEN_KEYS = ("spark.sql.codegen.wholeStage", "spark.sql.codegen.factoryMode")


def codegen_conf(compiled: bool) -> dict[str, str]:
    """The session settings for compiled (Spark's default) or interpreted query execution (pure)."""
    return dict(zip(_CODEGEN_KEYS, ("true", "FALLBACK") if compiled else ("false", "NO_CODEGEN"), strict=True))


def compiles(cfg: Config, rows: int | None) -> bool:
    """Whether a workload of ``rows`` rows (None: not known, e.g. an analyst's query over whole tables)
    runs compiled: from spark.compiled_from_rows on; 0 compiles everything (pure).

    Compiling costs per query (generated Java, Janino, then the JIT warming the new classes), and
    literals (days, timestamps) make most of a cycle's queries new code every cycle: a warm cycle of
    5,000 records ran 71-75 s interpreted against 86-102 s compiled. Per row, compiled code wins:
    classifying 150 k rows took 2.3-3.0 s compiled and 6.9-8.0 s interpreted (docs/benchmarks.md).
    """
    threshold = int(cfg.get("spark.compiled_from_rows", 20000, type_=int))
    return threshold <= 0 or rows is None or rows >= threshold


@contextmanager
def codegen_for(spark: "SparkSession", cfg: Config, rows: int | None) -> Iterator[bool]:
    """Run the block's queries on ``spark`` compiled or interpreted as ``compiles`` decides for ``rows``
    (yields which); afterwards the session goes back to the configured default, not to what it was
    before, so two threads switching one session cannot leave it stuck in the other's mode. The
    results are the same either way; only their cost differs."""
    compiled = compiles(cfg, rows)
    for key, value in codegen_conf(compiled).items():
        spark.conf.set(key, value)
    try:
        yield compiled
    finally:
        for key, value in codegen_conf(compiles(cfg, 0)).items():
            spark.conf.set(key, value)


def _class_path(*parts) -> str:
    return os.pathsep.join(str(p) for p in parts if p)


def local_fs_wanted(cfg: Config, master: str) -> bool:
    """Whether Spark should use our local file system (jvm/localfs): spark.local_fs_without_forks, and
    every executor is this JVM (pure).

    Without Hadoop's native library (pip's pyspark has none), Hadoop's own runs `chmod` for each
    file it creates and `readlink` for each rename: ~25 child processes of the driver per Delta
    append, ~3.4 ms each (docs/benchmarks.md). Executors in JVMs of their own (a cluster,
    local-cluster[...]) would need the jar before their first task, so there Hadoop's stays."""
    in_this_jvm = master == "local" or str(master).startswith("local[")
    return in_this_jvm and bool(cfg.get("spark.local_fs_without_forks", True, type_=bool))


def lineage_conf(cfg: Config) -> dict[str, str]:
    """The OpenLineage listener's settings: every Spark job's run events to lineage.url, or to a file."""
    conf = {
        "spark.extraListeners": LINEAGE_LISTENER,
        "spark.openlineage.namespace": str(cfg.get("lineage.namespace", type_=str)),
    }
    url = str(cfg.get("lineage.url", "") or "")
    if url:
        conf |= {"spark.openlineage.transport.type": "http", "spark.openlineage.transport.url": url}
    else:
        # One file per driver process: the Java file transport appends without locking, and
        # two drivers (brain run next to an Airflow task) appending to one file could interleave.
        # It creates the folder itself.
        location = cfg.path("lineage.dir") / f"spark-{os.getpid()}.jsonl"
        conf |= {"spark.openlineage.transport.type": "file", "spark.openlineage.transport.location": str(location)}
    return conf | airflow_task_parent_conf()


def airflow_task_parent_conf() -> dict[str, str]:
    """Inside an Airflow task, the listener's parent run: the task's run as Airflow's OpenLineage
    provider names it (its macros), with the DAG run as root, so a task's Spark jobs hang under
    the task in the lineage graph; {} anywhere else. A session started in the task's process
    gets it; one attached to the shared Spark service cannot (its listener serves every client)."""
    if "airflow.sdk" not in sys.modules:  # Airflow's task runner imported it; the CLI never does
        return {}
    try:
        from airflow.providers.openlineage.plugins import macros
        from airflow.sdk import get_current_context

        ti = get_current_context()["ti"]
        return {"spark.openlineage.parentJobNamespace": macros.lineage_job_namespace(),
                "spark.openlineage.parentJobName": macros.lineage_job_name(ti),
                "spark.openlineage.parentRunId": macros.lineage_run_id(ti),
                "spark.openlineage.rootParentJobNamespace": macros.lineage_root_job_namespace(ti),
                "spark.openlineage.rootParentJobName": macros.lineage_root_job_name(ti),
                "spark.openlineage.rootParentRunId": macros.lineage_root_run_id(ti)}
    except Exception:  # noqa: BLE001 - no task context (or no provider): no parent, lineage still flows
        return {}


class SparkServiceUnreachable(RuntimeError):
    """``spark.remote`` names a Spark Connect server that does not answer."""


def remote_mode(cfg: Config) -> str:
    """``spark.remote`` as one of "" (in-process), "auto", "service" or an sc:// URL (pure)."""
    value = str(cfg.get("spark.remote", "") or "").strip()
    if value in ("", "auto", "service") or value.startswith("sc://"):
        return value
    raise ValueError(f"spark.remote must be 'auto' (the `brain spark start` server when it runs, else "
                     f"in-process), 'service' (that server, or fail), '' (in-process Spark) or a Spark "
                     f"Connect URL like sc://127.0.0.1:15002; got {value!r}")


def remote_url(cfg: Config) -> str:
    """Where to attach (``sc://host:port``, without the service's token), or "" for an in-process
    session (pure).

    ``spark.remote: service`` (and ``auto``) mean the project's own server (``brain spark start``)
    at ``spark_connect.port``; any ``sc://`` value is a Spark Connect URL used as given. Whether
    ``auto`` attaches is decided when the session starts (:func:`get_session`).
    """
    value = remote_mode(cfg)
    return service_url(cfg) if value in ("auto", "service") else value


# The `brain spark start` server (brain/ops/spark_service.py builds it from these): clients name
# "localhost", the one host pyspark sends a token to over plaintext gRPC, and present the server's
# generated token.
SERVICE_HOST = "localhost"
SERVICE_TOKEN_SECRET = "spark-connect-token"


def service_url(cfg: Config) -> str:
    """The service's URL without its token (fit to print)."""
    return f"sc://{SERVICE_HOST}:{cfg.get('spark_connect.port', type_=int)}"


def service_token_file(cfg: Config):
    return storage.secrets_dir(cfg) / SERVICE_TOKEN_SECRET


def _answers(host: str, port: int) -> bool:
    import socket

    try:
        socket.create_connection((host, port), timeout=0.5).close()
    except OSError:
        return False
    return True


def is_connect(spark) -> bool:
    """True for a Spark Connect session (no JVM, no SparkContext in this process)."""
    return type(spark).__module__.startswith("pyspark.sql.connect")


def shown(url: str) -> str:
    """``url`` fit to print: a ``token`` parameter's value masked (pure)."""
    import re

    return re.sub(r"(;token=)[^;]*", r"\1***", url)


def _host_port(url: str) -> tuple[str, int]:
    hostport = url[len("sc://"):].split("/", 1)[0].split(";", 1)[0]
    host, _, port = hostport.rpartition(":")
    return (host or hostport, int(port) if port.isdigit() else 15002)


def get_session(cfg: Config) -> "SparkSession":
    """The process-wide session (created on first use, reused after): attached to the Spark Connect
    server ``spark.remote`` names, or in-process when it is empty.

    ``auto`` (the default) attaches to the ``brain spark start`` server when it answers and its
    token is readable, and otherwise starts Spark in this process, saying so once on stderr: a
    command still works without the service, it only pays the JVM start the service saves.
    """
    url = attach_url(cfg)
    if url:
        return _remote_session(cfg, url)
    from pyspark.sql import SparkSession

    builder = SparkSession.builder
    for key, value in session_conf(cfg).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(str(cfg.get("spark.log_level", "WARN")))
    return spark


def attach_url(cfg: Config) -> str:
    """The Spark Connect URL this process attaches to now, or "" for in-process Spark: ``auto``
    attaches only when the service's port answers and its token is readable (else says so once)."""
    url = remote_url(cfg)
    if url and remote_mode(cfg) == "auto" and not (_answers(*_host_port(url)) and service_token_file(cfg).is_file()):
        _say_in_process(url)
        return ""
    return url


_said: set[str] = set()


def _say_in_process(url: str) -> None:
    if url in _said:
        return
    _said.add(url)
    print(f"spark: no Spark service at {url}; running Spark in this process (~10 s to start). "
          f"`brain spark start` keeps one warm; spark.remote '' silences this.", file=sys.stderr)


def _remote_session(cfg: Config, url: str) -> "SparkSession":
    """A Spark Connect session at ``url``; a clear error when nothing answers there."""
    host, port = _host_port(url)
    if not _answers(host, port):
        hint = ("start it with `brain spark start`" if remote_mode(cfg) in ("auto", "service")
                or host in ("127.0.0.1", "localhost") else "check that the server runs")
        raise SparkServiceUnreachable(
            f"no Spark Connect server answers at {shown(url)} "
            f"(spark.remote = {shown(str(cfg.get('spark.remote')))!r}): {hint}, "
            f"or set spark.remote to '' (env BRAIN__SPARK__REMOTE=) for an in-process session")
    # pyspark.sql.functions and delta.tables build Connect objects only while this process-wide
    # flag is set (the classic builder's .remote() sets it the same way).
    os.environ["SPARK_CONNECT_MODE_ENABLED"] = "1"
    from pyspark.sql.connect.client.retries import DefaultPolicy
    from pyspark.sql.connect.session import SparkSession as RemoteSession

    if remote_mode(cfg) in ("auto", "service"):
        try:  # the server takes only clients with its token (generated when it starts)
            url = f"{url}/;token={service_token_file(cfg).read_text().strip()}"
        except OSError as missing:
            raise SparkServiceUnreachable(f"the Spark Connect server's token {service_token_file(cfg)} is "
                                          f"unreadable ({missing.strerror}): start the server with "
                                          f"`brain spark start`") from missing
    spark = RemoteSession.builder.remote(url).getOrCreate()
    # The default policy retries an unavailable server for 10 minutes: a server that died
    # mid-run (or was stopped) must fail the run within seconds, saying where it was.
    retries = int(cfg.get("spark_connect.client_retries", 5))
    spark.client.set_retry_policies([DefaultPolicy(max_retries=retries, max_backoff=5000)])
    return spark
