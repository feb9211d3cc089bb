"""The pass compiles a micro-batch's queries only when the batch is large (spark.compiled_from_rows).

The switch happens on the streaming query's own session inside the batch function; this checks
that it reaches the queries that classify, deduplicate and write the batch, by counting the
classes Spark compiles while a real pass runs (real broker, real Delta).
"""

from __future__ import annotations

import pytest

from brain import config, pipeline
from tests.energy_data import batch, send

pytestmark = pytest.mark.integration


def _compiled_by_a_pass(spark, cfg) -> int:
    metrics = getattr(spark._jvm, "org.apache.spark.metrics.source.CodegenMetrics")
    msgs, _ = batch()
    send(cfg, msgs)
    before = metrics.METRIC_COMPILATION_TIME().getCount()
    report = pipeline.ingest(cfg, "energy", pipeline.new_run_id(), log=lambda m: None)
    assert sum(c["bronze_rows"] for c in report["clean"]) == len(msgs)
    return metrics.METRIC_COMPILATION_TIME().getCount() - before


def test_a_small_batch_runs_interpreted_and_a_batch_over_the_threshold_compiled(broker, spark, isolated_cfg,
                                                                                monkeypatch):
    small = _compiled_by_a_pass(spark, isolated_cfg)  # a handful of rows: under the 20,000 default
    monkeypatch.setenv("BRAIN__SPARK__COMPILED_FROM_ROWS", "1")  # now every batch counts as large
    large = _compiled_by_a_pass(spark, config.load())
    # Interpreted, a few classes remain (aggregates without an interpreted form); compiled, every
    # stage of every query is a class of its own.
    assert large >= 4 * max(small, 1), (small, large)
