"""The Spark Connect server's Python executable (``PYSPARK_PYTHON``): start a worker fast.

Spark gives the Python worker of a streaming query's foreachBatch (or listener) a fixed 10 s to
connect back, and that worker imports pyspark's Connect client, pandas and pyarrow first: ~3 s
on an idle 2-core machine, over 10 s on a loaded one, and the query fails before its first batch.
So the server runs this script instead of Python. For those worker modules it asks the zygote
(brain.ops.pyworker_zygote, started by ``brain spark start`` with those imports already done) to
fork a worker with this process's arguments, environment, working directory and standard streams,
forwards signals to it and exits with its status. Anything else, or no zygote, runs the real
interpreter as Spark asked (``exec``), so this script can only make a worker start sooner.

Run as ``python -I -S pyworker_launch.py ARGS``: the standard library only, no site-packages, so
it starts in milliseconds.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import sys

SOCKET_ENV = "BRAIN_PYWORKER_SOCKET"
PYTHON_ENV = "BRAIN_PYWORKER_PYTHON"
MODULES_ENV = "BRAIN_PYWORKER_MODULES"  # comma-separated; default FORKED_MODULES
HOST_GROUP_ENV = "BRAIN_HOST_PGID"  # brain.faults.HOST_GROUP_ENV: the server's process group
FORKED_MODULES = (
    "pyspark.sql.connect.streaming.worker.foreach_batch_worker",
    "pyspark.sql.connect.streaming.worker.listener_worker",
)


def forked_modules(environ) -> tuple[str, ...]:
    listed = [m for m in environ.get(MODULES_ENV, "").split(",") if m]
    return tuple(listed) or FORKED_MODULES


def forkable(argv: list[str], modules=FORKED_MODULES) -> str | None:
    """The worker module ``argv`` (Python's arguments) runs, if the zygote may start it (pure)."""
    if len(argv) == 2 and argv[0] == "-m" and argv[1] in modules:
        return argv[1]
    return None


def request(module: str, environ: dict, cwd: str) -> bytes:
    """One length-prefixed request (pure)."""
    body = json.dumps({"module": module, "env": environ, "cwd": cwd}).encode()
    return struct.pack("!I", len(body)) + body


def _exec_python(argv: list[str]) -> None:
    python = os.environ.get(PYTHON_ENV) or sys.executable
    os.execv(python, [python, *argv])


def _forked(path: str, module: str) -> int:
    """Have the zygote fork ``module``; its exit status (128 + signal if it was killed)."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(path)
    # The worker runs in the zygote's process group; a kill point that takes "the server with it"
    # (brain.faults) needs the server's.
    env = {**os.environ, HOST_GROUP_ENV: str(os.getpgrp())}
    socket.send_fds(conn, [request(module, env, os.getcwd())], [0, 1, 2])
    replies = conn.makefile("r")
    pid = int(replies.readline())  # raises on EOF: the zygote forked nothing, the caller falls back
    forwarded = [signal.SIGKILL]  # what most likely ended a worker that reports no status

    def forward(signum, _frame):
        forwarded.append(signum)
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, forward)
    last = replies.readline().strip()  # "exit N", or EOF when the worker died of a signal
    return int(last.split()[1]) if last.startswith("exit ") else 128 + forwarded[-1]


def main(argv: list[str]) -> None:
    module = forkable(argv, forked_modules(os.environ))
    path = os.environ.get(SOCKET_ENV, "")
    if module and path:
        try:
            status = _forked(path, module)
        except (OSError, ValueError):
            pass  # no zygote (stopped, not started, crashed): start the worker the slow way
        else:
            sys.exit(status)
    _exec_python(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
