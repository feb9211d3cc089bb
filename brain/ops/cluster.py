"""`brain cluster up|down|status`: the loopback cluster (docs/cluster.md).

Three KRaft Kafka nodes (brain.ops.kafka_cluster), a Spark standalone master with
its workers (brain.ops.spark_standalone) and the Spark Connect server attached to
that master (brain.ops.spark_service, the same server `brain spark start` runs), when
object_store.managed the object store holding an s3a:// lake (brain.ops.object_store), and
Airflow's own services on a private PostgreSQL (brain.ops.airflow_services).
It manages what ``BRAIN_ENV=cluster-local`` points at, so ``up`` refuses a config
whose kafka.bootstrap_servers or spark.master name something else: the pipeline
would then run against another broker or Spark than the one just started.
"""

from __future__ import annotations

from brain.config import Config
from brain.ops import airflow_services, kafka_cluster, object_store, spark_service, spark_standalone


class ClusterError(Exception):
    pass


def check_config(cfg: Config) -> None:
    """The config's clients must point at the cluster this module starts."""
    if not cfg.get("cluster.managed", False, type_=bool):
        raise ClusterError(f"cluster.managed is false in environment {cfg.env!r}; the loopback cluster is "
                           f"BRAIN_ENV=cluster-local (conf/env/cluster-local.yaml)")
    wrong = []
    if cfg.get("kafka.bootstrap_servers") != kafka_cluster.bootstrap(cfg):
        wrong.append(f"kafka.bootstrap_servers is {cfg.get('kafka.bootstrap_servers')!r} "
                     f"(set in {cfg.source_of('kafka.bootstrap_servers')}), the cluster's brokers are "
                     f"{kafka_cluster.bootstrap(cfg)!r}")
    if cfg.get("spark.master") != spark_standalone.master_url(cfg):
        wrong.append(f"spark.master is {cfg.get('spark.master')!r} (set in {cfg.source_of('spark.master')}), "
                     f"the cluster's master is {spark_standalone.master_url(cfg)!r}")
    if _store(cfg) and cfg.get("object_store.endpoint", ""):
        wrong.append(f"object_store.endpoint is {cfg.get('object_store.endpoint')!r} (set in "
                     f"{cfg.source_of('object_store.endpoint')}), the cluster's store is the s3proxy it starts "
                     f"(leave the endpoint empty)")
    if wrong:
        raise ClusterError("this config does not point at the cluster it would start: " + "; ".join(wrong))


def _connect(cfg: Config) -> bool:
    return bool(cfg.get("cluster.spark.connect", True, type_=bool))


def _store(cfg: Config) -> bool:
    return bool(cfg.get("object_store.managed", False, type_=bool))


def _airflow(cfg: Config) -> bool:
    return bool(cfg.get("cluster.airflow.enabled", True, type_=bool))


def status(cfg: Config) -> dict:
    """Every part's process status, and the cluster's own view: live brokers, ALIVE workers."""
    nodes = [kafka_cluster.node_status(cfg, n).as_dict() for n in kafka_cluster.nodes(cfg)]
    live = kafka_cluster.live_brokers(cfg) if any(n["reachable"] for n in nodes) else 0
    rep = kafka_cluster.replication(cfg) if live else None
    # Live brokers missing from no partition's ISR (a restarted one counts once it has caught up).
    in_sync = min(live, len(nodes) - len(rep["lagging_brokers"])) if rep is not None else 0
    daemons = [spark_standalone.daemon_status(d).as_dict() for d in spark_standalone.daemons(cfg)]
    state = spark_standalone.master_state(cfg) or {}
    workers = sum(1 for w in state.get("workers", []) if w.get("state") == "ALIVE")
    connect = spark_service.status(cfg).as_dict() if _connect(cfg) else None
    want_workers = cfg.get("cluster.spark.workers", type_=int)
    store = object_store.status(cfg) if _store(cfg) else None
    airflow = airflow_services.status(cfg) if _airflow(cfg) else None
    up = (live == len(nodes) and in_sync == len(nodes) and all(n["running"] for n in nodes)
          and all(d["running"] for d in daemons) and workers >= want_workers
          and (connect is None or (connect["running"] and connect["reachable"]))
          and (store is None or store["ready"]) and (airflow is None or airflow["up"]))
    return {
        "env": cfg.env,
        "up": up,
        "kafka": {"bootstrap_servers": kafka_cluster.bootstrap(cfg), "live_brokers": live,
                  "in_sync_brokers": in_sync,
                  "under_replicated_partitions": rep["under_replicated"] if rep is not None else None,
                  "partitions": rep["partitions"] if rep is not None else None, "nodes": nodes},
        "spark": {"master_url": spark_standalone.master_url(cfg), "alive_workers": workers,
                  "workers_wanted": want_workers, "daemons": daemons,
                  "active_apps": [a.get("name") for a in state.get("activeapps", [])]},
        "spark_connect": connect,
        "object_store": store,
        "airflow": airflow,
    }


def up(cfg: Config, log=print) -> dict:
    """Start what does not run (idempotent); return once every part answers."""
    check_config(cfg)
    if _store(cfg):
        object_store.start(cfg, log)  # first: the Connect server's session may read the lake
    kafka_cluster.up(cfg, log)
    spark_standalone.up(cfg, log)
    if _connect(cfg):
        spark_service.start(cfg, log)
    if _airflow(cfg):
        # Last: its tasks reach Kafka and Spark, which are up now.
        airflow_services.up(cfg, log)
    return status(cfg)


def down(cfg: Config, log=print) -> dict:
    """Stop everything this module starts, the Connect server first (it is the master's application)."""
    if not cfg.get("cluster.managed", False, type_=bool):
        # In another environment the Connect pidfile is that environment's own server.
        raise ClusterError(f"cluster.managed is false in environment {cfg.env!r}; stop the loopback cluster "
                           f"with BRAIN_ENV=cluster-local brain cluster down")
    if _airflow(cfg):
        # First: its running tasks are drivers of the Spark cluster and clients of Kafka.
        airflow_services.down(cfg, log)
    if _connect(cfg):
        spark_service.stop(cfg, log)
    spark_standalone.down(cfg, log)
    kafka_cluster.down(cfg, log)
    if _store(cfg):
        object_store.stop(cfg, log)
    return status(cfg)


def summary(st: dict) -> str:
    """`brain cluster status` for a terminal."""
    k, s, c = st["kafka"], st["spark"], st["spark_connect"]
    lines = [f"cluster ({st['env']}): {'up' if st['up'] else 'NOT up'}",
             f"kafka: {k['live_brokers']}/{len(k['nodes'])} brokers live, {k['in_sync_brokers']} in sync "
             f"({k['under_replicated_partitions']} of {k['partitions']} partitions under-replicated) at "
             f"{k['bootstrap_servers']}"]
    lines += [f"  {n['detail']}" for n in k["nodes"]]
    lines.append(f"spark: {s['alive_workers']}/{s['workers_wanted']} workers ALIVE at {s['master_url']}"
                 + (f"; applications: {', '.join(s['active_apps'])}" if s["active_apps"] else ""))
    lines += [f"  {d['detail']}" for d in s["daemons"]]
    if c is not None:
        lines.append(f"spark connect: {c['detail']}")
    if st.get("object_store") is not None:
        lines.append(f"object store: {st['object_store']['detail']} (bucket {st['object_store']['bucket']})")
    if st.get("airflow") is not None:
        lines += airflow_services.summary(st["airflow"])
    return "\n".join(lines)
