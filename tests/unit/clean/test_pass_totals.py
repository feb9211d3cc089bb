"""A pass's counts come back to the client when its batch function ran elsewhere (Spark Connect's worker)."""

from __future__ import annotations

import pickle
from datetime import date

from brain.clean.industry_pass import PassTotals
from brain.clean.silver import CleanResult


def _result(n: int) -> CleanResult:
    return CleanResult("silver.energy_meter", bronze_rows=n, inserted=n - 1, quarantined=1,
                       touched_days={date(2026, 1, n)})


def test_in_process_batches_add_up_directly():
    totals = PassTotals()
    totals.record({"t": 3}, [_result(3)])
    assert totals.rows == {"t": 3} and totals.cleaned["silver.energy_meter"].inserted == 2


def test_a_copy_run_elsewhere_leaves_batches_the_original_collects(tmp_path):
    totals = PassTotals(inbox=tmp_path / "inbox")
    remote = pickle.loads(pickle.dumps(totals))  # what the server's worker gets
    remote.record({"t": 3}, [_result(3)])
    remote.record({"t": 4}, [_result(4)])
    assert totals.rows == {}  # nothing until collected
    totals.collect()
    c = totals.cleaned["silver.energy_meter"]
    assert totals.rows == {"t": 7} and totals.batches == {"t": 2}
    assert (c.bronze_rows, c.inserted, c.quarantined, c.batches) == (7, 5, 2, 2)
    assert c.touched_days == {date(2026, 1, 3), date(2026, 1, 4)}
    totals.collect()  # collected once: nothing counted twice
    assert totals.rows == {"t": 7}
    totals.close()
    assert not (tmp_path / "inbox").exists()


def test_only_a_python_worker_that_did_not_start_counts_as_safe_to_start_again():
    from brain.clean.industry_pass import worker_start_failed

    assert worker_start_failed(Exception("SparkException: Python worker failed to connect back.\n\nJVM stacktrace:"))
    assert not worker_start_failed(Exception("[DELTA_CONCURRENT_APPEND] Files were added"))
    assert not worker_start_failed(Exception("KafkaDataLost: offsets 5-9 are gone"))
