"""When the industry's pass may skip starting its query: only when the checkpoint provably has everything."""

from __future__ import annotations

import json

from brain.lake.checkpoints import kafka_caught_up


def _batch(cp, n: int, offset: dict, committed: bool = True) -> None:
    (cp / "offsets").mkdir(parents=True, exist_ok=True)
    (cp / "commits").mkdir(parents=True, exist_ok=True)
    (cp / "offsets" / str(n)).write_text("v1\n" + json.dumps({"batchWatermarkMs": 0}) + "\n" + json.dumps(offset))
    if committed:
        (cp / "commits" / str(n)).write_text("v1\n{}")


def test_kafka_caught_up_only_when_every_partition_is_exactly_at_the_end(tmp_path):
    cp = tmp_path / "cp"
    assert not kafka_caught_up(cp, "t", {0: 5})  # no checkpoint: must start
    _batch(cp, 0, {"t": {"0": 5, "1": 3}})
    assert kafka_caught_up(cp, "t", {0: 5, 1: 3})
    assert not kafka_caught_up(cp, "t", {0: 6, 1: 3})          # new records
    assert not kafka_caught_up(cp, "t", {0: 5, 1: 3, 2: 0})    # a partition added
    assert not kafka_caught_up(cp, "t", {0: 4, 1: 3})          # Kafka behind: recreated topic, Spark must say so
    assert not kafka_caught_up(cp, "t", {})
    _batch(cp, 1, {"t": {"0": 5, "1": 3}}, committed=False)    # planned, not committed (a crash)
    assert not kafka_caught_up(cp, "t", {0: 5, 1: 3})


def test_kafka_caught_up_reads_its_own_topic_of_a_source_that_subscribes_to_several(tmp_path):
    cp = tmp_path / "cp"
    _batch(cp, 0, {"a": {"0": 5}, "b": {"0": 2, "1": 0}})
    assert kafka_caught_up(cp, "a", {0: 5})
    assert kafka_caught_up(cp, "b", {0: 2, 1: 0})
    assert not kafka_caught_up(cp, "b", {0: 3, 1: 0})
    assert not kafka_caught_up(cp, "c", {0: 1})  # a topic the checkpoint never saw
