"""Pure parts of the benchmark harness: target checks, freshness arithmetic, the doc block."""

from __future__ import annotations

from bench import freshness, report


def test_targets_say_met_or_by_how_much_they_are_missed():
    results = {"pipeline_vs_raw_copy": 0.25, "pipeline_vs_handrolled": 12.0, "scaling_8x_time_ratio": 3.0,
               "gx_share": 0.5, "freshness_continuous_p95_s": None, "cycle_overhead_s": 30.0}
    by_field = {t["field"]: t for t in report.check_targets(results)}
    assert by_field["pipeline_vs_raw_copy"]["met"] is False
    assert by_field["pipeline_vs_raw_copy"]["gap"] == "missed: 0.25 is 2.0x short of 0.5"
    assert by_field["gx_share"]["gap"] == "missed: 0.5 is 2.00x the limit 0.25"
    assert by_field["pipeline_vs_handrolled"]["met"] is True and by_field["cycle_overhead_s"]["met"] is True
    assert by_field["freshness_continuous_p95_s"] == {
        "target": "continuous freshness p95 <= 60 s", "field": "freshness_continuous_p95_s", "value": None,
        "limit": 60.0, "met": None, "gap": "not measured"}


def test_probe_latency_is_first_observation_that_includes_it():
    sent = [10.0, 12.0, 14.0]
    observations = [(11.0, 0.0), (15.0, 2.0), (20.0, 2.0)]  # probe 3 never shows
    latencies, unseen = freshness.latencies(sent, observations)
    assert latencies == [5.0, 3.0]
    assert unseen == 1


def test_nearest_rank_percentile():
    assert freshness.percentile([], 0.5) is None
    assert freshness.percentile([3.0, 1.0, 2.0, 4.0], 0.5) == 2.0
    assert freshness.percentile([float(i) for i in range(1, 21)], 0.95) == 19.0


def test_doc_block_is_replaced_and_hand_written_text_kept(tmp_path):
    doc = tmp_path / "benchmarks.md"
    doc.write_text("intro\n<!-- bench:begin -->\nold\n<!-- bench:end -->\noutro\n")
    report.update_doc({"mode": "toy", "pipeline_rps": 1234.0, "targets": []}, doc)
    text = doc.read_text()
    assert text.startswith("intro\n<!-- bench:begin -->\nRun: **toy** mode")
    assert "| `pipeline_rps` | 1,234 |" in text and "\nold\n" not in text
    assert text.endswith("<!-- bench:end -->\noutro\n")
