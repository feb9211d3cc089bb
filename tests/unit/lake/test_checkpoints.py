"""When ingest and clean may skip starting a query: only when the checkpoint provably has everything."""

from __future__ import annotations

import json

from brain.lake.checkpoints import END_INDEX_FLOOR, delta_caught_up, kafka_caught_up


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


def _commit(table, version: int, table_id: str = "abc") -> None:
    log = table / "_delta_log"
    log.mkdir(parents=True, exist_ok=True)
    actions = [{"commitInfo": {}}]
    if version == 0:
        actions.append({"metaData": {"id": table_id}})
    actions.append({"add": {"path": f"part-{version}.parquet", "dataChange": True}})
    (log / f"{version:020d}.json").write_text("\n".join(json.dumps(a) for a in actions))


def test_delta_caught_up_only_when_no_commit_is_newer_than_the_checkpoint(tmp_path):
    table, cp = tmp_path / "bronze", tmp_path / "cp"
    _commit(table, 0)
    _commit(table, 1)
    assert not delta_caught_up(table, cp)  # never ran
    _batch(cp, 0, {"reservoirId": "abc", "reservoirVersion": 2, "index": -1, "isStartingVersion": False})
    assert delta_caught_up(table, cp)  # everything through version 1 processed
    _commit(table, 2)
    assert not delta_caught_up(table, cp)  # a new commit
    _batch(cp, 1, {"reservoirId": "abc", "reservoirVersion": 2, "index": END_INDEX_FLOOR + 5,
                   "isStartingVersion": False})
    assert delta_caught_up(table, cp)  # version 2 fully processed
    _batch(cp, 2, {"reservoirId": "abc", "reservoirVersion": 2, "index": END_INDEX_FLOOR + 5,
                   "isStartingVersion": False}, committed=False)
    assert not delta_caught_up(table, cp)  # a planned batch not committed


def test_delta_not_caught_up_on_a_recreated_table_or_a_first_snapshot(tmp_path):
    table, cp = tmp_path / "bronze", tmp_path / "cp"
    _commit(table, 0, table_id="new-table")
    _batch(cp, 0, {"reservoirId": "old-table", "reservoirVersion": 1, "index": -1, "isStartingVersion": False})
    assert not delta_caught_up(table, cp)
    cp2 = tmp_path / "cp2"
    _batch(cp2, 0, {"reservoirId": "new-table", "reservoirVersion": 0, "index": 3, "isStartingVersion": True})
    assert not delta_caught_up(table, cp2)
