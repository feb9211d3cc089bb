"""spark-submit entry point for a whole cycle (ingest -> clean -> validate -> publish).

    spark-submit jobs/run_cycle.py --industry all
"""

from __future__ import annotations

import sys

from brain.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["run", *sys.argv[1:]]))
