"""The warm Spark Connect server: one long-lived Spark driver on 127.0.0.1.

Started with pyspark's own ``spark-submit`` (its ``jars/`` already hold the
Connect server, so no ``--jars`` or application jar is needed) and configured
with exactly the settings of the in-process session (``brain.spark.session_conf``),
so a client attached at ``sc://localhost:<spark_connect.port>`` sees the same
Delta, Kafka and warehouse setup. The server binds to 127.0.0.1 and takes only
clients that present its token (``client_url``): any local user could otherwise
attach and read or write the whole lake. The token is a generated secret
(brain.ops.generated_secrets, git-ignored state). Pid and log live under
``<paths.state>/spark_connect``. ``start`` is idempotent and returns once a
Connect session has run a query; ``stop`` is graceful (SIGTERM, then SIGKILL)
and waits until the port is free.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

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
from brain.spark import SERVICE_TOKEN_SECRET, service_url

# Loopback only, not configurable: its only authentication is a pre-shared token over plaintext
# gRPC, and a client that gets in can read and write the whole lake.
HOST = "127.0.0.1"
MAIN_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
# The server reads its token from this variable (spark.connect.authenticate.token would put it
# on the command line, readable by every local user in the process list).
TOKEN_ENV = "SPARK_CONNECT_AUTHENTICATE_TOKEN"
# Settings spark-submit takes as options of its own rather than as --conf.
_OWN_OPTIONS = {"spark.master": "--master", "spark.app.name": "--name"}


class SparkServiceError(Exception):
    pass


@dataclass(frozen=True)
class ServiceStatus(ProcessStatus):
    url: str = ""


def paths(cfg: Config) -> ProcessHome:
    return ProcessHome(cfg.path("paths.state") / cfg.get("spark_connect.state_dir", "spark_connect", type_=str),
                       "server")


def port(cfg: Config) -> int:
    return cfg.get("spark_connect.port", type_=int)


def url(cfg: Config) -> str:
    """Where clients attach, without the token (safe to print)."""
    return service_url(cfg)


def token(cfg: Config) -> str:
    """The server's pre-shared token, generated on first use."""
    from brain.ops import generated_secrets

    return generated_secrets.ensure(cfg, SERVICE_TOKEN_SECRET)


def secret_file(cfg: Config) -> Path:
    from brain.ops import generated_secrets

    return generated_secrets.secret_path(cfg, SERVICE_TOKEN_SECRET)


def client_url(cfg: Config) -> str:
    """``url`` with the token: what a client attaches with. Never print it."""
    return f"{url(cfg)}/;token={token(cfg)}"


def spark_submit() -> Path:
    """pyspark's bundled launcher (the same Spark build the client speaks to)."""
    import pyspark

    return Path(pyspark.__file__).parent / "bin" / "spark-submit"


def server_conf(cfg: Config) -> dict[str, str]:
    """The in-process session's settings plus the server's own (pure)."""
    from brain.spark import session_conf

    conf = session_conf(cfg)
    conf["spark.app.name"] = f"{conf.get('spark.app.name', 'enterprise-brain')}-connect"
    for key, value in (cfg.get("spark_connect.extra_conf", {}) or {}).items():
        conf[str(key)] = str(value)
    # Last, so extra_conf cannot open the server to the network or move it off its port.
    conf["spark.connect.grpc.binding.address"] = HOST
    conf["spark.connect.grpc.binding.port"] = str(port(cfg))
    return conf


def command(cfg: Config, launcher: Path | None = None) -> list[str]:
    """The spark-submit command line that runs the server (pure but for locating pyspark)."""
    conf = server_conf(cfg)
    cmd = [str(launcher or spark_submit()), "--class", MAIN_CLASS]
    for key, option in _OWN_OPTIONS.items():
        if key in conf:
            cmd += [option, conf.pop(key)]
    for key, value in conf.items():
        cmd += ["--conf", f"{key}={value}"]
    return cmd


def launch_env(environ: Mapping[str, str], launcher: Path, python: str, token: str,
               zygote_socket: Path | None = None, worker_python: Path | None = None) -> dict[str, str]:
    """The server's environment: pyspark's Spark, our Python, its token, never in Connect-client mode itself.

    With ``zygote_socket`` the server's Python workers start through ``worker_python`` (the
    launcher script), which has the zygote fork foreachBatch workers instead of importing anew."""
    env = {k: v for k, v in environ.items() if k not in ("SPARK_REMOTE", "SPARK_CONNECT_MODE_ENABLED")}
    env[TOKEN_ENV] = token
    # A SPARK_HOME pointing at another Spark would run that build's server, not the client's.
    env["SPARK_HOME"] = str(launcher.parent.parent)
    # 1 would make spark-submit start a client application against a server, not the server.
    env["SPARK_CONNECT_MODE"] = "0"
    # The Connect planner starts the Python workers of foreachBatch and UDFs with $PYSPARK_PYTHON
    # (else `python3` from PATH), ignoring spark.pyspark.python.
    env["PYSPARK_PYTHON"] = env["PYSPARK_DRIVER_PYTHON"] = python
    if zygote_socket is not None and worker_python is not None:
        from brain.ops import pyworker_launch

        env["PYSPARK_PYTHON"] = str(worker_python)
        env[pyworker_launch.SOCKET_ENV] = str(zygote_socket)
        env[pyworker_launch.PYTHON_ENV] = python
    return env


