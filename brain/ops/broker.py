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
from brain.ingest import kafka_security
from brain.jars import kafka_jars
from brain.ops import kafka_tls
from brain.ops.processes import (
    ProcessHome,
    ProcessStatus,
    cmdline,
    pid_alive,
    port_open,
    process_status,
    tail,
    terminate,
    wait_until_ready,
)


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


@dataclass(frozen=True)
class KafkaNode:
    """One KRaft node (broker + controller in one JVM) and what it must know of its cluster."""
    node_id: int
    host: str
    port: int
    controller_port: int
    voters: str                 # controller.quorum.voters: every controller, "id@host:port,..."
    replication_factor: int     # internal topics, and topics created without one
    min_insync_replicas: int
    partitions: int

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"


def embedded_node(cfg: Config) -> KafkaNode:
    """The single embedded broker (`brain kafka start`): node 1, its own only voter."""
    host = cfg.get("kafka.embedded.host", type_=str)
    cport = cfg.get("kafka.embedded.controller_port", type_=int)
    # Single node: internal topics cannot have more replicas than brokers.
    return KafkaNode(1, host, cfg.get("kafka.embedded.port", type_=int), cport, f"1@{host}:{cport}", 1, 1,
                     cfg.get("kafka.embedded.default_partitions", 3))


def node_properties(node: KafkaNode, data_dir: Path, security: dict[str, str] | None = None) -> str:
    """The node's server.properties; ``security`` (security_properties) replaces the PLAINTEXT listeners."""
    rf, isr = str(node.replication_factor), str(node.min_insync_replicas)
    props = {
        "process.roles": "broker,controller",
        "node.id": str(node.node_id),
        "controller.quorum.voters": node.voters,
        "listeners": f"PLAINTEXT://{node.host}:{node.port},CONTROLLER://{node.host}:{node.controller_port}",
        "advertised.listeners": f"PLAINTEXT://{node.host}:{node.port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(data_dir),
        "num.partitions": str(node.partitions),
        "default.replication.factor": rf,
        "min.insync.replicas": isr,
        "offsets.topic.replication.factor": rf,
        "share.coordinator.state.topic.replication.factor": rf,
        "share.coordinator.state.topic.min.isr": isr,
        "transaction.state.log.replication.factor": rf,
        "transaction.state.log.min.isr": isr,
        "group.initial.rebalance.delay.ms": "0",
        # Topics are created on purpose (brain topics create); a typo in a
        # topic name must fail, not silently create an empty topic.
        "auto.create.topics.enable": "false",
        # Factories send batches; allow messages up to 8 MiB so an oversized
        # record reaches quarantine with a reason instead of being refused.
        "message.max.bytes": str(8 * 1024 * 1024),
        "log.retention.hours": "168",
    }
    props.update(security or {})
    return "".join(f"{k}={v}\n" for k, v in props.items())


def server_properties(cfg: Config, data_dir: Path) -> str:
    node = embedded_node(cfg)
    return node_properties(node, data_dir, security_properties(cfg, node) if kafka_security.secured(cfg) else None)


AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"


def security_properties(cfg: Config, node: KafkaNode) -> dict[str, str]:
    """kafka.security sasl_ssl: clients on a SASL_SSL listener (SCRAM over TLS), the controller
    listener on mutual TLS (KRaft cannot use SCRAM there: the credentials live in the metadata it
    serves), the StandardAuthorizer denying whatever no ACL allows; super users are the admin
    principal and the broker's own certificate (it registers with the controller)."""
    tf = kafka_tls.ensure(cfg, [node.host])
    admin = kafka_security.admin_user(cfg)
    mechanism = str(cfg.get("kafka.sasl.mechanism", "SCRAM-SHA-512"))
    keystore_secret = kafka_security.password(cfg, kafka_tls.KEYSTORE_SECRET)
    admin_secret = kafka_security.password(cfg, admin, create=True)
    login = kafka_security.ClientSecurity("SASL_SSL", mechanism, admin, admin_secret)
    return {
        "listeners": f"SASL_SSL://{node.host}:{node.port},CONTROLLER://{node.host}:{node.controller_port}",
        "advertised.listeners": f"SASL_SSL://{node.host}:{node.port}",
        "inter.broker.listener.name": "SASL_SSL",
        "listener.security.protocol.map": "CONTROLLER:SSL,SASL_SSL:SASL_SSL",
        "sasl.enabled.mechanisms": mechanism,
        "sasl.mechanism.inter.broker.protocol": mechanism,
        f"listener.name.sasl_ssl.{mechanism.lower()}.sasl.jaas.config": login.java()["sasl.jaas.config"],
        "ssl.keystore.type": "PKCS12",
        "ssl.keystore.location": str(tf.keystore),
        "ssl.keystore.password": keystore_secret,
        "ssl.key.password": keystore_secret,
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(tf.ca_crt),
        "listener.name.controller.ssl.client.auth": "required",
        "authorizer.class.name": AUTHORIZER,
        "allow.everyone.if.no.acl.found": "false",
        "super.users": f"User:{admin};{kafka_tls.broker_principal(cfg)}",
    }


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


