"""spark-submit entry point for one pipeline stage of one industry.

    spark-submit --master spark://host:7077 jobs/pipeline_stage.py --stage ingest --industry energy

Thin on purpose: parse arguments, load config, call brain.pipeline (the same
functions `brain run` and the DAGs call), print the stage report as JSON.
The session is built from conf/ (Delta, Kafka connector, master); a master
given to spark-submit wins.
"""

from __future__ import annotations

import argparse
import json
import sys

STAGES = ("ingest", "validate", "publish")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", choices=STAGES, required=True)
    parser.add_argument("--industry", required=True, help="an industry from conf 'industries'")
    parser.add_argument("--run-id", help="ties ingest and validate to the same rows (default: a new id)")
    args = parser.parse_args(argv)

    from brain import pipeline
    from brain.config import load

    cfg = load()
    run_id = args.run_id or pipeline.new_run_id()
    if args.stage == "ingest":
        report = pipeline.ingest(cfg, args.industry, run_id, log=lambda m: print(m, file=sys.stderr))
    elif args.stage == "validate":
        report = pipeline.validate(cfg, args.industry, run_id)
    else:
        report = pipeline.publish(cfg, args.industry)
    print(json.dumps({"stage": args.stage, "industry": args.industry, "run_id": run_id, "report": report},
                     default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
