from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def airflow_db():
    """Airflow's metadata DB (SQLite) in this session's AIRFLOW_HOME."""
    subprocess.run([str(Path(sys.executable).parent / "airflow"), "db", "migrate"], env=os.environ,
                   check=True, capture_output=True, timeout=600)
    from airflow import settings

    settings.configure_orm()
    return os.environ["AIRFLOW_HOME"]


@pytest.fixture(scope="session")
def dagbag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(Path(__file__).resolve().parents[2] / "dags"))
    assert not bag.import_errors
    return bag
