"""`python -m bench --cluster`'s doc block: its own markers in docs/benchmarks.md, which the main
bench's block and the hand-written text around both survive."""

from __future__ import annotations

from bench import cluster, report

RESULTS = {"when": "2026-12-05T10:00:00Z", "total_s": 400.0, "records": 20000, "industry": "energy",
           "spark_master": "spark://127.0.0.1:27077", "machine": {"cpus": 2, "ram_gib": 23.0},
           "pipeline_1": {"rps": 800.0, "records": 20000, "seconds": 25.0, "executors": 1, "driver_s": 30.0},
           "pipeline_2": {"rps": 1000.0, "records": 20000, "seconds": 20.0, "executors": 2, "driver_s": 31.0},
           "two_vs_one_worker": 1.25,
           "broker_kill": {"failover_s": 9.5, "longest_gap_s": 9.6, "acknowledged": 300, "lost": 0,
                           "rejoin_s": 40.0},
           "errors": {}}


def test_the_block_reports_both_worker_counts_and_the_failover():
    block = cluster.render(RESULTS)
    assert block.startswith(cluster.BEGIN) and block.endswith(cluster.END)
    assert "| `pipeline_rps_1_worker` | 800 |" in block and "1 executor(s)" in block
    assert "| `pipeline_rps_2_workers` | 1,000 |" in block and "2 executor(s)" in block
    assert "| `broker_failover_s` | 9.5 |" in block and "0 lost" in block
    assert "| `broker_rejoin_s` | 40 |" in block
    assert "failed" not in block
    failed = cluster.render({**RESULTS, "errors": {"pipeline_2": "boom"}, "pipeline_2": None})
    assert "- `pipeline_2`: boom" in failed and "| `pipeline_rps_2_workers` | n/a |" in failed


def test_update_doc_appends_once_then_replaces_only_its_block(tmp_path):
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\nintro\n\n<!-- bench:begin -->\nmain\n<!-- bench:end -->\n\nafter\n")
    cluster.update_doc(RESULTS, doc)
    first = doc.read_text()
    assert first.count(cluster.BEGIN) == 1 and "intro" in first and "after" in first and "main" in first
    cluster.update_doc({**RESULTS, "two_vs_one_worker": 0.9}, doc)
    second = doc.read_text()
    assert second.count(cluster.BEGIN) == 1 and "| `two_vs_one_worker` | 0.9 |" in second
    assert second.replace("0.9", "1.25") == first
    # The main bench rewrites its own block and keeps the cluster's.
    report.update_doc({"mode": "quick", "details": {}, "targets": []}, doc)
    assert cluster.render(RESULTS).replace("1.25", "0.9") in doc.read_text()
