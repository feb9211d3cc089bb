"""Test isolation and shared fixtures.

Tests never touch a developer's broker, lake or Airflow database: before
anything is imported, the environment points every state path at a fresh
folder for this session and the embedded broker at its own ports. The test
broker is real (same jars, same code as `brain kafka start`); it is started on
first use and stopped when the session ends.
"""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SESSION_DIR = Path(tempfile.mkdtemp(prefix="brain-test-"))
TEST_KAFKA_PORT = int(os.environ.get("BRAIN_TEST_KAFKA_PORT", "19092"))
# The test session's warm Spark service: next to its broker's ports, so two checkouts' test runs
# (each with its own BRAIN_TEST_KAFKA_PORT) never meet on one server.
TEST_SPARK_PORT = int(os.environ.get("BRAIN_TEST_SPARK_PORT", str(TEST_KAFKA_PORT + 10)))

_ISOLATION = {
    # The test broker keeps its data in a fixed folder so a broker left over
    # from a killed run is found (and reused) instead of blocking the port.
    # A run on another BRAIN_TEST_KAFKA_PORT (a second test run in this checkout) gets a state
    # folder of its own: the broker's pidfile there must not name the other run's broker.
    "BRAIN__PATHS__STATE": str(ROOT / ".state" / ("test" if TEST_KAFKA_PORT == 19092 else f"test-{TEST_KAFKA_PORT}")),
    "BRAIN__LAKE__ROOT": str(SESSION_DIR / "lake"),
    "BRAIN__LAKE__CHECKPOINTS": str(SESSION_DIR / "checkpoints"),
    "BRAIN__AIRFLOW__HOME": str(SESSION_DIR / "airflow"),
    "BRAIN__QUALITY__GX_DIR": str(SESSION_DIR / "gx"),
    "BRAIN__QUALITY__DATA_DOCS_DIR": str(SESSION_DIR / "data_docs"),
    "BRAIN__KAFKA__EMBEDDED__PORT": str(TEST_KAFKA_PORT),
    "BRAIN__KAFKA__EMBEDDED__CONTROLLER_PORT": str(TEST_KAFKA_PORT + 1),
    "BRAIN__KAFKA__BOOTSTRAP_SERVERS": f"127.0.0.1:{TEST_KAFKA_PORT}",
    "BRAIN__SPARK_CONNECT__PORT": str(TEST_SPARK_PORT),
    "BRAIN__SPARK__MASTER": "local[2]",
    # In-process Spark unless a test attaches on purpose (tests/connect_env.py): a developer's
    # running `brain spark start` server must not serve the tests, and the kill-point tests
    # kill the process that runs the batch.
    "BRAIN__SPARK__REMOTE": "",
    "BRAIN__SPARK__SHUFFLE_PARTITIONS": "2",
    # Test data is small; a smaller heap leaves room for parallel test runs and the broker.
    "BRAIN__SPARK__DRIVER_MEMORY": os.environ.get("BRAIN_TEST_DRIVER_MEMORY", "2g"),
    "BRAIN_ENV": "local",
    "GX_ANALYTICS_ENABLED": "False",
    # dag.test() waits out retry delays; keep them short in tests.
    "BRAIN__AIRFLOW__RETRY_DELAY_S": "1",
    "BRAIN__AIRFLOW__MAX_RETRY_DELAY_S": "2",
}
os.environ.update(_ISOLATION)
# py4j logs "Closing down clientserver connection" from __del__ at interpreter
# exit, after pytest has closed the streams: noise, not a failure.
logging.getLogger("py4j").setLevel(logging.WARNING)

from brain import config  # noqa: E402  (after the environment is set)
from brain.orchestration.airflow_env import airflow_env  # noqa: E402

for _k, _v in airflow_env(config.load()).items():
    os.environ[_k] = _v
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{SESSION_DIR / 'airflow' / 'airflow.db'}"
(SESSION_DIR / "airflow").mkdir(parents=True, exist_ok=True)


@pytest.fixture(scope="session")
def base_cfg():
    return config.load()


def _shared(cfg, service, lock_name: str):
    """Start ``service`` (a module with status/start/stop) once for every test process; a context
    manager yielding to the session. Under pytest-xdist (``make test`` runs two workers) every
    worker shares it: the start is serialised by a file lock, and no worker stops it (another may
    still use it); ``make test`` stops it after the run. Alone, the session stops what it started."""
    import contextlib
    import fcntl

    @contextlib.contextmanager
    def held():
        lock = cfg.path("paths.state") / lock_name
        lock.parent.mkdir(parents=True, exist_ok=True)
        with open(lock, "w") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            was_running = service.status(cfg).running
            service.start(cfg, log=lambda m: None)
        yield
        if not was_running and not os.environ.get("PYTEST_XDIST_WORKER"):
            service.stop(cfg, log=lambda m: None)

    return held()


@pytest.fixture(scope="session")
def broker(base_cfg):
    """The real test broker, shared as :func:`_shared` says."""
    from brain.ops import broker as kafka_broker

    with _shared(base_cfg, kafka_broker, "kafka-start.lock"):
        yield base_cfg.get("kafka.bootstrap_servers")


@pytest.fixture(scope="session")
def spark_service(base_cfg):
    """The test session's warm Spark Connect server (``brain spark start`` with the test config),
    for tests that attach on purpose (tests/connect_env.py), shared as :func:`_shared` says."""
    from brain.ops import spark_service as svc

    with _shared(base_cfg, svc, "spark-start.lock"):
        yield base_cfg


@pytest.fixture(scope="session")
def spark(base_cfg):
    """One SparkSession for the whole run (starting one costs ~10 s)."""
    from brain.spark import get_session

    session = get_session(base_cfg)
    yield session
    session.stop()


@pytest.fixture
def isolated_cfg(monkeypatch, tmp_path):
    """A config with its own lake, checkpoints and Kafka topic prefix.

    Set through the environment, so code that calls config.load() itself
    (Airflow tasks, the CLI) sees the same isolation.
    """
    prefix = f"t{uuid.uuid4().hex[:10]}."
    monkeypatch.setenv("BRAIN__LAKE__ROOT", str(tmp_path / "lake"))
    monkeypatch.setenv("BRAIN__LAKE__CHECKPOINTS", str(tmp_path / "checkpoints"))
    monkeypatch.setenv("BRAIN__KAFKA__TOPIC_PREFIX", prefix)
    return config.load()
