"""A three-node KRaft Kafka cluster on 127.0.0.1 (`brain cluster up`).

Each node is the embedded broker's kind of JVM (brain.ops.broker: same jars, same
properties, same launch) with its own node id, ports and log dir under
``<paths.state>/cluster/kafka-<id>``; every node is broker and controller, all
three are the static controller quorum (``controller.quorum.voters``) and their
storage is formatted with one shared cluster id. Internal topics get the
replication of ``kafka.topics`` (3 copies, 2 in sync on the loopback cluster).

With ``kafka.security: sasl_ssl`` every node gets the single broker's security
(brain.ops.broker.security_properties: a SASL_SSL listener with SCRAM-SHA-512, the
controller listener on mutual TLS, the StandardAuthorizer denying what no ACL allows):
one broker certificate from the project's CA serves all three (they share the host),
each node's storage is formatted with the admin's SCRAM credential, the readiness
checks log in as the admin, and ``up`` creates the service principals and their ACLs
(brain.ops.kafka_users) once the brokers answer.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from brain.config import Config
from brain.ingest import kafka_security
from brain.ops import broker
from brain.ops.processes import ProcessStatus, port_open, process_status, tail, terminate, wait_until_ready

# Loopback only, whatever kafka.security says: with plaintext the brokers have no authentication.
HOST = "127.0.0.1"


class KafkaClusterError(Exception):
    pass


def home(cfg: Config) -> Path:
    return cfg.path("paths.state") / "cluster"


def nodes(cfg: Config) -> list[broker.KafkaNode]:
    """The nodes in cluster.kafka.ports order, node ids 1, 2, 3, ..."""
    ports = cfg.get("cluster.kafka.ports", type_=list)
    cports = cfg.get("cluster.kafka.controller_ports", type_=list)
    if len(ports) != len(cports) or not ports:
        raise KafkaClusterError(f"cluster.kafka.ports {ports} and cluster.kafka.controller_ports {cports} must "
                                f"name one port each per node (set in {cfg.source_of('cluster.kafka')})")
    voters = ",".join(f"{i}@{HOST}:{c}" for i, c in enumerate(cports, 1))
    rf = cfg.get("kafka.topics.replication_factor", type_=int)
    if rf > len(ports):
        raise KafkaClusterError(f"kafka.topics.replication_factor = {rf} but the cluster has {len(ports)} nodes")
    return [broker.KafkaNode(i, HOST, int(p), int(c), voters, rf,
                             cfg.get("kafka.topics.min_insync_replicas", type_=int),
                             cfg.get("kafka.topic_partitions", type_=int))
            for i, (p, c) in enumerate(zip(ports, cports), 1)]


def bootstrap(cfg: Config) -> str:
    return ",".join(n.bootstrap for n in nodes(cfg))


def node_paths(cfg: Config, node: broker.KafkaNode) -> broker.BrokerPaths:
    return broker.BrokerPaths(home(cfg) / f"kafka-{node.node_id}")


def _cluster_id(cfg: Config) -> str:
    """One id for every node's storage, kept so a node formatted later joins the same cluster."""
    path = home(cfg) / "kafka-cluster-id"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(broker._cluster_id())
    return path.read_text().strip()


def node_status(cfg: Config, node: broker.KafkaNode) -> ProcessStatus:
    bp = node_paths(cfg, node)
    return process_status(broker.read_pid(bp), node.host, node.port, bp.logs, name=f"node {node.node_id}")


def _security(cfg: Config) -> dict:
    """kafka-python settings of the admin principal (PLAINTEXT unless kafka.security is sasl_ssl)."""
    return kafka_security.client_security(cfg, kafka_security.admin_user(cfg)).python()


def live_brokers(cfg: Config) -> int:
    """Brokers the cluster reports as live (0 if none answers)."""
    for n in range(len(nodes(cfg)), 0, -1):
        if broker.answers(bootstrap(cfg), brokers=n, security=_security(cfg)):
            return n
    return 0


def replication(cfg: Config) -> dict | None:
    """Every partition's replicas against its in-sync replicas (ISR), from the brokers' metadata:
    how many partitions are under-replicated and which brokers are missing from an ISR. A broker
    that is live but still copying what it missed while down is not in sync yet. None if no
    broker answers."""
    topics = broker.ask_quietly(bootstrap(cfg), lambda admin: admin.describe_topics(), 5000, _security(cfg))
    return None if topics is None else replication_summary(topics)


def replication_summary(topics: list[dict]) -> dict:
    """Under-replicated partitions and lagging brokers of kafka-python's describe_topics() (pure)."""
    partitions, under, lagging = 0, 0, set()
    for t in topics:
        for p in t.get("partitions", []):
            partitions += 1
            missing = set(p.get("replica_nodes", [])) - set(p.get("isr_nodes", []))
            if missing:
                under += 1
                lagging |= missing
    return {"partitions": partitions, "under_replicated": under, "lagging_brokers": sorted(lagging)}


def startup_failure(server_log: Path, lines: int = 4) -> str:
    """The last error lines of a node's log (Kafka logs why it gave up at ERROR or FATAL, the
    exception on the line after): what an operator reads first when a node will not start."""
    try:
        text = server_log.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    picked = [i for i, line in enumerate(text) if " FATAL " in line or " ERROR " in line]
    keep = sorted({j for i in picked[-lines:] for j in (i, i + 1) if j < len(text)})
    return "\n".join(text[j][:500] for j in keep)


