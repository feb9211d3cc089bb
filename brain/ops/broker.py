"""The embedded Apache Kafka broker: one KRaft node (broker + controller).

Runs the real broker from the Maven-resolved jars with ``java -cp``; its data,
config and logs live under ``<paths.state>/kafka``. ``start`` is idempotent,
``stop`` is graceful (SIGTERM, then SIGKILL after a timeout) and waits until
the port is free.
"""

from __future__ import annotations

import base64
import os
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from brain.config import Config
from brain.jars import kafka_jars
from brain.ops.processes import ProcessHome, ProcessStatus, pid_alive, port_open, tail, terminate, wait_until_ready


class BrokerError(Exception):
    pass


BrokerStatus = ProcessStatus


@dataclass(frozen=True)
class BrokerPaths(ProcessHome):
    name: str = "broker"

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def config(self) -> Path:
        return self.home / "server.properties"

    @property
    def log4j(self) -> Path:
        return self.home / "log4j2.properties"


def paths(cfg: Config) -> BrokerPaths:
    return BrokerPaths(cfg.path("paths.state") / "kafka")


def server_properties(cfg: Config, data_dir: Path) -> str:
    host = cfg.get("kafka.embedded.host", type_=str)
    port = cfg.get("kafka.embedded.port", type_=int)
    cport = cfg.get("kafka.embedded.controller_port", type_=int)
    partitions = cfg.get("kafka.embedded.default_partitions", 3)
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{host}:{cport}",
        "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{cport}",
        "advertised.listeners": f"PLAINTEXT://{host}:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(data_dir),
        "num.partitions": str(partitions),
        # Single node: internal topics cannot have more replicas than brokers.
        "offsets.topic.replication.factor": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        # Topics are created on purpose (brain topics create); a typo in a
        # topic name must fail, not silently create an empty topic.
        "auto.create.topics.enable": "false",
        # Factories send batches; allow messages up to 8 MiB so an oversized
        # record reaches quarantine with a reason instead of being refused.
        "message.max.bytes": str(8 * 1024 * 1024),
        "log.retention.hours": "168",
    }
    return "".join(f"{k}={v}\n" for k, v in props.items())


LOG4J2 = """\
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = {logs}/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.apache.name = org.apache.kafka
logger.apache.level = INFO
"""


def _classpath(cfg: Config) -> str:
    return os.pathsep.join(str(j) for j in kafka_jars(cfg))


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    return str(Path(java_home) / "bin" / "java") if java_home else "java"


