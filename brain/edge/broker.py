"""The embedded MQTT broker: Debian's mosquitto on the loopback, with username/password.

Like the embedded Kafka broker (brain.ops.broker): config, data and logs under
``<paths.state>/mqtt``, ``start`` idempotent and ready only once an authenticated
client is accepted, ``stop`` graceful and waiting for the port to be free.

The password is never in the repository: ``mqtt.password_env`` if set, else the
file ``<paths.state>/<mqtt.password_file>``, which ``start`` fills with a random
one (mode 600) the first time. Clients (the bridge, tests) read it the same way.
"""

from __future__ import annotations

import getpass
import os
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from brain.config import Config
from brain.ops.processes import (
    ProcessHome,
    ProcessStatus,
    pid_alive,
    port_open,
    process_status,
    tail,
    terminate,
    wait_until_ready,
)


class MqttError(Exception):
    pass


@dataclass(frozen=True)
class MqttPaths(ProcessHome):
    name: str = "mosquitto"

    @property
    def config(self) -> Path:
        return self.home / "mosquitto.conf"

    @property
    def passwd(self) -> Path:
        return self.home / "passwd"

    @property
    def data(self) -> Path:
        return self.home / "data"


def paths(cfg: Config) -> MqttPaths:
    return MqttPaths(cfg.path("paths.state") / "mqtt")


def password_file(cfg: Config) -> Path:
    return cfg.path("paths.state") / str(cfg.get("mqtt.password_file", type_=str))


def credentials(cfg: Config, create: bool = False) -> tuple[str, str]:
    """(username, password); with ``create`` a missing password file is generated."""
    user = cfg.get("mqtt.username", type_=str)
    env = cfg.get("mqtt.password_env", type_=str)
    if os.environ.get(env):
        return user, os.environ[env]
    path = password_file(cfg)
    if path.is_file():
        secret = path.read_text().strip()
        if secret:
            return user, secret
    if not create:
        raise MqttError(f"MQTT password missing: set {env} or put it in {path} "
                        "(`brain mqtt start` generates one there)")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    secret = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret + "\n")
    return user, secret


def mosquitto_conf(cfg: Config, mp: MqttPaths) -> str:
    emb = "mqtt.embedded."
    lines = [
        f"listener {cfg.get('mqtt.port', type_=int)} {cfg.get('mqtt.host', type_=str)}",
        "allow_anonymous false",
        f"password_file {mp.passwd}",
        "persistence true",
        f"persistence_location {mp.data}/",
        "autosave_interval 5",
        f"max_inflight_messages {cfg.get(emb + 'max_inflight_messages', type_=int)}",
        f"max_queued_messages {cfg.get(emb + 'max_queued_messages', type_=int)}",
        f"log_dest file {mp.logs}/mosquitto.log",
        "log_type error", "log_type warning", "log_type notice", "log_type information",
        "connection_messages true",
    ]
    if os.geteuid() == 0:
        # Started as root, mosquitto switches to user "mosquitto", who cannot write our state folder.
        lines.append(f"user {getpass.getuser()}")
    return "\n".join(lines) + "\n"


def _binary(cfg: Config, key: str) -> str:
    name = cfg.get(key, type_=str)
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if not found:
        raise MqttError(f"{name} not found: install Debian's mosquitto (`make mqtt` or apt-get install mosquitto) "
                        f"or set {key}")
    return found