def read_pid(bp: BrokerPaths) -> int | None:
    """The broker's pid, if the pidfile names a live JVM running this node's config. A node killed
    hard leaves its pidfile behind, and its pid may since belong to another process: never stop that."""
    try:
        pid = int(bp.pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    if not pid_alive(pid):
        return None
    args = cmdline(pid)
    if args is None:
        return pid  # no /proc to ask: trust the pidfile
    return pid if "kafka.Kafka" in args and str(bp.config) in args else None


def _cluster_id() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def _scram_marker(bp: BrokerPaths) -> Path:
    return bp.home / "scram-admin"


def _format_storage(cfg: Config, bp: BrokerPaths, cluster_id: str | None = None) -> None:
    """Format the node's log dir once; the nodes of one cluster share ``cluster_id``.

    With kafka.security sasl_ssl the admin's SCRAM credential goes into the metadata log here:
    KRaft takes the first SCRAM user only at format time (there is no one yet to ask for it)."""
    secured = kafka_security.secured(cfg)
    if (bp.data / "meta.properties").exists():
        if secured and not _scram_marker(bp).is_file():
            raise BrokerError(f"kafka.security is sasl_ssl but the broker's storage {bp.data} was formatted for "
                              "PLAINTEXT, without the admin's SCRAM credential, which KRaft only takes at format "
                              f"time: stop the broker and move {bp.data} aside (its topics go with it), then start "
                              "again, or set kafka.security back to plaintext")
        return
    bp.data.mkdir(parents=True, exist_ok=True)
    cmd = [_java(), "-cp", _classpath(cfg), f"-Dlog4j2.configurationFile={bp.log4j}",
           "kafka.tools.StorageTool", "format",
           # "--cluster-id=" form: a random id may start with "-", which argparse would take for an option.
           f"--cluster-id={cluster_id or _cluster_id()}", "--config", str(bp.config)]
    if secured:
        admin = kafka_security.admin_user(cfg)
        mechanism = str(cfg.get("kafka.sasl.mechanism", "SCRAM-SHA-512"))
        secret = kafka_security.password(cfg, admin, create=True)
        cmd += ["--add-scram", f"{mechanism}=[name={admin},password={secret}]"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise BrokerError(f"formatting KRaft storage in {bp.data} failed:\n{proc.stdout}{proc.stderr}")
    if secured:
        _scram_marker(bp).write_text(kafka_security.admin_user(cfg) + "\n")


def status(cfg: Config) -> BrokerStatus:
    bp = paths(cfg)
    host = cfg.get("kafka.embedded.host", type_=str)
    port = cfg.get("kafka.embedded.port", type_=int)
    return process_status(read_pid(bp), host, port, bp.logs, hint="brain kafka start")


def _ready(cfg: Config) -> bool:
    return answers(cfg.get("kafka.bootstrap_servers", type_=str),
                   security=kafka_security.client_security(cfg, kafka_security.admin_user(cfg)).python())


def ask_quietly(bootstrap: str, question, timeout_ms: int = 3000, security: dict | None = None, failed=None):
    """``question(admin)`` with a kafka-python admin client on ``bootstrap``; ``failed`` when the
    cluster does not answer. Refused connections are expected while a broker boots or after it
    died, so kafka-python's own log stays quiet meanwhile."""
    import logging

    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    kafka_log = logging.getLogger("kafka")
    level = kafka_log.level
    kafka_log.setLevel(logging.CRITICAL)
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=timeout_ms, **(security or {}))
        try:
            return question(admin)
        finally:
            admin.close()
    except (KafkaError, OSError, ValueError):
        return failed
    finally:
        kafka_log.setLevel(level)


def answers(bootstrap: str, brokers: int | None = None, security: dict | None = None) -> bool:
    """The broker(s) at ``bootstrap`` answer a metadata request (not just an open socket),
    and, if ``brokers`` is given, report at least that many live brokers. ``security``: the
    kafka-python settings of kafka_security.client_security (none: PLAINTEXT)."""
    def enough(admin) -> bool:
        admin.list_topics()
        if brokers is None:
            return True
        live = [b for b in admin.describe_cluster().get("brokers", []) if not b.get("is_fenced")]
        return len(live) >= brokers

    return ask_quietly(bootstrap, enough, 3000, security, failed=False)


def launch(cfg: Config, bp: BrokerPaths, node: KafkaNode, cluster_id: str | None = None) -> subprocess.Popen:
    """Write the node's config, format its storage if new, start its JVM; returns at once."""
    bp.logs.mkdir(parents=True, exist_ok=True)
    security = security_properties(cfg, node) if kafka_security.secured(cfg) else None
    # It may hold the keystore password and the admin's login: the owner's eyes only.
    bp.home.mkdir(parents=True, exist_ok=True)
    bp.config.touch(mode=0o600)
    bp.config.chmod(0o600)
    bp.config.write_text(node_properties(node, bp.data, security))
    bp.log4j.write_text(LOG4J2.format(logs=bp.logs))
    _format_storage(cfg, bp, cluster_id)

    heap = cfg.get("kafka.embedded.heap", "512m")
    cmd = [_java(), f"-Xms{heap}", f"-Xmx{heap}", "-XX:+UseG1GC", "-Djava.awt.headless=true",
           f"-Dlog4j2.configurationFile={bp.log4j}", f"-Dkafka.logs.dir={bp.logs}",
           "-cp", _classpath(cfg), "kafka.Kafka", str(bp.config)]
    with open(bp.stdout, "ab") as out:
        # A new session: the broker outlives the CLI process that started it.
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=bp.home)
    bp.pidfile.write_text(str(proc.pid))
    return proc


