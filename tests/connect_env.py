"""Running the pipeline as a user does over Spark Connect: a `brain spark` server of the test's own
(port, state folder) and `brain` commands in subprocesses attached to it with spark.remote=service.

Subprocesses, because pyspark's Connect mode is process-wide (SPARK_CONNECT_MODE_ENABLED) and the
pytest process may hold a classic session for other tests. Tables are read with delta-rs: the check
needs no Spark of its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from brain import config
from brain.lake.tables import table_path
from tests.ports import free_port

BRAIN = str(Path(sys.executable).parent / "brain")


def own_server_cfg(monkeypatch, tmp_path):
    """The config of a Spark Connect server of the test's own (port, state folder), set through the
    environment so the `brain` subprocesses attach to the same one."""
    monkeypatch.setenv("BRAIN__PATHS__STATE", str(tmp_path / "state"))
    monkeypatch.setenv("BRAIN__SPARK_CONNECT__PORT", str(free_port()))
    return config.load()


def brain(*args: str, timeout: float = 900, env: dict | None = None) -> subprocess.CompletedProcess:
    """``brain <args>`` attached to the test's Spark Connect server (spark.remote=service)."""
    full = {**os.environ, "BRAIN__SPARK__REMOTE": "service", **(env or {})}
    full.pop("SPARK_CONNECT_MODE_ENABLED", None)
    return subprocess.run([BRAIN, *args], env=full, capture_output=True, text=True, timeout=timeout)


def report(proc: subprocess.CompletedProcess) -> dict:
    assert proc.returncode == 0, (f"exit {proc.returncode}\nstdout:\n{proc.stdout[-3000:]}\n"
                                  f"stderr:\n{proc.stderr[-5000:]}")
    return json.loads(proc.stdout)


def rows(cfg, table: str, where=None) -> list[dict]:
    """The table's rows (delta-rs), [] when the table does not exist yet."""
    import pyarrow as pa
    from deltalake import DeltaTable

    path = table_path(cfg, table)
    if not (Path(path) / "_delta_log").is_dir():
        return []
    out = pa.table(DeltaTable(str(path)).scan()).to_pylist()  # scan(): reads deletion vectors too
    return [r for r in out if where is None or where(r)]
