"""Environment for running Airflow against this project (no Airflow import here).

Used by the Makefile (`brain airflow-env`), tests and `brain doctor`, so that
`airflow standalone`, `dag.test()` and the DagBag all see the same home,
DAG folder and SQLite metadata database.
"""

from __future__ import annotations

import json
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
        **openlineage_env(cfg),
    }


def openlineage_env(cfg: Config) -> dict[str, str]:
    """apache-airflow-providers-openlineage: task run events where the Spark jobs' go (docs/lineage.md)."""
    if not cfg.get("lineage.enabled", False, type_=bool):
        return {"AIRFLOW__OPENLINEAGE__DISABLED": "True"}
    url = str(cfg.get("lineage.url", "") or "")
    # The file transport without append writes each event to its own file (<path>-<time>.json):
    # task processes run side by side and never share a file.
    transport = ({"type": "http", "url": url} if url else
                 {"type": "file", "log_file_path": str(cfg.path("lineage.dir") / "airflow"), "append": False})
    return {"AIRFLOW__OPENLINEAGE__DISABLED": "False",
            "AIRFLOW__OPENLINEAGE__NAMESPACE": str(cfg.get("lineage.namespace", type_=str)),
            "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(transport)}


def apply(cfg: Config) -> None:
    """Set the Airflow variables in this process unless the operator set them."""
    for key, value in airflow_env(cfg).items():
        os.environ.setdefault(key, value)