# ---------------------------------------------------------------- warm Python workers (zygote)

def zygote_socket(cfg: Config) -> Path:
    """Next to the pidfile, or under /tmp when that path is too long for a Unix socket (108 bytes)."""
    import hashlib
    import tempfile

    near = paths(cfg).home / "pyworker.sock"
    if len(str(near)) < 100:
        return near
    return Path(tempfile.gettempdir()) / f"brain-pyworker-{hashlib.sha1(str(near).encode()).hexdigest()[:12]}.sock"


def _zygote_pidfile(cfg: Config) -> Path:
    return paths(cfg).home / "pyworker-zygote.pid"


def worker_python_script(python: str) -> str:
    """The server's PYSPARK_PYTHON: the launcher under the real interpreter (pure)."""
    from brain.ops import pyworker_launch

    return f'#!/bin/sh\nexec "{python}" -I -S "{pyworker_launch.__file__}" "$@"\n'


def _start_zygote(cfg: Config, python: str, log) -> Path | None:
    """Start the zygote (brain.ops.pyworker_zygote) unless spark_connect.warm_python_workers is off;
    the launcher script the server runs as Python, or None."""
    if not cfg.get("spark_connect.warm_python_workers", True, type_=bool):
        return None
    sp = paths(cfg)
    _stop_zygote(cfg)
    script = sp.home / "python-worker"
    script.write_text(worker_python_script(python))
    script.chmod(0o700)
    with _private_log(sp.logs / "pyworker-zygote.out") as out:
        # Not in Connect-client mode: the zygote imports pyspark as a plain worker would.
        env = {k: v for k, v in os.environ.items() if k not in ("SPARK_REMOTE", "SPARK_CONNECT_MODE_ENABLED")}
        proc = subprocess.Popen([python, "-m", "brain.ops.pyworker_zygote", str(zygote_socket(cfg))],
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=sp.home, env=env)
    _zygote_pidfile(cfg).write_text(str(proc.pid))
    log(f"spark: warm Python worker parent pid {proc.pid} (foreachBatch workers fork from it)")
    return script


def _stop_zygote(cfg: Config) -> None:
    try:
        pid = int(_zygote_pidfile(cfg).read_text().strip())
    except (OSError, ValueError):
        return
    args = cmdline(pid)
    if pid_alive(pid) and (args is None or "brain.ops.pyworker_zygote" in " ".join(args)):
        terminate(pid, 5)
    _zygote_pidfile(cfg).unlink(missing_ok=True)
    zygote_socket(cfg).unlink(missing_ok=True)