def _read_pid(mp: MqttPaths) -> int | None:
    try:
        pid = int(mp.pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def status(cfg: Config) -> ProcessStatus:
    mp = paths(cfg)
    host, port = cfg.get("mqtt.host", type_=str), cfg.get("mqtt.port", type_=int)
    return process_status(_read_pid(mp), host, port, mp.logs, hint="brain mqtt start")


def ready(cfg: Config, timeout: float = 3.0) -> bool:
    """An authenticated client is accepted (CONNACK success), not just an open port."""
    import paho.mqtt.client as mqtt

    try:
        user, secret = credentials(cfg)
    except MqttError:
        return False
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"brain-ready-{os.getpid()}")
    client.username_pw_set(user, secret)
    result: dict = {}
    client.on_connect = lambda c, u, flags, rc, props: result.setdefault("rc", rc)
    try:
        client.connect(cfg.get("mqtt.host", type_=str), cfg.get("mqtt.port", type_=int), keepalive=10)
        deadline = time.monotonic() + timeout
        while "rc" not in result and time.monotonic() < deadline:
            client.loop(0.1)
        client.disconnect()
    except OSError:
        return False
    return "rc" in result and not result["rc"].is_failure


def start(cfg: Config, log=print) -> ProcessStatus:
    if not cfg.get("mqtt.embedded.managed", type_=bool):
        raise MqttError("mqtt.embedded.managed is false in this environment: the MQTT broker is external "
                        f"({cfg.get('mqtt.host')}:{cfg.get('mqtt.port')})")
    mp = paths(cfg)
    timeout = float(cfg.get("mqtt.embedded.start_timeout_s", 20))
    user, secret = credentials(cfg, create=True)
    current = status(cfg)
    if current.running:
        if not wait_until_ready(lambda: ready(cfg), timeout):
            raise MqttError(f"mosquitto pid {current.pid} runs but refuses our credentials or does not answer; "
                            f"see {mp.logs}/mosquitto.log")
        log(f"mqtt: already running (pid {current.pid}) on {current.host}:{current.port}")
        return status(cfg)
    if current.reachable:
        raise MqttError(f"port {current.port} on {current.host} is taken by another process; stop it or set "
                        "mqtt.port (env BRAIN__MQTT__PORT)")
    for d in (mp.logs, mp.data):
        d.mkdir(parents=True, exist_ok=True)
    mp.passwd.unlink(missing_ok=True)
    made = subprocess.run([_binary(cfg, "mqtt.embedded.passwd_binary"), "-b", "-c", str(mp.passwd), user, secret],
                          capture_output=True, text=True, timeout=30)
    if made.returncode != 0:
        raise MqttError(f"mosquitto_passwd failed: {made.stderr.strip() or made.stdout.strip()}")
    mp.passwd.chmod(0o600)
    mp.config.write_text(mosquitto_conf(cfg, mp))
    with open(mp.stdout, "ab") as out:
        proc = subprocess.Popen([_binary(cfg, "mqtt.embedded.binary"), "-c", str(mp.config)], stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                                cwd=mp.home)
    mp.pidfile.write_text(str(proc.pid))
    log(f"mqtt: starting mosquitto pid {proc.pid} on {current.host}:{current.port} (data {mp.data})")
    if not wait_until_ready(lambda: ready(cfg), timeout, proc, every=0.2):
        last = tail(mp.logs / "mosquitto.log") or tail(mp.stdout)
        terminate(proc.pid, 5)
        raise MqttError(f"mosquitto did not accept a client within {timeout:.0f}s; last log lines:\n{last}")
    st = status(cfg)
    log(f"mqtt: ready ({st.detail})")
    return st


def stop(cfg: Config, log=print) -> ProcessStatus:
    mp = paths(cfg)
    pid = _read_pid(mp)
    if pid is None:
        log("mqtt: not running")
    else:
        log(f"mqtt: stopping pid {pid}")
        # SIGTERM: mosquitto saves its persistent sessions and queued messages, then exits.
        terminate(pid, float(cfg.get("mqtt.embedded.stop_timeout_s", 10)))
    mp.pidfile.unlink(missing_ok=True)
    host, port = cfg.get("mqtt.host"), cfg.get("mqtt.port")
    deadline = time.monotonic() + 10
    while port_open(host, port) and time.monotonic() < deadline:
        time.sleep(0.1)
    st = status(cfg)
    if st.reachable:
        raise MqttError(f"{host}:{port} still accepts connections after stop: {st.detail}")
    if pid is not None:
        log("mqtt: stopped, port free")
    return st
