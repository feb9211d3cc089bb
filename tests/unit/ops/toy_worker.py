"""A stand-in for a Spark worker module, run by tests/unit/ops/test_pyworker_zygote.py."""

import os
import sys
import time

line = sys.stdin.readline().strip()
print(f"{os.environ.get('TOY_WORD')} {line} ppid={os.getppid()} cwd={os.getcwd()} "
      f"host_pgid={os.environ.get('BRAIN_HOST_PGID')}", flush=True)
time.sleep(float(os.environ.get("TOY_SLEEP", "0")))
sys.exit(int(os.environ.get("TOY_EXIT", "0")))
