"""A private PostgreSQL server for Airflow's metadata database (`brain cluster up`).

Debian's ``postgresql`` binaries (``make postgres`` installs them), a cluster of the
project's own under ``<paths.state>/cluster/postgres``: ``data/`` (initdb), ``run/`` (its
Unix socket, so it never meets the system's ``/var/run/postgresql``), ``logs/`` and the
postmaster's pidfile. It listens on 127.0.0.1:``cluster.postgres.port`` only. PostgreSQL
refuses to run as root, so under root the server runs as ``cluster.postgres.os_user``
(Debian's package creates ``postgres``) and owns those folders.

Access: TCP needs a password (scram-sha-256); the socket trusts whoever reaches it, and its
folder is 0700, so that is the server's user (and root), which creates the Airflow role and
database. The role's password is generated into the git-ignored secrets folder
(brain.ops.generated_secrets): ``postgres-airflow-password``.
"""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
import time
from pathlib import Path

from brain.config import Config
from brain.ops import generated_secrets
from brain.ops.processes import (
    ProcessHome,
    ProcessStatus,
    cmdline,
    pid_alive,
    port_open,
    process_status,
    reap,
    tail,
    wait_until_ready,
)

HOST = "127.0.0.1"
PASSWORD_SECRET = "postgres-airflow-password"
DEBIAN_ROOT = Path("/usr/lib/postgresql")


class PostgresError(Exception):
    pass


def home(cfg: Config) -> ProcessHome:
    return ProcessHome(cfg.path("paths.state") / str(cfg.get("cluster.postgres.state_dir", "cluster/postgres")),
                       "postgres")


def data_dir(cfg: Config) -> Path:
    return home(cfg).home / "data"


def socket_dir(cfg: Config) -> Path:
    return home(cfg).home / "run"


def port(cfg: Config) -> int:
    return cfg.get("cluster.postgres.port", type_=int)


