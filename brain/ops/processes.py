"""Processes the project starts and watches (the broker, the Spark Connect server): is a pid
alive, does a port answer, stop gracefully, the last lines of a log."""

from __future__ import annotations

import os
import signal
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProcessStatus:
    """What `<service> status` reports: the pidfile's process, and whether its port answers."""
    running: bool
    pid: int | None
    host: str
    port: int
    reachable: bool
    detail: str

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def process_status(pid: int | None, host: str, port: int, see, name: str = "", hint: str = "") -> ProcessStatus:
    """The four states every managed service reports alike: its process answers; runs but its port
    does not (yet); the port is someone else's; nothing runs. ``see``: where its log is; ``name``:
    which part, for a service of several (``node 2``, ``master``); ``hint``: the command that starts it."""
    reachable = port_open(host, port)
    who, where = f"{name} " if name else "", f"{host}:{port}"
    if pid and reachable:
        detail = f"{who}running (pid {pid}) on {where}"
    elif pid:
        detail = (f"{who or 'process '}{'pid ' if name else ''}{pid} alive but {where} not accepting "
                  f"connections (starting, or stuck: see {see})")
    elif reachable:
        detail = f"{where} is answered by a process this project did not start"
    else:
        detail = f"{who}not running" + (f" (start it with `{hint}`)" if hint else "")
    return ProcessStatus(bool(pid), pid, host, port, reachable, detail)


@dataclass(frozen=True)
class ProcessHome:
    """A managed process's folder under the state dir: its pidfile and its captured output."""
    home: Path
    name: str  # file stem of the pidfile and the output log

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def pidfile(self) -> Path:
        return self.home / f"{self.name}.pid"

    @property
    def stdout(self) -> Path:
        return self.logs / f"{self.name}.out"


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether something listens on host:port. On loopback, with nothing listening, the kernel can
    give the probe the very port it dials as its own source port, and TCP then connects the socket
    to itself: that is not a listener, and closed normally it would hold the port in TIME_WAIT for a
    minute, so the service about to bind it fails with "Address already in use"."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            if connected_to_itself(sock):
                # An RST instead of a FIN: no TIME_WAIT left behind on the port.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return False
            return True
    except OSError:
        return False


def connected_to_itself(sock: socket.socket) -> bool:
    return sock.getsockname() == sock.getpeername()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); treat it as gone.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        return state != "Z"
    except OSError:
        return True


def cmdline(pid: int) -> list[str] | None:
    """The process's command line, argument by argument; None where /proc cannot tell (gone, or no /proc)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return None


def terminate(pid: int, timeout: float) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_alive(pid):
        reap(pid)
        time.sleep(0.2)
    if pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
    reap(pid)


def reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def wait_until_ready(ready: Callable[[], bool], timeout: float, proc=None, every: float = 0.5) -> bool:
    """Poll ``ready`` until it says yes (True) or ``timeout`` passes; False at once if ``proc``
    (the process just started) has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        if ready():
            return True
        time.sleep(every)
    return False
