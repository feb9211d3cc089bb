"""PostgreSQL runs as another user than root: a data folder it cannot reach fails before initdb, by name."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from brain.ops.postgres import _unreachable_ancestor


def test_a_folder_the_server_user_cannot_enter_is_named():
    # Not pytest's tmp_path: its root folder is itself 0700 (which is how test_cluster_local met this).
    base = Path(tempfile.mkdtemp())
    try:
        os.chmod(base, 0o755)
        private = base / "private"
        private.mkdir(mode=0o700)
        data = private / "cluster" / "postgres" / "data"
        assert _unreachable_ancestor(data, "nobody") == private
        os.chmod(private, 0o755)
        assert _unreachable_ancestor(data, "nobody") is None
    finally:
        shutil.rmtree(base)
