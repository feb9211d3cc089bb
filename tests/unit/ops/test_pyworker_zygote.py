"""The Spark Connect server's warm Python workers: the launcher has the zygote fork a worker with
the launcher's streams, environment, working directory and exit status, and runs Python itself
when the zygote is not there (brain/ops/pyworker_launch.py, pyworker_zygote.py).

A stand-in module replaces Spark's worker: what is tested is the process plumbing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from brain.ops import pyworker_launch
from brain.ops.pyworker_launch import MODULES_ENV, PYTHON_ENV, SOCKET_ENV, forkable

ROOT = Path(__file__).resolve().parents[3]
TOY = "tests.unit.ops.toy_worker"


@pytest.fixture
def zygote():
    sock = Path(tempfile.mkdtemp(prefix="pyw-", dir="/tmp")) / "z.sock"
    env = {**os.environ, MODULES_ENV: TOY}
    proc = subprocess.Popen([sys.executable, "-m", "brain.ops.pyworker_zygote", "--no-warm-up", str(sock)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 30
    while not sock.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sock.exists(), proc.stdout.read() if proc.poll() is not None else "no socket"
    yield proc, sock
    proc.terminate()
    proc.wait(10)


def _launch(sock: Path | None, *, stdin="ping\n", timeout=30, **extra) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in (SOCKET_ENV,)}
    env |= {MODULES_ENV: TOY, PYTHON_ENV: sys.executable, "TOY_WORD": "hello", "PYTHONPATH": str(ROOT), **extra}
    if sock is not None:
        env[SOCKET_ENV] = str(sock)
    proc = subprocess.Popen([sys.executable, "-I", "-S", pyworker_launch.__file__, "-m", TOY], env=env,
                            cwd=tempfile.gettempdir(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    proc.stdin.write(stdin)
    proc.stdin.close()
    return proc


def test_only_spark_worker_modules_run_as_m_are_forked():
    assert forkable(["-m", "pyspark.sql.connect.streaming.worker.foreach_batch_worker"])
    assert forkable(["-m", "pyspark.daemon"]) is None
    assert forkable(["-c", "print(1)"]) is None
    assert forkable(["-m", TOY], (TOY,)) == TOY


def test_the_zygote_forks_the_worker_with_the_launchers_streams_env_cwd_and_status(zygote):
    proc, sock = zygote
    launched = _launch(sock, TOY_EXIT="3")
    out = launched.stdout.read()
    assert launched.wait(30) == 3
    assert f"hello ping ppid={proc.pid} cwd={tempfile.gettempdir()}" in out  # a child of the zygote


def test_a_signal_to_the_launcher_reaches_the_forked_worker(zygote):
    proc, sock = zygote
    launched = _launch(sock, TOY_SLEEP="60")
    first = launched.stdout.readline()
    assert f"ppid={proc.pid}" in first
    launched.send_signal(signal.SIGTERM)
    assert launched.wait(15) == 128 + signal.SIGTERM
    # The worker is gone too: nothing keeps running under the zygote.
    deadline = time.monotonic() + 10
    while _children(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _children(proc.pid) == []


def _children(pid: int) -> list[str]:
    return subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()


def test_without_a_zygote_the_launcher_runs_python_itself(tmp_path):
    launched = _launch(tmp_path / "nothing.sock", TOY_EXIT="4")
    out = launched.stdout.read()
    assert launched.wait(30) == 4
    assert f"hello ping ppid={os.getpid()}" in out  # exec'd in place: our own child


def test_the_forked_worker_knows_the_process_group_of_the_server_that_asked(zygote):
    """brain.faults' kill points take the server's group, not the zygote's, with them."""
    proc, sock = zygote
    launched = _launch(sock)
    out = launched.stdout.read()
    assert launched.wait(30) == 0
    assert f"ppid={proc.pid}" in out and f"host_pgid={os.getpgrp()}" in out


def test_an_edited_source_file_is_noticed_so_workers_start_with_the_code_on_disk(tmp_path, monkeypatch):
    import types

    from brain.ops.pyworker_zygote import changed_since, source_stamps

    ours, theirs = tmp_path / "brain" / "m.py", tmp_path / "lib" / "x.py"
    for f in (ours, theirs):
        f.parent.mkdir()
        f.write_text("x = 1\n")
    monkeypatch.setitem(sys.modules, "toy_ours", types.SimpleNamespace(__file__=str(ours)))
    monkeypatch.setitem(sys.modules, "toy_theirs", types.SimpleNamespace(__file__=str(theirs)))
    stamps = source_stamps(str(tmp_path / "brain"))
    assert list(stamps) == [str(ours)]  # only our own code is watched
    assert changed_since(stamps) == []
    os.utime(ours, (time.time() + 5, time.time() + 5))
    assert changed_since(stamps) == [str(ours)]


def test_the_launcher_and_the_kill_points_name_the_same_variable():
    """pyworker_launch imports nothing from brain, so it spells brain.faults' name itself."""
    from brain.faults import HOST_GROUP_ENV

    assert pyworker_launch.HOST_GROUP_ENV == HOST_GROUP_ENV
