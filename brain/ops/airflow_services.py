"""Airflow's own services on PostgreSQL (`brain cluster up`): api-server, scheduler,
dag-processor and triggerer, with the LocalExecutor.

Instead of ``airflow standalone`` (SQLite, one process tree, a password printed to the
console) each component runs as its own process, as on a real deployment, against the
PostgreSQL server of brain.ops.postgres. All four get the same environment
(``airflow_services.env``): ``AIRFLOW_HOME`` under ``<paths.state>/cluster/airflow``, the DAG
folder ``dags/``, the metadata database URL, and the generated secrets every component
must share (the JWT secret that signs the task workers' and the UI's tokens, the API
secret key, the Fernet key). Auth is on: Airflow 3's SimpleAuthManager with one admin user
whose password is generated into ``<secrets>/airflow-admin-password`` (the passwords file
Airflow reads is written from it, so Airflow never generates or prints one).

Only the api-server listens (127.0.0.1:``cluster.airflow.api_port``); the scheduler and the
triggerer run with ``--skip-serve-logs`` (their log servers would bind every interface, and
with the LocalExecutor the api-server reads the task logs from disk). Ready means every
component's process is alive and the api-server's ``/api/v2/monitor/health`` reports the
metadata database, the scheduler, the dag-processor and the triggerer healthy (their
heartbeats in the database). Each process leads its own process group, so stopping one
also stops what it started (task processes, their Spark drivers).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from brain.config import Config
from brain.ops import generated_secrets, postgres
from brain.ops.processes import ProcessHome, cmdline, pid_alive, port_open, reap, tail, wait_until_ready

HOST = "127.0.0.1"
ADMIN_SECRET = "airflow-admin-password"
JWT_SECRET = "airflow-jwt-secret"
API_SECRET_KEY = "airflow-api-secret-key"
FERNET_SECRET = "airflow-fernet-key"
PASSWORDS_FILE = "airflow-passwords.json"
# The components in start order; stopped in reverse (the api-server last: running tasks report to it).
COMPONENTS = ("api-server", "dag-processor", "scheduler", "triggerer")
HEALTH_KEYS = {"scheduler": "scheduler", "dag-processor": "dag_processor", "triggerer": "triggerer"}


class AirflowServiceError(Exception):
    pass


@dataclass(frozen=True)
class Component:
    name: str
    args: tuple[str, ...]
    home: ProcessHome


def airflow_home(cfg: Config) -> Path:
    return cfg.path("paths.state") / str(cfg.get("cluster.airflow.state_dir", "cluster/airflow"))


def api_port(cfg: Config) -> int:
    return cfg.get("cluster.airflow.api_port", type_=int)


def base_url(cfg: Config) -> str:
    return f"http://{HOST}:{api_port(cfg)}"


def components(cfg: Config) -> list[Component]:
    run = airflow_home(cfg) / "run"
    args = {
        "api-server": ("api-server", "--host", HOST, "--port", str(api_port(cfg)), "--workers", "1"),
        "dag-processor": ("dag-processor",),
        "scheduler": ("scheduler", "--skip-serve-logs"),
        "triggerer": ("triggerer", "--skip-serve-logs"),
    }
    return [Component(n, args[n], ProcessHome(run, n)) for n in COMPONENTS]


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def ensure_secrets(cfg: Config) -> None:
    """Generate what does not exist yet; write the SimpleAuthManager passwords file from the admin secret."""
    password = generated_secrets.ensure(cfg, ADMIN_SECRET)
    generated_secrets.ensure(cfg, JWT_SECRET)
    generated_secrets.ensure(cfg, API_SECRET_KEY)
    generated_secrets.ensure(cfg, FERNET_SECRET, _fernet_key)
    path = generated_secrets.secret_path(cfg, PASSWORDS_FILE)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps({admin_user(cfg): password}) + "\n")


def admin_user(cfg: Config) -> str:
    return str(cfg.get("cluster.airflow.admin_user", "admin"))


def env(cfg: Config, environ=None) -> dict[str, str]:
    """The environment of every Airflow process (and of the tasks they run): this process's
    environment (BRAIN__* settings reach the tasks), the project's Airflow settings, then the
    cluster's, which win over any SQLite or other AIRFLOW_HOME set for `make airflow` or tests."""
    from brain.orchestration.airflow_env import airflow_env

    read = lambda name: generated_secrets.read(cfg, name)  # noqa: E731
    out = dict(os.environ if environ is None else environ)
    out.update(airflow_env(cfg))
    venv_bin = str(Path(sys.executable).parent)
    out.update({
        "AIRFLOW_HOME": str(airflow_home(cfg)),
        "PATH": venv_bin + os.pathsep + out.get("PATH", ""),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": postgres.sqlalchemy_url(cfg),
        "AIRFLOW__CORE__EXECUTOR": str(cfg.get("cluster.airflow.executor", "LocalExecutor")),
        "AIRFLOW__CORE__PARALLELISM": str(cfg.get("cluster.airflow.parallelism", 2, type_=int)),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION":
            str(cfg.get("cluster.airflow.dags_paused_at_creation", True, type_=bool)),
        # The DAG files read conf/ at parse time; on a busy 2-core machine 30 s (the default) is short.
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "120",
        "AIRFLOW__CORE__FERNET_KEY": read(FERNET_SECRET),
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{admin_user(cfg)}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(generated_secrets.secret_path(cfg, PASSWORDS_FILE)),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url(cfg)}/execution/",
        "AIRFLOW__API__BASE_URL": base_url(cfg),
        "AIRFLOW__API__HOST": HOST,
        "AIRFLOW__API__PORT": str(api_port(cfg)),
        "AIRFLOW__API__SECRET_KEY": read(API_SECRET_KEY),
        "AIRFLOW__API_AUTH__JWT_SECRET": read(JWT_SECRET),
    })
    return out


