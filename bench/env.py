"""The bench's isolated world: its own broker, lake per measurement, and the machine it runs on.

Environment variables are set before brain is imported (brain.config reads
them on every load), so code that loads its own config, like Airflow tasks,
sees the same isolation.
"""

from __future__ import annotations

import os
import platform
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The smoke test moves both aside so it never meets a developer's bench run.
BENCH_PORT = int(os.environ.get("BRAIN_BENCH_KAFKA_PORT", "29092"))
BENCH_STATE = Path(os.environ.get("BRAIN_BENCH_STATE", str(ROOT / ".state" / "bench")))


def isolate(work: Path) -> None:
    """Point every state path at ``work`` and the broker at the bench ports."""
    os.environ.update({
        "BRAIN__PATHS__STATE": str(BENCH_STATE),
        "BRAIN__LAKE__ROOT": str(work / "lake"),
        "BRAIN__LAKE__CHECKPOINTS": str(work / "checkpoints"),
        "BRAIN__AIRFLOW__HOME": str(work / "airflow"),
        "BRAIN__QUALITY__GX_DIR": str(work / "gx"),
        "BRAIN__QUALITY__DATA_DOCS_DIR": str(work / "data_docs"),
        "BRAIN__KAFKA__EMBEDDED__PORT": str(BENCH_PORT),
        "BRAIN__KAFKA__EMBEDDED__CONTROLLER_PORT": str(BENCH_PORT + 1),
        "BRAIN__KAFKA__BOOTSTRAP_SERVERS": f"127.0.0.1:{BENCH_PORT}",
        "BRAIN__SPARK__MASTER": os.environ.get("BRAIN__SPARK__MASTER", "local[2]"),
        "BRAIN__SPARK__SHUFFLE_PARTITIONS": os.environ.get("BRAIN__SPARK__SHUFFLE_PARTITIONS", "2"),
        # In-process unless asked: a running `brain spark start` server (another state folder)
        # must not serve, or share its cores with, what the bench times.
        "BRAIN__SPARK__REMOTE": os.environ.get("BRAIN__SPARK__REMOTE", ""),
        "GX_ANALYTICS_ENABLED": "False",
        "BRAIN__AIRFLOW__RETRIES": "0",
    })


def new_workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="brain-bench-"))


def scoped(work: Path, name: str, prefix: str | None = None, **keys: str):
    """A config whose lake and checkpoints live under ``work/name`` (and topics under ``prefix``).

    ``keys`` are extra dotted config keys (``pipeline.trigger="continuous"``).
    The environment keeps these values until the next call, so Airflow tasks
    calling config.load() see them too.
    """
    from brain import config

    os.environ["BRAIN__LAKE__ROOT"] = str(work / name / "lake")
    os.environ["BRAIN__LAKE__CHECKPOINTS"] = str(work / name / "checkpoints")
    os.environ["BRAIN__QUALITY__GX_DIR"] = str(work / name / "gx")
    os.environ["BRAIN__QUALITY__DATA_DOCS_DIR"] = str(work / name / "data_docs")
    if prefix is not None:
        os.environ["BRAIN__KAFKA__TOPIC_PREFIX"] = prefix
    for var in [v for v in os.environ if v.startswith("BRAIN__PIPELINE__")]:
        del os.environ[var]
    for key, value in keys.items():
        os.environ[config.env_var(key.replace("__", "."))] = str(value)
    return config.load()


def new_prefix(tag: str) -> str:
    return f"bench{tag}{uuid.uuid4().hex[:6]}."


def machine() -> dict:
    """What the figures were measured on, read at run time."""
    mem_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()
    import pyspark

    return {"cpus": os.cpu_count(), "cpu_model": cpu, "ram_gib": round(mem_kib / 1024 / 1024, 1),
            "python": platform.python_version(), "java": java[0] if java else "?",
            "pyspark": pyspark.__version__, "platform": platform.platform(),
            "load_average_1m_at_start": round(os.getloadavg()[0], 2)}


class Broker:
    """Start the bench broker unless it runs; stop it at the end only if we started it."""

    def __init__(self, cfg, log):
        self.cfg, self.log, self.started = cfg, log, False

    def __enter__(self):
        from brain.ops import broker as kafka_broker

        if not kafka_broker.status(self.cfg).running:
            self.started = True
        kafka_broker.start(self.cfg, log=self.log)
        return self

    def __exit__(self, *exc):
        from brain.ops import broker as kafka_broker

        if self.started:
            kafka_broker.stop(self.cfg, log=self.log)


def delete_topics(cfg, prefix: str) -> None:
    from brain.ingest.kafka_io import delete_topics_with_prefix

    delete_topics_with_prefix(cfg, prefix)


class Clock:
    """Wall-clock seconds of named phases, for the profile."""

    def __init__(self):
        self.phases: dict[str, float] = {}

    def time(self, name: str, fn, *args, **kwargs):
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.phases[name] = round(self.phases.get(name, 0.0) + time.perf_counter() - t, 3)
