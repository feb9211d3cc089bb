"""Fault-injection points for the fault suite (tests/fault); inert unless switched on.

A test sets ``BRAIN_FAULT_KILL_AT=<point>`` in a subprocess's environment and
the process SIGKILLs itself when it reaches that point: a crash at an exact
place (after a Delta commit, before the streaming checkpoint commit) that a
timer could only hit by luck.
"""

from __future__ import annotations

import os
import signal

ENV = "BRAIN_FAULT_KILL_AT"
# Set (to 1) where the point is reached in a child of the process to kill: the Spark Connect
# server's Python worker running a foreachBatch function kills the whole server (its process group).
GROUP_ENV = "BRAIN_FAULT_KILL_GROUP"
# A worker forked by the server's warm Python parent (brain/ops/pyworker_zygote.py) lives in that
# parent's process group; the launcher the server started names the server's group here (the
# launcher spells this name itself: it imports nothing from brain).
HOST_GROUP_ENV = "BRAIN_HOST_PGID"


def kill_point(name: str) -> None:
    """SIGKILL this process (and its Spark JVM) if the environment asks for a crash at ``name``."""
    if os.environ.get(ENV) != name:
        return
    # As a process-group leader (the tests start it so) the JVM goes too; a
    # plain kill would let the JVM run on until it notices its parent is gone.
    if os.getpgrp() == os.getpid() or os.environ.get(GROUP_ENV) == "1":
        os.killpg(int(os.environ.get(HOST_GROUP_ENV) or os.getpgrp()), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)