def _read_pid(bp: BrokerPaths) -> int | None:
    try:
        pid = int(bp.pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def _cluster_id() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def _format_storage(cfg: Config, bp: BrokerPaths) -> None:
    if (bp.data / "meta.properties").exists():
        return
    bp.data.mkdir(parents=True, exist_ok=True)
    cmd = [_java(), "-cp", _classpath(cfg), f"-Dlog4j2.configurationFile={bp.log4j}",
           "kafka.tools.StorageTool", "format",
           # "--cluster-id=" form: a random id may start with "-", which argparse would take for an option.
           f"--cluster-id={_cluster_id()}", "--config", str(bp.config)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise BrokerError(f"formatting KRaft storage in {bp.data} failed:\n{proc.stdout}{proc.stderr}")


def status(cfg: Config) -> BrokerStatus:
    bp = paths(cfg)
    host = cfg.get("kafka.embedded.host", type_=str)
    port = cfg.get("kafka.embedded.port", type_=int)
    pid = _read_pid(bp)
    reachable = port_open(host, port)
    if pid and reachable:
        detail = f"running (pid {pid}) on {host}:{port}"
    elif pid:
        detail = f"process {pid} alive but {host}:{port} not accepting connections (starting, or stuck: see {bp.logs})"
    elif reachable:
        detail = f"{host}:{port} is answered by a process this project did not start"
    else:
        detail = "not running (start it with `brain kafka start`)"
    return BrokerStatus(bool(pid), pid, host, port, reachable, detail)


def _ready(cfg: Config) -> bool:
    """The broker answers a metadata request (not just an open socket)."""
    import logging

    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    # Refused connections are expected while the broker boots; don't log each one.
    kafka_log = logging.getLogger("kafka")
    level = kafka_log.level
    kafka_log.setLevel(logging.CRITICAL)
    try:
        admin = KafkaAdminClient(bootstrap_servers=cfg.get("kafka.bootstrap_servers"),
                                 request_timeout_ms=3000)
        try:
            admin.list_topics()
            return True
        finally:
            admin.close()
    except (KafkaError, OSError, ValueError):
        return False
    finally:
        kafka_log.setLevel(level)


def start(cfg: Config, log=print) -> BrokerStatus:
    """Start the broker unless it already runs; return once it serves requests."""
    if not cfg.get("kafka.embedded.managed", type_=bool):
        raise BrokerError("kafka.embedded.managed is false in this environment: the broker is external "
                          f"({cfg.get('kafka.bootstrap_servers')})")
    bp = paths(cfg)
    current = status(cfg)
    if current.running:
        if not wait_until_ready(lambda: _ready(cfg), float(cfg.get("kafka.embedded.start_timeout_s", 90))):
            raise BrokerError(f"broker pid {current.pid} runs but does not answer; see {bp.logs}/server.log")
        log(f"kafka: already running (pid {current.pid}) on {current.host}:{current.port}")
        return status(cfg)
    if current.reachable:
        raise BrokerError(f"port {current.port} on {current.host} is taken by another process; stop it or "
                          f"set kafka.embedded.port (env BRAIN__KAFKA__EMBEDDED__PORT)")

    bp.logs.mkdir(parents=True, exist_ok=True)
    bp.config.write_text(server_properties(cfg, bp.data))
    bp.log4j.write_text(LOG4J2.format(logs=bp.logs))
    _format_storage(cfg, bp)

    heap = cfg.get("kafka.embedded.heap", "512m")
    cmd = [_java(), f"-Xms{heap}", f"-Xmx{heap}", "-XX:+UseG1GC", "-Djava.awt.headless=true",
           f"-Dlog4j2.configurationFile={bp.log4j}", f"-Dkafka.logs.dir={bp.logs}",
           "-cp", _classpath(cfg), "kafka.Kafka", str(bp.config)]
    with open(bp.stdout, "ab") as out:
        # A new session: the broker outlives the CLI process that started it.
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=bp.home)
    bp.pidfile.write_text(str(proc.pid))
    log(f"kafka: starting broker pid {proc.pid} on {cfg.get('kafka.embedded.host')}:"
        f"{cfg.get('kafka.embedded.port')} (data {bp.data})")

    timeout = float(cfg.get("kafka.embedded.start_timeout_s", 90))
    if not wait_until_ready(lambda: _ready(cfg), timeout, proc, every=0.5):
        last = tail(bp.logs / "server.log") or tail(bp.stdout)
        terminate(proc.pid, 10)
        raise BrokerError(f"broker did not become ready within {timeout:.0f}s; last log lines:\n{last}")
    st = status(cfg)
    log(f"kafka: ready ({st.detail})")
    return st


def stop(cfg: Config, timeout: float = 60.0, log=print) -> BrokerStatus:
    """Stop the broker gracefully and wait for its port to be free."""
    bp = paths(cfg)
    pid = _read_pid(bp)
    if pid is None:
        log("kafka: not running")
    else:
        log(f"kafka: stopping pid {pid}")
        terminate(pid, timeout)
    bp.pidfile.unlink(missing_ok=True)
    host, port = cfg.get("kafka.embedded.host"), cfg.get("kafka.embedded.port")
    deadline = time.monotonic() + 10
    while port_open(host, port) and time.monotonic() < deadline:
        time.sleep(0.2)
    st = status(cfg)
    if st.reachable:
        raise BrokerError(f"{host}:{port} still accepts connections after stop: {st.detail}")
    if pid is not None:
        log("kafka: stopped, port free")
    return st


