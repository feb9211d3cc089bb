"""The loopback cluster's object store: s3proxy on 127.0.0.1, backed by a local folder.

`brain cluster up` starts it when ``object_store.managed`` (conf/env/cluster-local.yaml),
so ``lake.root`` / ``lake.checkpoints`` can be ``s3a://`` URIs (brain.storage).
s3proxy (org.gaul:s3proxy, jvm/s3proxy/pom.xml -> .jars/s3proxy) serves the S3 API with
AWS signature v2/v4 authentication; its objects are files under
``<paths.state>/<object_store.state_dir>/data``. On first start a random key pair is
generated into ``credentials.json`` there (mode 0600, git-ignored .state); the
properties file, pidfile and log sit beside it. Ready means an authenticated request
answers and the bucket ``object_store.bucket`` exists (created if missing).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from pathlib import Path

from brain import storage
from brain.config import Config
from brain.jars import jars
from brain.ops.processes import (
    ProcessHome,
    cmdline,
    pid_alive,
    port_open,
    process_status,
    tail,
    terminate,
    wait_until_ready,
)

HOST = "127.0.0.1"  # loopback only, whatever the config says
MAIN_CLASS = "org.gaul.s3proxy.Main"
REQUIRED = ("s3proxy-",)
# s3proxy logs through logback, at DEBUG unless told: every request's Jetty internals.
LOGBACK = """<configuration>
  <appender name="out" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%d{HH:mm:ss.SSS} %-5level %logger{20} - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="out"/></root>
  <logger name="org.gaul.shaded" level="WARN"/>
</configuration>
"""


class ObjectStoreError(Exception):
    pass


def home(cfg: Config) -> ProcessHome:
    return ProcessHome(cfg.path("paths.state") / str(cfg.get("object_store.state_dir", type_=str)), "s3proxy")


def port(cfg: Config) -> int:
    return cfg.get("object_store.port", type_=int)


def data_dir(cfg: Config) -> Path:
    return home(cfg).home / "data"


def ensure_credentials(cfg: Config) -> dict[str, str]:
    """The managed store's key pair: generated once, kept in credentials.json (0600)."""
    path = storage.credentials_file(cfg)
    if path.is_file():
        return json.loads(path.read_text())
    path.parent.mkdir(parents=True, exist_ok=True)
    creds = {"access_key": "brain" + secrets.token_hex(8), "secret_key": secrets.token_urlsafe(30)}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(creds, f)
    return creds


def properties(cfg: Config, creds: dict[str, str]) -> str:
    """s3proxy's configuration (pure)."""
    props = {
        "s3proxy.endpoint": f"http://{HOST}:{port(cfg)}",
        "s3proxy.authorization": "aws-v2-or-v4",
        "s3proxy.identity": creds["access_key"],
        "s3proxy.credential": creds["secret_key"],
        "jclouds.provider": "filesystem",
        "jclouds.filesystem.basedir": str(data_dir(cfg)),
    }
    return "".join(f"{k}={v}\n" for k, v in props.items())