def bin_dir(cfg: Config) -> Path:
    """``cluster.postgres.bin_dir``, or the newest Debian ``/usr/lib/postgresql/<version>/bin``."""
    configured = str(cfg.get("cluster.postgres.bin_dir", "") or "")
    if configured:
        found = Path(configured)
    else:
        versions = sorted((p for p in DEBIAN_ROOT.glob("*/bin") if (p / "postgres").exists()),
                          key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
        if not versions:
            raise PostgresError(f"no PostgreSQL server under {DEBIAN_ROOT}/<version>/bin; install Debian's "
                                f"postgresql with `make postgres` (apt-get install postgresql) or set "
                                f"cluster.postgres.bin_dir")
        found = versions[-1]
    if not (found / "postgres").exists():
        raise PostgresError(f"{found}/postgres does not exist; fix cluster.postgres.bin_dir or `make postgres`")
    return found


def _run_as(cfg: Config) -> str | None:
    """The OS user the server runs as: None (this user) unless we are root, which postgres refuses."""
    if os.geteuid() != 0:
        return None
    user = str(cfg.get("cluster.postgres.os_user", "postgres"))
    try:
        pwd.getpwnam(user)
    except KeyError:
        raise PostgresError(f"PostgreSQL refuses to run as root and user {user!r} (cluster.postgres.os_user) does "
                            f"not exist; Debian's postgresql package creates `postgres` (make postgres)") from None
    return user


def _chown(path: Path, user: str | None) -> None:
    if user is None:
        return
    pw = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        os.chown(root, pw.pw_uid, pw.pw_gid)
        for name in dirs + files:
            os.chown(os.path.join(root, name), pw.pw_uid, pw.pw_gid, follow_symlinks=False)


def read_pid(cfg: Config) -> int | None:
    """The postmaster's pid, from its own ``postmaster.pid`` (first line), if it is a live postgres."""
    try:
        pid = int((data_dir(cfg) / "postmaster.pid").read_text().splitlines()[0].strip())
    except (OSError, ValueError, IndexError):
        return None
    if not pid_alive(pid):
        return None
    args = cmdline(pid)
    return pid if args is None or any("postgres" in a for a in args) else None


def ready(cfg: Config) -> bool:
    """pg_isready over TCP: the server accepts connections (not only that the port is open)."""
    try:
        res = subprocess.run([str(bin_dir(cfg) / "pg_isready"), "-q", "-h", HOST, "-p", str(port(cfg)),
                              "-d", "postgres", "-t", "3"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired, PostgresError):
        return False
    return res.returncode == 0


def status(cfg: Config) -> ProcessStatus:
    return process_status(read_pid(cfg), HOST, port(cfg), home(cfg).stdout, name="postgres")


def _unreachable_ancestor(path: Path, user: str) -> Path | None:
    """The first folder above ``path`` that ``user`` may not enter (pytest's 0700 tmp dirs, /root)."""
    import pwd

    pw = pwd.getpwnam(user)
    for folder in reversed(path.resolve().parents):
        if not folder.exists():
            break  # created below by root, for the user
        st = folder.stat()
        if st.st_uid == pw.pw_uid:
            allowed = st.st_mode & 0o100
        elif st.st_gid == pw.pw_gid:
            allowed = st.st_mode & 0o010
        else:
            allowed = st.st_mode & 0o001
        if not allowed:
            return folder
    return None


def _initdb(cfg: Config, user: str | None, log) -> None:
    data = data_dir(cfg)
    if (data / "PG_VERSION").exists():
        return
    data.mkdir(parents=True, exist_ok=True)
    blocked = _unreachable_ancestor(data, user) if user else None
    if blocked is not None:
        raise PostgresError(f"the server runs as {user!r} (cluster.postgres.os_user), which cannot enter {blocked} "
                            f"(mode {blocked.stat().st_mode & 0o777:o}) on the way to {data}; put "
                            f"cluster.postgres.state_dir (or paths.state) where {user!r} can reach it, "
                            f"e.g. under the project's .state")
    _chown(home(cfg).home, user)
    os.chmod(data, 0o700)
    cmd = [str(bin_dir(cfg) / "initdb"), "-D", str(data), "-U", "postgres", "-E", "UTF8", "--no-locale",
           "--auth-local=trust", "--auth-host=scram-sha-256"]
    log(f"postgres: initdb {data}")
    res = subprocess.run(cmd, capture_output=True, text=True, user=user, cwd=home(cfg).home, timeout=300)
    if res.returncode != 0:
        raise PostgresError(f"initdb failed ({' '.join(cmd)}):\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}")


def start(cfg: Config, log=print) -> ProcessStatus:
    """Start the server if it does not run (idempotent), then make sure Airflow's role and database exist."""
    st = status(cfg)
    if st.running:
        log(f"postgres: already running (pid {st.pid}) on {HOST}:{st.port}")
    else:
        if st.reachable:
            raise PostgresError(f"port {st.port} on {HOST} is taken by another process; stop it or change "
                                f"cluster.postgres.port")
        user = _run_as(cfg)
        h = home(cfg)
        for d in (h.home, h.logs, socket_dir(cfg)):
            d.mkdir(parents=True, exist_ok=True)
        _initdb(cfg, user, log)
        os.chmod(socket_dir(cfg), 0o700)
        _chown(h.home, user)
        (data_dir(cfg) / "postmaster.pid").unlink(missing_ok=True)  # stale: read_pid found no live server
        cmd = [str(bin_dir(cfg) / "postgres"), "-D", str(data_dir(cfg)), "-p", str(st.port),
               "-k", str(socket_dir(cfg)), "-c", "listen_addresses=" + HOST,
               "-c", "unix_socket_permissions=0700",
               "-c", f"max_connections={cfg.get('cluster.postgres.max_connections', 100, type_=int)}"]
        with open(h.stdout, "ab") as out:
            out.write(f"\n=== {time.strftime('%Y-%m-%dT%H:%M:%S%z')} starting: {' '.join(cmd)}\n".encode())
            out.flush()
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True, cwd=h.home, user=user)
        log(f"postgres: starting pid {proc.pid} on {HOST}:{st.port} (log {h.stdout})")
        timeout = float(cfg.get("cluster.postgres.start_timeout_s", 60))
        if not wait_until_ready(lambda: ready(cfg), timeout, proc=proc):
            proc.poll() is None and proc.send_signal(signal.SIGQUIT)
            raise PostgresError(f"PostgreSQL did not accept connections on {HOST}:{st.port} within {timeout:.0f}s;"
                                f" last log lines:\n{tail(h.stdout, 15)}")
    ensure_database(cfg, log)
    return status(cfg)


def ensure_database(cfg: Config, log=print) -> None:
    """Airflow's role (with the generated password) and its database, created once; the password is
    (re)set every time so the secret file is what counts."""
    import psycopg2
    from psycopg2 import sql

    name = str(cfg.get("cluster.postgres.database"))
    role = str(cfg.get("cluster.postgres.user"))
    password = generated_secrets.ensure(cfg, PASSWORD_SECRET)
    conn = psycopg2.connect(host=str(socket_dir(cfg)), port=port(cfg), user="postgres", dbname="postgres")
    conn.autocommit = True  # CREATE DATABASE cannot run in a transaction
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
            verb = "ALTER" if cur.fetchone() else "CREATE"
            cur.execute(sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role),
                                                                          sql.Literal(password)))
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if not cur.fetchone():
                cur.execute(sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8'").format(
                    sql.Identifier(name), sql.Identifier(role)))
                log(f"postgres: created database {name!r} owned by {role!r}")
    finally:
        conn.close()


def sqlalchemy_url(cfg: Config) -> str:
    """Airflow's ``sql_alchemy_conn``: the psycopg2 driver (pinned in setup.cfg), password from the secret."""
    password = generated_secrets.read(cfg, PASSWORD_SECRET)
    return (f"postgresql+psycopg2://{cfg.get('cluster.postgres.user')}:{password}@{HOST}:{port(cfg)}/"
            f"{cfg.get('cluster.postgres.database')}")


def stop(cfg: Config, log=print) -> ProcessStatus:
    """Fast shutdown (SIGINT: clients disconnected, a clean checkpoint); immediate (SIGQUIT), then SIGKILL,
    if it does not finish within cluster.postgres.stop_timeout_s."""
    pid = read_pid(cfg)
    if pid is not None:
        timeout = float(cfg.get("cluster.postgres.stop_timeout_s", 30))
        for sig, wait in ((signal.SIGINT, timeout), (signal.SIGQUIT, 10.0), (signal.SIGKILL, 5.0)):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait
            while pid_alive(pid) and time.monotonic() < deadline:
                reap(pid)
                time.sleep(0.2)
            if not pid_alive(pid):
                break
        log(f"postgres: stopped (pid {pid})")
    deadline = time.monotonic() + 10
    while port_open(HOST, port(cfg)) and time.monotonic() < deadline:
        time.sleep(0.2)
    st = status(cfg)
    if st.reachable:
        raise PostgresError(f"{HOST}:{st.port} still accepts connections after stop: {st.detail}")
    return st
