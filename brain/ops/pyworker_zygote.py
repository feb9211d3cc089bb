"""A warm parent for the Spark Connect server's streaming Python workers (see pyworker_launch).

Started by ``brain spark start`` next to the server: it imports what a foreachBatch worker and
our batch function import (pyspark's Connect client, pandas, pyarrow, the pipeline's modules)
once, then listens on a Unix socket. For each request it forks; the child takes the launcher's
standard streams, environment and working directory and runs the worker module as ``__main__``,
writing its pid and then its exit status back to the launcher. Forking skips the imports, so a
worker connects back to Spark in well under a second instead of 3-15 s.

The zygote stays single-threaded and never opens a Spark or gRPC connection itself, so a fork
copies no lock or channel that a child could find in a broken state.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import runpy
import signal
import socket
import struct
import sys

from brain.ops.pyworker_launch import FORKED_MODULES, MODULES_ENV, forked_modules

# What the workers and the pass's batch function import: the expensive part of a worker's start.
WARM_IMPORTS = (
    "pandas",
    "pyarrow",
    "pyspark.worker",
    "pyspark.sql.connect.session",
    *FORKED_MODULES,
    "brain.clean.industry_pass",
    "brain.quality.validate",
)


def warm_up(modules=WARM_IMPORTS) -> list[str]:
    """Import ``modules``; the ones that failed (a worker then imports them itself)."""
    failed = []
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a module we cannot preload costs time, not correctness
            failed.append(name)
    return failed


def source_stamps(prefix: str) -> dict[str, float]:
    """The modification times of the loaded modules' files under ``prefix`` (our own code)."""
    stamps = {}
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None) or ""
        if path.startswith(prefix):
            try:
                stamps[path] = os.stat(path).st_mtime
            except OSError:
                stamps[path] = -1.0
    return stamps


def changed_since(stamps: dict[str, float]) -> list[str]:
    """Files of ``stamps`` edited (or removed) since: a fork would run the code as it was."""
    out = []
    for path, mtime in stamps.items():
        try:
            now = os.stat(path).st_mtime
        except OSError:
            now = -1.0
        if now != mtime:
            out.append(path)
    return out


def _read_request(conn: socket.socket) -> tuple[dict, list[int]]:
    data, fds, _flags, _addr = socket.recv_fds(conn, 1 << 16, 3)
    if len(data) < 4:
        raise ValueError("short request")
    size = struct.unpack("!I", data[:4])[0]
    body = data[4:]
    while len(body) < size:
        more = conn.recv(size - len(body))
        if not more:
            raise ValueError("request cut short")
        body += more
    return json.loads(body), fds


def _run_child(conn: socket.socket, listener: socket.socket, req: dict, fds: list[int]) -> None:
    """In the forked child: become the worker the launcher asked for; never returns."""
    status = 1
    try:
        listener.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the worker's own subprocesses need waiting on
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        for target, fd in enumerate(fds[:3]):
            os.dup2(fd, target)
            if fd > 2:
                os.close(fd)
        os.environ.clear()
        os.environ.update(req["env"])
        os.chdir(req["cwd"])
        conn.sendall(f"{os.getpid()}\n".encode())
        sys.argv = [req["module"]]
        try:
            runpy.run_module(req["module"], run_name="__main__", alter_sys=True)
            status = 0
        except SystemExit as done:
            status = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except BaseException:  # noqa: BLE001 - report, then exit: a child must never return to the loop
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
            conn.sendall(f"exit {status}\n".encode())
        except OSError:
            pass
        os._exit(status)


def serve(path: str, modules: tuple[str, ...] = FORKED_MODULES) -> None:
    """Accept requests on the Unix socket ``path`` until SIGTERM; fork only ``modules``."""
    if os.path.exists(path):
        os.unlink(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    os.chmod(path, 0o600)  # only the server's user may start workers with its environment
    listener.listen(16)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # A client runs the code on disk; a fork runs what was imported here. After an edit (a git
    # pull with the service up) workers start the slow way, with the code the client has.
    own = source_stamps(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    stale = False
    try:
        while True:
            conn, _ = listener.accept()
            try:
                req, fds = _read_request(conn)
                if req.get("module") not in modules:
                    raise ValueError(f"not a worker module: {req.get('module')!r}")
                edited = changed_since(own)
                if edited:
                    for fd in fds:
                        os.close(fd)
                    if not stale:
                        stale = True
                        print(f"pyworker zygote: {edited[0]} changed since the start; workers start fresh "
                              f"until `brain spark stop && brain spark start`", file=sys.stderr, flush=True)
                    conn.close()
                    continue
            except (OSError, ValueError) as bad:
                print(f"pyworker zygote: refused a request: {bad}", file=sys.stderr, flush=True)
                conn.close()
                continue
            pid = os.fork()
            if pid == 0:
                _run_child(conn, listener, req, fds)
            print(f"pyworker zygote: forked pid {pid} for {req['module']}", flush=True)
            for fd in fds:
                os.close(fd)
            conn.close()
    finally:
        listener.close()
        if os.path.exists(path):
            os.unlink(path)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("socket", help="the Unix socket to listen on")
    ap.add_argument("--no-warm-up", action="store_true", help="import nothing first (tests)")
    args = ap.parse_args(argv)
    modules = forked_modules(os.environ)  # the launcher reads the same variable
    failed = [] if args.no_warm_up else warm_up((*WARM_IMPORTS, *modules))
    if failed:
        print(f"pyworker zygote: not preloaded: {', '.join(failed)}", file=sys.stderr, flush=True)
    print(f"pyworker zygote: ready on {args.socket} for {', '.join(modules)} ({MODULES_ENV})", flush=True)
    serve(args.socket, modules)


if __name__ == "__main__":
    main()
