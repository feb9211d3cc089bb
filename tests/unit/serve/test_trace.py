"""Genealogy traversal (brain.serve.trace.trace / render) on hand-made links: both directions, many levels."""

import pytest

from brain.serve.trace import Link, TraceNotFound, render, trace

LINKS = [
    Link("lot_to_batch", "LOT-A", "B-1", 120.5, "kg", "sugar"),
    Link("lot_to_batch", "LOT-A", "B-2", 80.0, "kg", "sugar"),
    Link("lot_to_batch", "LOT-W", "B-2", 300.0, "L", "water"),
    Link("batch_to_shipment", "B-1", "SHP-1", 600.0, "pcs"),
    Link("batch_to_shipment", "B-2", "SHP-1", 250.0, "pcs"),
    Link("batch_to_shipment", "B-2", "SHP-2", 350.0, "pcs"),
    Link("lot_to_batch", "LOT-Z", "B-3", 10.0, "kg", "salt"),
]


def test_lot_forward_reaches_batches_and_then_shipments_with_quantities():
    r = trace(LINKS, "lot", "LOT-A")
    assert (r["batches"], r["shipments"], r["lots"], r["backward"]) == (["B-1", "B-2"], ["SHP-1", "SHP-2"], [], [])
    assert [(s["level"], s["parent_id"], s["child_id"], s["quantity"], s["unit"]) for s in r["forward"]] == [
        (1, "LOT-A", "B-1", 120.5, "kg"), (1, "LOT-A", "B-2", 80.0, "kg"),
        (2, "B-1", "SHP-1", 600.0, "pcs"), (2, "B-2", "SHP-1", 250.0, "pcs"), (2, "B-2", "SHP-2", 350.0, "pcs")]


def test_shipment_backward_reaches_every_lot_in_it():
    r = trace(LINKS, "shipment", "SHP-2")
    assert (r["batches"], r["lots"], r["forward"]) == (["B-2"], ["LOT-A", "LOT-W"], [])
    assert {(s["parent_id"], s["quantity"], s["unit"]) for s in r["backward"] if s["level"] == 2} == {
        ("LOT-A", 80.0, "kg"), ("LOT-W", 300.0, "L")}


def test_batch_goes_both_ways():
    r = trace(LINKS, "batch", "B-2")
    assert (r["lots"], r["shipments"], r["batches"]) == (["LOT-A", "LOT-W"], ["SHP-1", "SHP-2"], [])


def test_unknown_id_and_wrong_kind_are_clear_errors():
    with pytest.raises(TraceNotFound, match="no lot 'LOT-NOPE'"):
        trace(LINKS, "lot", "LOT-NOPE")
    with pytest.raises(TraceNotFound, match="try --lot LOT-A"):
        trace(LINKS, "batch", "LOT-A")


def test_a_cycle_in_bad_data_ends():
    looped = LINKS + [Link("batch_to_shipment", "SHP-1", "B-1", 1.0, "pcs")]
    r = trace(looped, "lot", "LOT-A")
    # The bad link makes B-1 also a "shipment"; what matters is that the walk ends, each link once.
    assert {"B-1", "B-2"} <= set(r["batches"]) and {"SHP-1", "SHP-2"} <= set(r["shipments"])
    assert len(r["forward"]) == 6 and render(r).count("\n") < 20


def test_render_prints_a_tree_with_quantities():
    text = render(trace(LINKS, "lot", "LOT-Z"))
    assert text.splitlines() == ["lot LOT-Z", "  made into (forward):", "    -> batch B-3: 10 kg [salt]",
                                 "  reached: 0 lots, 1 batches, 0 shipments"]