def read_pid(c: Component) -> int | None:
    """The component's pid if its pidfile names a live Airflow process (setproctitle keeps "airflow")."""
    try:
        pid = int(c.home.pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    if not pid_alive(pid):
        return None
    args = cmdline(pid)
    return pid if args is None or any("airflow" in a for a in args) else None


def health(cfg: Config) -> dict | None:
    """The api-server's /api/v2/monitor/health (no login needed), or None if it does not answer."""
    try:
        with urllib.request.urlopen(f"{base_url(cfg)}/api/v2/monitor/health", timeout=5) as resp:
            return json.loads(resp.read())
    except (OSError, ValueError):
        return None


def _healthy(h: dict | None, key: str) -> bool:
    return bool(h) and (h.get(key) or {}).get("status") == "healthy"


def status(cfg: Config) -> dict:
    """Each component's process, and Airflow's own view of its health."""
    h = health(cfg)
    comps = []
    for c in components(cfg):
        pid = read_pid(c)
        key = HEALTH_KEYS.get(c.name)
        healthy = (h is not None and _healthy(h, "metadatabase")) if key is None else _healthy(h, key)
        detail = (f"{c.name} running (pid {pid}), {'healthy' if healthy else 'NOT healthy'}" if pid
                  else f"{c.name} not running")
        comps.append({"name": c.name, "running": bool(pid), "pid": pid, "healthy": healthy, "detail": detail,
                      "log": str(c.home.stdout)})
    return {
        "url": base_url(cfg),
        "admin_user": admin_user(cfg),
        "admin_password_file": str(generated_secrets.secret_path(cfg, ADMIN_SECRET)),
        "airflow_home": str(airflow_home(cfg)),
        "up": all(c["running"] and c["healthy"] for c in comps),
        "components": comps,
        "postgres": postgres.status(cfg).as_dict(),
    }


def migrate(cfg: Config, proc_env: dict[str, str], log=print) -> None:
    """``airflow db migrate``: creates or upgrades the schema; a no-op on an up-to-date database."""
    out_path = airflow_home(cfg) / "run" / "logs" / "db-migrate.out"
    out_path.parent.mkdir(parents=True, exist_ok=True)
    log("airflow: db migrate")
    with open(out_path, "ab") as out:
        res = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], stdout=out,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=proc_env,
                             cwd=airflow_home(cfg), timeout=900)
    if res.returncode != 0:
        raise AirflowServiceError(f"`airflow db migrate` failed (exit {res.returncode}); last log lines:\n"
                                  f"{tail(out_path, 20)}")


