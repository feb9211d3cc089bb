"""The CLI's surface without running anything heavy: defaults, --json, examples, plain progress."""

from __future__ import annotations

import io
import json

import pytest

from brain.cli import progress
from brain.cli.main import build_parser

REPORTING = [["run"], ["ingest"], ["backfill", "--start", "2026-01-01", "--end", "2026-01-01"], ["maintain"],
             ["show", "gold.x"], ["report"], ["announce"], ["reconcile"], ["doctor"], ["quality"],
             ["quality", "score"], ["quality", "gate"], ["trace", "--lot", "L"], ["kafka", "status"],
             ["spark", "status"], ["mqtt", "status"], ["bridge", "status"], ["bridge", "mqtt"],
             ["quarantine", "list"], ["quarantine", "show"], ["quarantine", "replay"], ["topics", "list"],
             ["simulate"], ["produce", "f.jsonl", "--topic", "t"], ["demo"], ["lineage", "silver.x"],
             ["cluster", "status"], ["explain", "gold.x", "--where", "a='b'"],
             ["users", "list"], ["users", "add-factory", "s"], ["users", "remove", "s"], ["catalog"],
             ["catalog", "silver.x"]]


def test_bare_quality_is_the_scorecard_and_keeps_its_options():
    p = build_parser()
    bare = p.parse_args(["quality"])
    assert bare.quality_action is None and bare.json is False and bare.industry == "all"
    assert p.parse_args(["quality", "--json", "--industry", "energy"]).json is True
    scored = p.parse_args(["quality", "--date", "2026-01-02", "score", "--json"])
    assert (scored.quality_action, scored.date, scored.json) == ("score", "2026-01-02", True)
    assert p.parse_args(["quality", "gate"]).quality_action == "gate"


@pytest.mark.parametrize("argv", REPORTING, ids=" ".join)
def test_every_reporting_command_has_json(argv):
    assert build_parser().parse_args([*argv, "--json"]).json is True
    assert build_parser().parse_args(argv).json is False        # readable by default


def test_every_command_help_has_examples(capsys):
    p = build_parser()
    sub = next(a for a in p._actions if a.dest == "command")
    for name in sub.choices:
        with pytest.raises(SystemExit):
            p.parse_args([name, "--help"])
        assert "examples:" in capsys.readouterr().out, name


def test_offsets_left_and_the_plain_line():
    latest = json.dumps({"t.a": {"0": 100, "1": 50}, "t.b": {"0": 10}})
    end = json.dumps({"t.a": {"0": 60, "1": 50}, "t.b": {"0": 4}})
    assert progress.offsets_left(latest, end) == 40 + 0 + 6
    assert progress.offsets_left(None, end) is None and progress.offsets_left("not json", end) is None
    assert progress.describe(12000, 3, 4.0, 6000) == "12,000 records in 3 batches, 3,000/s, 6,000 left, ETA 2s"
    assert progress.describe(1, 1, 0.0, None) == "1 records in 1 batch"
    assert progress.rate_eta(0, 5.0, 10) == (None, None)


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_plain_off_a_terminal_and_under_airflow(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CTX_DAG_ID", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert progress.interactive(_Tty()) and not progress.interactive(io.StringIO())
    monkeypatch.setenv("AIRFLOW_CTX_DAG_ID", "brain_energy")
    assert not progress.interactive(_Tty())
    monkeypatch.delenv("AIRFLOW_CTX_DAG_ID")
    monkeypatch.setenv("TERM", "dumb")
    assert not progress.interactive(_Tty())


def test_plain_reporter_writes_lines_and_nothing_else():
    out = io.StringIO()
    with progress.Reporter(stream=out) as rep:
        assert rep.task("x", total=3) is None
        rep.update(None, advance=1)
        rep.log("[energy] ingest")
        rep.note("pass_energy: batch 0: 10 records")
    assert out.getvalue() == "[energy] ingest\npass_energy: batch 0: 10 records\n"


def test_terminal_reporter_draws_a_bar_and_keeps_log_lines():
    out = _Tty()
    with progress.Reporter(enabled=True, stream=out) as rep:
        task = rep.task("maintain", total=2)
        rep.update(task, advance=2, detail="gold.x")
        rep.log("[energy] ingest")
        rep.note("only for logs")
    text = out.getvalue()
    assert "[energy] ingest" in text and "maintain" in text and "2/2" in text
    assert "only for logs" not in text
