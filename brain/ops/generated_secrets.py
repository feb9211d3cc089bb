"""Secrets the project generates for the services it starts (PostgreSQL and Airflow passwords,
Airflow's JWT secret): one file each in a private folder under the state dir, never in git.

A secret is generated once, on first use, and read back afterwards, so every process of a
service (and every restart) gets the same value. The folder is 0700 and each file 0600:
only the user who runs the project (and root) can read them.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from brain.config import Config


class SecretMissing(Exception):
    pass


def secrets_dir(cfg: Config) -> Path:
    from brain import storage

    return storage.secrets_dir(cfg)


def secret_path(cfg: Config, name: str) -> Path:
    return secrets_dir(cfg) / name


def generate_token(nbytes: int = 32) -> str:
    """URL- and shell-safe random text (no quoting needed in a connection URL or an env var)."""
    return secrets.token_urlsafe(nbytes)


def ensure(cfg: Config, name: str, make=generate_token) -> str:
    """The secret ``name``, generated (by ``make()``) and written 0600 if it does not exist yet."""
    path = secret_path(cfg, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    try:
        # O_EXCL: two processes generating at once cannot both write; the loser reads the winner's.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return read(cfg, name)
    with os.fdopen(fd, "w") as f:
        f.write(make() + "\n")
    return read(cfg, name)


def read(cfg: Config, name: str) -> str:
    """A secret that must already exist; the error names it and says how it comes to be."""
    path = secret_path(cfg, name)
    try:
        value = path.read_text().strip()
    except FileNotFoundError:
        raise SecretMissing(f"secret {name!r} is missing ({path}); `BRAIN_ENV=cluster-local brain cluster up` "
                            f"generates it") from None
    if not value:
        raise SecretMissing(f"secret {name!r} is empty ({path}); delete the file and run `brain cluster up` again")
    return value