def _ports_held(node: broker.KafkaNode) -> bool:
    return port_open(HOST, node.port) or port_open(HOST, node.controller_port)


def up(cfg: Config, log=print) -> list[ProcessStatus]:
    """Start the nodes that do not run (all before waiting: a controller needs a quorum to
    finish starting), then wait until every node is a live broker."""
    launched = []
    cluster_id = _cluster_id(cfg)
    release_s = float(cfg.get("cluster.kafka.port_release_s", 10))
    for node in nodes(cfg):
        st = node_status(cfg, node)
        if st.running:
            log(f"kafka: node {node.node_id} already running (pid {st.pid}) on {node.bootstrap}")
            continue
        # A node SIGKILLed a moment ago is gone from the process table (a zombie) before all its
        # threads have exited and closed its sockets: give its ports that moment.
        if not wait_until_ready(lambda n=node: not _ports_held(n), release_s, every=0.2):
            raise KafkaClusterError(f"port {node.port} or {node.controller_port} on {HOST} is taken by another "
                                    f"process (still after {release_s:.0f}s); stop it or change "
                                    "cluster.kafka.ports / controller_ports")
        proc = broker.launch(cfg, node_paths(cfg, node), node, cluster_id)
        launched.append((node, proc))
        log(f"kafka: starting node {node.node_id} pid {proc.pid} on {node.bootstrap} "
            f"(data {node_paths(cfg, node).data})")
    count = len(nodes(cfg))
    timeout = float(cfg.get("cluster.kafka.start_timeout_s", 120))
    # A node that was killed can give up while rejoining on a loaded machine (it must register
    # and catch up with the quorum within Kafka's own startup deadlines, then exits): start it
    # again, as a service manager's restart-on-failure would, a bounded number of times.
    attempts = int(cfg.get("cluster.kafka.start_attempts", 3))
    started = {node.node_id: 1 for node, _ in launched}
    deadline = time.monotonic() + timeout
    try:
        while True:
            for i, (node, proc) in enumerate(launched):
                code = proc.poll()
                if code is None:
                    continue
                server_log = node_paths(cfg, node).logs / "server.log"
                why = startup_failure(server_log)
                if started[node.node_id] >= attempts:
                    raise KafkaClusterError(f"kafka node {node.node_id} exited while starting (exit code {code}), "
                                            f"{attempts} times; its log {server_log} says:\n{why}")
                log(f"kafka: node {node.node_id} exited while starting (exit code {code}); starting it again. "
                    f"Its log says:\n{why or '(nothing at ERROR)'}")
                launched[i] = (node, broker.launch(cfg, node_paths(cfg, node), node, cluster_id))
                started[node.node_id] += 1
                deadline = time.monotonic() + timeout
            # Every node is alive here (one that had exited was just started again). A node opens its
            # port only once it has finished starting, and the brokers' metadata can still list a node
            # killed seconds ago (until its session times out): both must hold.
            if (all(port_open(HOST, n.port) for n, _ in launched)
                    and broker.answers(bootstrap(cfg), brokers=count, security=_security(cfg))):
                break
            if time.monotonic() > deadline:
                logs = "\n".join(f"--- node {n.node_id}:\n{tail(node_paths(cfg, n).logs / 'server.log', 10)}"
                                 for n, _ in launched)
                raise KafkaClusterError(f"the Kafka cluster did not report {count} live brokers within "
                                        f"{timeout:.0f}s; last log lines:\n{logs}")
            time.sleep(1.0)
    except KafkaClusterError:
        for _, proc in launched:
            terminate(proc.pid, 10)
        raise
    log(f"kafka: {count} brokers live at {bootstrap(cfg)}")
    if launched:
        # A node that was down rejoins every ISR only once it has copied what it missed; until then
        # a second failure would leave its partitions below min.insync.replicas.
        def caught_up() -> bool:
            rep = replication(cfg)
            return rep is not None and rep["under_replicated"] == 0

        if not wait_until_ready(caught_up, timeout, every=1.0):
            raise KafkaClusterError(f"the Kafka cluster has {count} live brokers but partitions are still "
                                    f"under-replicated after {timeout:.0f}s: {replication(cfg)}")
        log("kafka: every partition's replicas in sync")
    if kafka_security.secured(cfg):
        from brain.ops import kafka_users

        # As `brain kafka start` does for the single broker: the pipeline's and the metrics reader's
        # logins and ACLs, and brain.metrics (idempotent; existing logins keep their passwords).
        made = kafka_users.ensure_service_principals(cfg)
        log(f"kafka: sasl_ssl on, ACLs of {', '.join(made)} in place")
    return [node_status(cfg, n) for n in nodes(cfg)]


def down(cfg: Config, log=print) -> list[ProcessStatus]:
    """Stop every node at once (one by one, the last ones would wait for a quorum that is gone)."""
    timeout = float(cfg.get("cluster.kafka.stop_timeout_s", 60))

    def stop(node: broker.KafkaNode) -> None:
        pid = broker.halt(node_paths(cfg, node), node.host, [node.port, node.controller_port], timeout)
        if pid is not None:
            log(f"kafka: node {node.node_id} (pid {pid}) stopped")

    with ThreadPoolExecutor(max_workers=len(nodes(cfg))) as pool:
        list(pool.map(stop, nodes(cfg)))
    out = [node_status(cfg, n) for n in nodes(cfg)]
    taken = [s.detail for s in out if s.reachable]
    if taken:
        raise KafkaClusterError("ports still accept connections after stop: " + "; ".join(taken))
    return out
