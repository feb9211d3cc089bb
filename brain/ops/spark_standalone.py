"""A Spark standalone master and its workers on 127.0.0.1 (`brain cluster up`).

Run with the pip pyspark's own ``bin/spark-class`` (the Spark build the clients and
the Connect server use), pids and output under ``<paths.state>/cluster/spark-*``.
Ready means the master's web UI JSON (``/json/``) lists ``cluster.spark.workers``
workers as ALIVE: a worker that started but never registered does not count.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from brain.config import Config
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

# Loopback only: a standalone master runs whatever application reaches it.
HOST = "127.0.0.1"
MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
# Settings of the daemons themselves (not of applications), written to each one's properties file.
DAEMON_PROPERTIES = {
    # The REST submission server (port 6066) would be one more port, and one more way in; jobs
    # reach this master through spark:// or Spark Connect only.
    "spark.master.rest.enabled": "false",
    # A worker removes the work dirs of finished applications instead of keeping them forever.
    "spark.worker.cleanup.enabled": "true",
}


class SparkClusterError(Exception):
    pass


@dataclass(frozen=True)
class Daemon:
    """One master or worker JVM: what runs it and where it keeps its pid and output."""
    name: str           # spark-master, spark-worker-1, ...
    main_class: str
    port: int
    webui_port: int
    args: tuple[str, ...]
    home: ProcessHome


def master_url(cfg: Config) -> str:
    return f"spark://{HOST}:{cfg.get('cluster.spark.master_port', type_=int)}"


def _home(cfg: Config, name: str) -> ProcessHome:
    return ProcessHome(cfg.path("paths.state") / "cluster" / name, name)


def daemons(cfg: Config) -> list[Daemon]:
    """The master first, then the workers (pure)."""
    mport = cfg.get("cluster.spark.master_port", type_=int)
    mui = cfg.get("cluster.spark.master_webui_port", type_=int)
    out = [Daemon("spark-master", MASTER_CLASS, mport, mui,
                  ("--host", HOST, "--port", str(mport), "--webui-port", str(mui)), _home(cfg, "spark-master"))]
    base = cfg.get("cluster.spark.worker_base_port", type_=int)
    for i in range(1, cfg.get("cluster.spark.workers", type_=int) + 1):
        name = f"spark-worker-{i}"
        port, ui = base + 2 * (i - 1), base + 2 * (i - 1) + 1
        home = _home(cfg, name)
        out.append(Daemon(name, WORKER_CLASS, port, ui,
                          ("--host", HOST, "--port", str(port), "--webui-port", str(ui),
                           "--cores", str(cfg.get("cluster.spark.worker_cores", type_=int)),
                           "--memory", str(cfg.get("cluster.spark.worker_memory", type_=str)),
                           "--work-dir", str(home.home / "work"), master_url(cfg)),
                          home))
    return out


def spark_class() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent / "bin" / "spark-class"


def launch_env(cfg: Config, environ, launcher: Path) -> dict[str, str]:
    env = {k: v for k, v in environ.items() if k not in ("SPARK_REMOTE", "SPARK_CONNECT_MODE_ENABLED")}
    env["SPARK_HOME"] = str(launcher.parent.parent)  # the pip pyspark, not another Spark on the machine
    # Without it Spark binds its web UIs to every interface and advertises the host's first
    # non-loopback address; the executors a worker starts inherit it too.
    env["SPARK_LOCAL_IP"] = HOST
    env["SPARK_DAEMON_MEMORY"] = str(cfg.get("cluster.spark.daemon_memory", "512m"))
    # Python workers of executors run the project's interpreter, not `python3` from PATH.
    env["PYSPARK_PYTHON"] = sys.executable
    return env


def read_pid(d: Daemon) -> int | None:
    """The daemon's pid, if its pidfile names a live JVM of its class (not a reused pid)."""
    try:
        pid = int(d.home.pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    if not pid_alive(pid):
        return None
    args = cmdline(pid)
    return pid if args is None or d.main_class in args else None


def daemon_status(d: Daemon) -> ProcessStatus:
    return process_status(read_pid(d), HOST, d.port, d.home.stdout, name=d.name)


def master_state(cfg: Config) -> dict | None:
    """The master's own view (its web UI's /json/), or None if it does not answer."""
    port = cfg.get("cluster.spark.master_webui_port", type_=int)
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/json/", timeout=3) as resp:
            return json.loads(resp.read())
    except (OSError, ValueError):
        return None


def alive_workers(cfg: Config) -> int:
    state = master_state(cfg) or {}
    return sum(1 for w in state.get("workers", []) if w.get("state") == "ALIVE")


def up(cfg: Config, log=print) -> list[ProcessStatus]:
    """Start the master and workers that do not run; return once the master has them all ALIVE."""
    launcher = spark_class()
    if not os.access(launcher, os.X_OK):
        raise SparkClusterError(f"{launcher} is missing or not executable; reinstall pyspark with `make setup`")
    env = launch_env(cfg, os.environ, launcher)
    launched = []
    for d in daemons(cfg):
        st = daemon_status(d)
        if st.running:
            log(f"spark: {d.name} already running (pid {st.pid}) on {HOST}:{d.port}")
            continue
        if st.reachable or port_open(HOST, d.webui_port):
            raise SparkClusterError(f"port {d.port} or {d.webui_port} on {HOST} is taken by another process; "
                                    f"stop it or change cluster.spark ports")
        d.home.logs.mkdir(parents=True, exist_ok=True)
        props = d.home.home / "spark.properties"
        props.write_text("".join(f"{k}={v}\n" for k, v in DAEMON_PROPERTIES.items()))
        cmd = [str(launcher), d.main_class, "--properties-file", str(props), *d.args]
        with open(d.home.stdout, "ab") as out:
            out.write(f"\n=== {time.strftime('%Y-%m-%dT%H:%M:%S%z')} starting: {' '.join(cmd)}\n".encode())
            out.flush()
            # A new session: the daemon outlives the CLI. spark-class execs java, so the pid is the JVM's.
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True, cwd=d.home.home, env=env)
        d.home.pidfile.write_text(str(proc.pid))
        launched.append((d, proc))
        log(f"spark: starting {d.name} pid {proc.pid} on {HOST}:{d.port} (log {d.home.stdout})")

    want = cfg.get("cluster.spark.workers", type_=int)
    timeout = float(cfg.get("cluster.spark.start_timeout_s", 120))

    def ready() -> bool:
        return all(p.poll() is None for _, p in launched) and alive_workers(cfg) >= want

    if not wait_until_ready(ready, timeout, every=1.0):
        logs = "\n".join(f"--- {d.name}:\n{tail(d.home.stdout, 10)}" for d, _ in launched)
        for _, proc in launched:
            terminate(proc.pid, 10)
        raise SparkClusterError(f"the Spark master at {master_url(cfg)} did not list {want} ALIVE workers "
                                f"within {timeout:.0f}s; last log lines:\n{logs}")
    log(f"spark: master {master_url(cfg)} has {want} ALIVE workers")
    return [daemon_status(d) for d in daemons(cfg)]


def down(cfg: Config, log=print) -> list[ProcessStatus]:
    """Stop the workers (they kill their executors), then the master; wait for their ports to be free."""
    timeout = float(cfg.get("cluster.spark.stop_timeout_s", 30))
    for d in reversed(daemons(cfg)):
        pid = read_pid(d)
        if pid is not None:
            terminate(pid, timeout)
            log(f"spark: {d.name} (pid {pid}) stopped")
        d.home.pidfile.unlink(missing_ok=True)
        deadline = time.monotonic() + 10
        while port_open(HOST, d.port) and time.monotonic() < deadline:
            time.sleep(0.2)
    out = [daemon_status(d) for d in daemons(cfg)]
    taken = [s.detail for s in out if s.reachable]
    if taken:
        raise SparkClusterError("ports still accept connections after stop: " + "; ".join(taken))
    return out