def read_pid(cfg: Config) -> int | None:
    """The store's pid, if the pidfile names a live s3proxy JVM (not a reused pid)."""
    try:
        pid = int(home(cfg).pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    if not pid_alive(pid):
        return None
    args = cmdline(pid)
    return pid if args is None or MAIN_CLASS in args else None


def _answers(cfg: Config) -> bool:
    """An authenticated request succeeds (the bucket listing): the JVM is up and the keys match."""
    try:
        from pyarrow.fs import FileSelector

        storage.filesystem(cfg).get_file_info(FileSelector("", recursive=False))
        return True
    except (OSError, storage.StorageError):
        return False


def status(cfg: Config) -> dict:
    st = process_status(read_pid(cfg), HOST, port(cfg), home(cfg).stdout, name="s3proxy").as_dict()
    ready = bool(st["running"] and st["reachable"] and _answers(cfg))
    if st["running"] and st["reachable"] and not ready:
        st["detail"] = (f"s3proxy pid {st['pid']} open on {HOST}:{port(cfg)} but no authenticated listing yet "
                        f"(starting, or wrong keys: see {home(cfg).stdout})")
    elif ready:
        st["detail"] += f", data in {data_dir(cfg)}"
    st |= {"ready": ready, "endpoint": f"http://{HOST}:{port(cfg)}",
           "bucket": str(cfg.get("object_store.bucket", type_=str))}
    return st


def start(cfg: Config, log=print) -> dict:
    """Start s3proxy unless it runs (idempotent); return once it answers and the bucket exists."""
    hm = home(cfg)
    pid = read_pid(cfg)
    if pid is None:
        if port_open(HOST, port(cfg)):
            raise ObjectStoreError(f"port {port(cfg)} on {HOST} is taken by another process; stop it or "
                                   f"change object_store.port")
        classpath = ":".join(str(j) for j in jars(cfg, "s3proxy", REQUIRED))
        creds = ensure_credentials(cfg)
        hm.logs.mkdir(parents=True, exist_ok=True)
        data_dir(cfg).mkdir(parents=True, exist_ok=True)
        props = hm.home / "s3proxy.conf"
        # The secret is in it: readable by this user only.
        fd = os.open(props, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(properties(cfg, creds))
        logback = hm.home / "logback.xml"
        logback.write_text(LOGBACK)
        heap = str(cfg.get("object_store.heap", "256m"))
        java = str(Path(os.environ["JAVA_HOME"]) / "bin" / "java") if os.environ.get("JAVA_HOME") else "java"
        cmd = [java, f"-Xmx{heap}", "-Djava.awt.headless=true",
               f"-Dlogback.configurationFile={logback}", "-cp", classpath, MAIN_CLASS,
               "--properties", str(props)]
        with open(hm.stdout, "ab") as out:
            out.write(f"\n=== {time.strftime('%Y-%m-%dT%H:%M:%S%z')} starting s3proxy on {HOST}:{port(cfg)}\n"
                      .encode())
            out.flush()
            # A new session: the store outlives the CLI that started it.
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True, cwd=hm.home)
        hm.pidfile.write_text(str(proc.pid))
        log(f"object store: starting s3proxy pid {proc.pid} on {HOST}:{port(cfg)} (log {hm.stdout})")
        timeout = float(cfg.get("object_store.start_timeout_s", 60))
        if not wait_until_ready(lambda: _answers(cfg), timeout, proc=proc, every=0.5):
            terminate(proc.pid, 10)
            hm.pidfile.unlink(missing_ok=True)
            raise ObjectStoreError(f"s3proxy did not answer on {HOST}:{port(cfg)} within {timeout:.0f}s; "
                                   f"last log lines:\n{tail(hm.stdout, 15)}")
    else:
        log(f"object store: s3proxy already running (pid {pid}) on {HOST}:{port(cfg)}")
    ensure_bucket(cfg, log)
    return status(cfg)


def ensure_bucket(cfg: Config, log=print) -> None:
    from pyarrow.fs import FileType

    fs = storage.filesystem(cfg)
    bucket = str(cfg.get("object_store.bucket", type_=str))
    if fs.get_file_info(bucket).type == FileType.NotFound:
        fs.create_dir(bucket)
        log(f"object store: bucket {bucket} created")


def stop(cfg: Config, log=print) -> dict:
    """Stop s3proxy (SIGTERM, then SIGKILL) and wait for its port to be free; the data stays."""
    pid = read_pid(cfg)
    if pid is not None:
        terminate(pid, float(cfg.get("object_store.stop_timeout_s", 20)))
        log(f"object store: s3proxy (pid {pid}) stopped")
    home(cfg).pidfile.unlink(missing_ok=True)
    deadline = time.monotonic() + 10
    while port_open(HOST, port(cfg)) and time.monotonic() < deadline:
        time.sleep(0.2)
    st = status(cfg)
    if st["reachable"]:
        raise ObjectStoreError(f"{HOST}:{port(cfg)} still accepts connections after stop")
    return st
