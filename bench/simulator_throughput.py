"""Benchmark: simulator records/s into Kafka (acks=all, idempotent), JSON Lines, and generation alone.

    python bench/simulator_throughput.py [RECORDS] [--repeat 3]

Sends RECORDS records of every industry to the configured broker on topics
with a throw-away prefix (deleted afterwards), checks the end offsets add up,
and writes bench/results/simulator_throughput.json. The Kafka figure includes
waiting for every acknowledgement.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("records", nargs="?", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    os.environ["BRAIN__KAFKA__TOPIC_PREFIX"] = f"bench{uuid.uuid4().hex[:8]}."
    sys.path.insert(0, str(ROOT))
    from brain import config
    from brain.contracts import topic_names
    from brain.ingest import kafka_io
    from brain.simulator import run_simulation

    cfg = config.load()
    topics = topic_names.all_topics(cfg)
    results: dict[str, list[float]] = {"kafka": [], "jsonl": [], "generate_only": []}
    load_before = os.getloadavg()[0]
    try:
        for i in range(args.repeat):
            summary = run_simulation(cfg, records=args.records, seed=1000 + i)
            written = sum(t.total for t in kafka_io.describe_topics(cfg, topics))
            assert written == (i + 1) * args.records, (written, args.records)
            results["kafka"].append(summary.records_per_s)
            with tempfile.TemporaryDirectory() as out:
                results["jsonl"].append(run_simulation(cfg, records=args.records, seed=1000 + i,
                                                       out=out).records_per_s)
            results["generate_only"].append(run_simulation(cfg, records=args.records, seed=1000 + i,
                                                           dry_run=True).records_per_s)
    finally:
        client = kafka_io.admin(cfg)
        client.delete_topics([t for t in client.list_topics() if t in topics])
        client.close()
    report = {
        "benchmark": "simulator_throughput",
        "records": args.records,
        "repeat": args.repeat,
        "records_per_s_median": {k: round(statistics.median(v)) for k, v in results.items()},
        "records_per_s_runs": {k: [round(x) for x in v] for k, v in results.items()},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    # Other work on the machine (Spark, the broker's own load) halves these figures.
                    "load_average_1m_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)]},
        "producer": "confluent-kafka (librdkafka), acks=all, idempotence, lz4, linger 100 ms, 2 MB batches",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    out = ROOT / "bench" / "results" / "simulator_throughput.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report["records_per_s_median"]))


if __name__ == "__main__":
    main()
