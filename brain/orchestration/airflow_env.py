"""Environment for running Airflow against this project (no Airflow import here).

Used by the Makefile (`brain airflow-env`), tests and `brain doctor`, so that
`airflow standalone`, `dag.test()` and the DagBag all see the same home,
DAG folder and SQLite metadata database.
"""

from __future__ import annotations

import os

from brain.config import Config


def airflow_env(cfg: Config) -> dict[str, str]:
    home = cfg.path("airflow.home")
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(cfg.root / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        # SQLite allows one writer: the sequential executor's successor in
        # Airflow 3 is LocalExecutor with parallelism 1 on SQLite.
        "AIRFLOW__CORE__PARALLELISM": os.environ.get("AIRFLOW__CORE__PARALLELISM", "2"),
        "BRAIN_HOME": str(cfg.root),
    }


def apply(cfg: Config) -> None:
    """Set the Airflow variables in this process unless the operator set them."""
    for key, value in airflow_env(cfg).items():
        os.environ.setdefault(key, value)
