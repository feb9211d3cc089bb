"""Where the contract files live: ``<conf>/contracts`` and ``<conf>/assets.yaml``.

``<conf>`` is ``BRAIN_CONF_DIR`` when set (as for configuration), else the
project's ``conf/``; so tests and Spark executors find the same files as the CLI.
"""

from __future__ import annotations

import os
from pathlib import Path

from brain.config import project_root


def conf_dir() -> Path:
    override = os.environ.get("BRAIN_CONF_DIR")
    return Path(override) if override else project_root() / "conf"


def contracts_dir() -> Path:
    return conf_dir() / "contracts"


def assets_file() -> Path:
    return conf_dir() / "assets.yaml"
