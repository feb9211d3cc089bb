"""Airflow's services on PostgreSQL, without starting anything: the environment every component
gets (one JWT secret, the PostgreSQL URL, auth on), the commands, and the generated secrets."""

from __future__ import annotations

import json
import os
import stat

import pytest

from brain import config
from brain.ops import airflow_services, generated_secrets, postgres


@pytest.fixture
def cfg(tmp_path):
    return config.load(environ={**os.environ, "BRAIN__PATHS__STATE": str(tmp_path / "state")})


def test_every_component_gets_the_same_secrets_the_postgres_url_and_auth(cfg):
    generated_secrets.ensure(cfg, postgres.PASSWORD_SECRET)
    airflow_services.ensure_secrets(cfg)
    # The test session's SQLite database and AIRFLOW_HOME must not leak into the cluster's processes.
    env = airflow_services.env(cfg, {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "sqlite:///x.db",
                                     "AIRFLOW_HOME": "/elsewhere", "PATH": "/usr/bin"})
    pg_password = generated_secrets.read(cfg, postgres.PASSWORD_SECRET)
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == (
        f"postgresql+psycopg2://airflow:{pg_password}@127.0.0.1:{cfg.get('cluster.postgres.port')}/airflow")
    assert env["AIRFLOW_HOME"] == str(airflow_services.airflow_home(cfg))
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == generated_secrets.read(cfg, airflow_services.JWT_SECRET)
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS"] == "False"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == f"http://127.0.0.1:{cfg.get('cluster.airflow.api_port')}/execution/"
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(cfg.root / "dags")
    # The passwords file Airflow reads holds the generated admin password, so Airflow generates (and prints) none.
    passwords = json.loads(open(env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]).read())
    assert passwords == {"admin": generated_secrets.read(cfg, airflow_services.ADMIN_SECRET)}


def test_secrets_are_generated_once_private_and_distinct(cfg):
    first = generated_secrets.ensure(cfg, "a")
    assert generated_secrets.ensure(cfg, "a") == first
    assert generated_secrets.ensure(cfg, "b") != first and len(first) >= 32
    path = generated_secrets.secret_path(cfg, "a")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_a_missing_secret_fails_with_its_name(cfg):
    with pytest.raises(generated_secrets.SecretMissing, match="'postgres-airflow-password' is missing"):
        airflow_services.env(cfg, {})
    generated_secrets.ensure(cfg, postgres.PASSWORD_SECRET)
    with pytest.raises(generated_secrets.SecretMissing, match="'airflow-(fernet-key|jwt-secret|api-secret-key)'"):
        airflow_services.env(cfg, {})


def test_only_the_api_server_listens_and_on_loopback(cfg):
    comps = {c.name: c.args for c in airflow_services.components(cfg)}
    assert list(comps) == ["api-server", "dag-processor", "scheduler", "triggerer"]
    assert comps["api-server"][:3] == ("api-server", "--host", "127.0.0.1")
    # Their log servers would bind every interface; with the LocalExecutor the logs are read from disk.
    assert "--skip-serve-logs" in comps["scheduler"] and "--skip-serve-logs" in comps["triggerer"]