def halt(bp: BrokerPaths, host: str, ports: list[int], timeout: float) -> int | None:
    """Stop the node whose pidfile is in ``bp`` (graceful, then SIGKILL) and wait for its ports
    to be free; returns the pid it stopped, if any."""
    pid = read_pid(bp)
    if pid is not None:
        terminate(pid, timeout)
    bp.pidfile.unlink(missing_ok=True)
    deadline = time.monotonic() + 10
    while any(port_open(host, p) for p in ports) and time.monotonic() < deadline:
        time.sleep(0.2)
    return pid


def start(cfg: Config, log=print) -> BrokerStatus:
    """Start the broker unless it already runs; return once it serves requests."""
    if not cfg.get("kafka.embedded.managed", type_=bool):
        raise BrokerError("kafka.embedded.managed is false in this environment: the broker is external "
                          f"({cfg.get('kafka.bootstrap_servers')})")
    bp = paths(cfg)
    current = status(cfg)
    if current.running:
        if not wait_until_ready(lambda: _ready(cfg), float(cfg.get("kafka.embedded.start_timeout_s", 90))):
            raise BrokerError(f"broker pid {current.pid} runs but does not answer; see {bp.logs}/server.log "
                              f"(if kafka.security changed since it started, `brain kafka stop` and start it again)")
        log(f"kafka: already running (pid {current.pid}) on {current.host}:{current.port}")
        return status(cfg)
    if current.reachable:
        raise BrokerError(f"port {current.port} on {current.host} is taken by another process; stop it or "
                          f"set kafka.embedded.port (env BRAIN__KAFKA__EMBEDDED__PORT)")

    proc = launch(cfg, bp, embedded_node(cfg))
    log(f"kafka: starting broker pid {proc.pid} on {cfg.get('kafka.embedded.host')}:"
        f"{cfg.get('kafka.embedded.port')} (data {bp.data})")

    timeout = float(cfg.get("kafka.embedded.start_timeout_s", 90))
    if not wait_until_ready(lambda: _ready(cfg), timeout, proc, every=0.5):
        last = tail(bp.logs / "server.log") or tail(bp.stdout)
        terminate(proc.pid, 10)
        raise BrokerError(f"broker did not become ready within {timeout:.0f}s; last log lines:\n{last}")
    if kafka_security.secured(cfg):
        from brain.ops import kafka_users

        made = kafka_users.ensure_service_principals(cfg)
        log(f"kafka: sasl_ssl on, ACLs of {', '.join(made)} in place")
    st = status(cfg)
    log(f"kafka: ready ({st.detail})")
    return st


def stop(cfg: Config, timeout: float = 60.0, log=print) -> BrokerStatus:
    """Stop the broker gracefully and wait for its port to be free."""
    bp = paths(cfg)
    pid = read_pid(bp)
    log("kafka: not running" if pid is None else f"kafka: stopping pid {pid}")
    host, port = cfg.get("kafka.embedded.host"), cfg.get("kafka.embedded.port")
    halt(bp, host, [port], timeout)
    st = status(cfg)
    if st.reachable:
        raise BrokerError(f"{host}:{port} still accepts connections after stop: {st.detail}")
    if pid is not None:
        log("kafka: stopped, port free")
    return st