def _private_log(path: Path):
    """``path`` opened for appending, readable by its owner only: pyspark's foreachBatch worker
    prints its Connect URL, the server's token included, into the server's output."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.fchmod(fd, 0o600)  # a log created before this change
    return os.fdopen(fd, "ab")


def _read_pid(sp: ProcessHome) -> int | None:
    """The server's pid, if the pidfile names a live Spark Connect server (not a reused pid)."""
    try:
        pid = int(sp.pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    if not pid_alive(pid):
        return None
    args = cmdline(pid)
    return pid if args is None or MAIN_CLASS in args else None  # no /proc to ask: trust the pidfile


def _started_port(pid: int) -> int | None:
    """The port the server was started with (its command line), which the config may no longer say."""
    prefix = "spark.connect.grpc.binding.port="
    for arg in cmdline(pid) or []:
        if arg.startswith(prefix) and arg[len(prefix):].isdigit():
            return int(arg[len(prefix):])
    return None


def status(cfg: Config) -> ServiceStatus:
    sp = paths(cfg)
    p = port(cfg)
    st = process_status(_read_pid(sp), HOST, p, sp.stdout, hint="brain spark start")
    detail = f"running (pid {st.pid}) at {url(cfg)}" if st.pid and st.reachable else st.detail
    started = _started_port(st.pid) if st.pid and not st.reachable else None
    if started not in (None, p):
        detail = (f"process {st.pid} serves port {started}, but spark_connect.port is now {p}; "
                  f"restart it: `brain spark stop && brain spark start`")
    return ServiceStatus(st.running, st.pid, HOST, p, st.reachable, detail, url(cfg))


def probe(cfg: Config) -> None:
    """Run ``spark.range(1).count()`` in a fresh Connect session; raises what went wrong."""
    from pyspark.sql.connect.client.retries import DefaultPolicy
    from pyspark.sql.connect.session import SparkSession as RemoteSession

    # create(), not getOrCreate(): a session of its own, so stopping it never stops the caller's.
    session = RemoteSession.builder.remote(client_url(cfg)).create()
    try:
        # The default policy retries an unavailable server for 10 minutes; a probe must answer soon.
        session.client.set_retry_policies([DefaultPolicy(max_retries=3, max_backoff=2000)])
        # Reattachable executions are released asynchronously, after stop() closed the session:
        # every probe would log INVALID_HANDLE.SESSION_CLOSED errors in the server's log.
        session.client.disable_reattachable_execute()
        n = session.range(1).count()
        if n != 1:
            raise SparkServiceError(f"the server at {url(cfg)} counted {n} rows in range(1)")
    finally:
        session.stop()


def _ready(cfg: Config) -> bool:
    if not port_open(HOST, port(cfg)):
        return False
    try:
        probe(cfg)
        return True
    except Exception:  # noqa: BLE001 - still starting: the caller waits and asks again
        return False


def start(cfg: Config, log=print) -> ServiceStatus:
    """Start the server unless it already runs; return once a Connect session can run a query."""
    sp = paths(cfg)
    timeout = float(cfg.get("spark_connect.start_timeout_s", 180))
    current = status(cfg)
    if current.running:
        if not wait_until_ready(lambda: _ready(cfg), timeout, every=1.0):
            raise SparkServiceError(f"Spark Connect server pid {current.pid} runs but does not answer queries; "
                                    f"see {sp.stdout}, or restart it: `brain spark stop && brain spark start`")
        log(f"spark: already running (pid {current.pid}) at {current.url}")
        return status(cfg)
    if current.reachable:
        raise SparkServiceError(f"port {current.port} on {HOST} is taken by another process; stop it or set "
                                f"spark_connect.port (env BRAIN__SPARK_CONNECT__PORT)")

    launcher = spark_submit()
    if not os.access(launcher, os.X_OK):
        raise SparkServiceError(f"{launcher} is missing or not executable; reinstall pyspark with `make setup`")
    cmd = command(cfg, launcher)  # raises JarsMissing (saying to run `make jars`) before anything starts
    sp.logs.mkdir(parents=True, exist_ok=True)
    python = server_conf(cfg)["spark.pyspark.python"]
    worker_python = _start_zygote(cfg, python, log)
    with _private_log(sp.stdout) as out:
        out.write(f"\n=== {time.strftime('%Y-%m-%dT%H:%M:%S%z')} starting: {' '.join(cmd)}\n".encode())
        out.flush()
        # A new session: the server outlives the CLI process that started it. spark-submit execs
        # java, so this pid is the server's own.
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=sp.home,
                                env=launch_env(os.environ, launcher, python, token(cfg),
                                               zygote_socket(cfg) if worker_python else None, worker_python))
    sp.pidfile.write_text(str(proc.pid))
    log(f"spark: starting Spark Connect server pid {proc.pid} at {url(cfg)} "
        f"(master {cfg.get('spark.master')}, log {sp.stdout})")

    if not wait_until_ready(lambda: _ready(cfg), timeout, proc, every=1.0):
        exited = proc.poll()
        terminate(proc.pid, 10)
        _stop_zygote(cfg)
        sp.pidfile.unlink(missing_ok=True)
        why = f"exited with status {exited}" if exited is not None else f"did not answer within {timeout:.0f}s"
        raise SparkServiceError(f"Spark Connect server {why}; last log lines ({sp.stdout}):\n{tail(sp.stdout)}")
    st = status(cfg)
    log(f"spark: ready ({st.detail}); brain commands attach to it (spark.remote: auto); other clients "
        f"use {st.url}/;token=<the token in {secret_file(cfg)}>")
    return st


def stop(cfg: Config, log=print) -> ServiceStatus:
    """Stop the server gracefully and wait for its port to be free."""
    sp = paths(cfg)
    pid = _read_pid(sp)
    if pid is None:
        log("spark: not running")
    else:
        log(f"spark: stopping pid {pid}")
        terminate(pid, float(cfg.get("spark_connect.stop_timeout_s", 60)))
    _stop_zygote(cfg)
    sp.pidfile.unlink(missing_ok=True)
    deadline = time.monotonic() + 10
    while port_open(HOST, port(cfg)) and time.monotonic() < deadline:
        time.sleep(0.2)
    st = status(cfg)
    if st.reachable:
        raise SparkServiceError(f"{HOST}:{st.port} still accepts connections after stop: {st.detail}")
    if pid is not None:
        log("spark: stopped, port free")
    return st