def up(cfg: Config, log=print) -> dict:
    """PostgreSQL, the schema, then every component not running (idempotent); return once all are healthy."""
    postgres.start(cfg, log)
    ensure_secrets(cfg)
    airflow_home(cfg).mkdir(parents=True, exist_ok=True)
    proc_env = env(cfg)
    missing = [c for c in components(cfg) if read_pid(c) is None]
    if not missing:
        log(f"airflow: all components already running ({base_url(cfg)})")
    else:
        if any(c.name == "api-server" for c in missing) and port_open(HOST, api_port(cfg)):
            raise AirflowServiceError(f"port {api_port(cfg)} on {HOST} is taken by another process; stop it or "
                                      f"change cluster.airflow.api_port")
        migrate(cfg, proc_env, log)
    launched = []
    for c in missing:
        c.home.logs.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "airflow", *c.args]
        with open(c.home.stdout, "ab") as out:
            out.write(f"\n=== {time.strftime('%Y-%m-%dT%H:%M:%S%z')} starting: {' '.join(cmd)}\n".encode())
            out.flush()
            # Its own session and process group: it outlives the CLI, and stop() ends its whole tree.
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True, cwd=airflow_home(cfg), env=proc_env)
        c.home.pidfile.write_text(str(proc.pid))
        launched.append((c, proc))
        log(f"airflow: starting {c.name} pid {proc.pid} (log {c.home.stdout})")

    timeout = float(cfg.get("cluster.airflow.start_timeout_s", 240))

    def ready() -> bool:
        return all(p.poll() is None for _, p in launched) and status(cfg)["up"]

    if not wait_until_ready(ready, timeout, every=2.0):
        dead = [c.name for c, p in launched if p.poll() is not None]
        logs = "\n".join(f"--- {c.name}:\n{tail(c.home.stdout, 12)}" for c, _ in launched)
        for c, _ in launched:
            _stop_component(cfg, c, 20)
        raise AirflowServiceError(
            f"Airflow did not become healthy within {timeout:.0f}s"
            + (f" ({', '.join(dead)} exited)" if dead else "")
            + f"; health: {health(cfg)}; last log lines:\n{logs}")
    log(f"airflow: healthy at {base_url(cfg)} (user {admin_user(cfg)!r}, password in "
        f"{generated_secrets.secret_path(cfg, ADMIN_SECRET)})")
    return status(cfg)


def _group_members(pgid: int) -> list[int]:
    """Live processes of process group ``pgid`` (from /proc): the component and everything it started."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and fields[0] != "Z" and int(fields[2]) == pgid:
            out.append(int(entry.name))
    return out


def _stop_component(cfg: Config, c: Component, timeout: float, log=lambda m: None) -> None:
    pid = read_pid(c)
    if pid is not None:
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + timeout
        while _group_members(pid) and time.monotonic() < deadline:
            reap(pid)
            time.sleep(0.3)
        if _group_members(pid):
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            time.sleep(0.5)
        reap(pid)
        log(f"airflow: {c.name} (pid {pid}) stopped")
    c.home.pidfile.unlink(missing_ok=True)


def down(cfg: Config, log=print) -> dict:
    """Stop the components (scheduler's task processes with it), then PostgreSQL; ports free."""
    timeout = float(cfg.get("cluster.airflow.stop_timeout_s", 60))
    for c in reversed(components(cfg)):
        _stop_component(cfg, c, timeout, log)
    deadline = time.monotonic() + 10
    while port_open(HOST, api_port(cfg)) and time.monotonic() < deadline:
        time.sleep(0.2)
    if port_open(HOST, api_port(cfg)):
        raise AirflowServiceError(f"{HOST}:{api_port(cfg)} still accepts connections after stopping the api-server")
    postgres.stop(cfg, log)
    return status(cfg)


def summary(st: dict) -> list[str]:
    """Lines for `brain cluster status`."""
    lines = [f"airflow: {'healthy' if st['up'] else 'NOT healthy'} at {st['url']} (login {st['admin_user']}, "
             f"password in {st['admin_password_file']})"]
    lines += [f"  {c['detail']}" for c in st["components"]]
    lines.append(f"  {st['postgres']['detail']}")
    return lines
