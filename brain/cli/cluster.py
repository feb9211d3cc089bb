"""`brain cluster up|down|status`: the loopback cluster (brain.ops.cluster, docs/cluster.md)."""

from __future__ import annotations

import argparse
import json
import sys

DESCRIPTION = """\
Start, stop or inspect the loopback cluster that BRAIN_ENV=cluster-local points at:
three KRaft Kafka nodes (broker + controller each, ports cluster.kafka.ports), a Spark
standalone master (cluster.spark.master_port) with cluster.spark.workers workers, the
Spark Connect server (spark_connect.port) attached to that master, (with
object_store.managed) s3proxy holding the s3a:// lake and checkpoints (object_store.port),
and Airflow's api-server (UI and REST API on cluster.airflow.api_port), scheduler,
dag-processor and triggerer on a private PostgreSQL (cluster.postgres.port). Everything
binds to 127.0.0.1; pids, data and logs live under <paths.state>/cluster, generated
passwords and keys in <paths.state>/cluster/secrets (the Airflow login: user admin,
password in airflow-admin-password) and the store's keys in its own folder.

  up      idempotent; starts what does not run, returns once 3 brokers are live, the master
          lists every worker ALIVE, a Connect session has run a query and Airflow's health
          endpoint reports its database, scheduler, dag-processor and triggerer healthy
  down    graceful (SIGTERM, then SIGKILL after the stop timeouts), frees every port
  status  exit 0 if every part runs and answers, 3 if not

Run it with BRAIN_ENV=cluster-local: `up` refuses a config whose kafka.bootstrap_servers
or spark.master point elsewhere."""

EPILOG = """\
examples:
  BRAIN_ENV=cluster-local brain cluster up            start it (or find it running)
  BRAIN_ENV=cluster-local brain cluster status --json live brokers, ALIVE workers, pids, ports
  BRAIN_ENV=cluster-local brain topics create         topics with replication factor 3, min.insync.replicas 2
  BRAIN_ENV=cluster-local brain cluster down"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = DESCRIPTION
    p.epilog = EPILOG
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("action", choices=["up", "down", "status"],
                   help="up: idempotent, returns once every part answers; down: graceful, frees the ports; "
                        "status: exit 0 if up, 3 if not")
    p.add_argument("--json", action="store_true", help="print the resulting status as JSON")


def run(args, cfg) -> int:
    from brain.ops import cluster

    say = (lambda m: print(m, file=sys.stderr)) if args.json else print  # keep stdout pure JSON
    if args.action == "up":
        st = cluster.up(cfg, log=say)
    elif args.action == "down":
        st = cluster.down(cfg, log=say)
    else:
        st = cluster.status(cfg)
    print(json.dumps(st) if args.json else cluster.summary(st))
    if args.action == "status":
        return 0 if st["up"] else 3
    return 0
