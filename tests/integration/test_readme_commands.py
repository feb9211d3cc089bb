"""README's "Everyday commands" run as written.

Every `.venv/bin/brain ...` line of that list is expanded (`a|b|c` -> three commands, `[--json]` -> with
and without) and each command is either RUN for real against the real test broker and a small real
Delta lake, or, where running it needs what a test cannot give it, its `--help` is run (and must show
examples). The decision is made per command in DECISIONS below, with the reason; a README command
missing from DECISIONS, or a decision for a command README no longer lists, fails the test, so the
list and the test cannot drift apart. Commands run in-process through `brain.cli.main.main`, the
console script `.venv/bin/brain` (setup.cfg) calls, so they use this checkout's code and the
session's Spark; exit status 0 is required.
"""

from __future__ import annotations

import configparser
import re
import shlex
import uuid
from pathlib import Path

import pytest

from brain import config
from brain.clean.shared_tables import ensure_shared_tables
from brain.cli.main import main
from tests import analyst_data as data

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]

RUN, HELP = "run", "help"
DECISIONS: dict[str, tuple[str, str]] = {
    "--help": (RUN, "it is the help"),
    "kafka start": (RUN, "idempotent: finds the running test broker"),
    "kafka stop": (HELP, "would stop the broker the rest of the session uses"),
    "kafka status": (RUN, "against the test broker"),
    "spark start": (HELP, "starts a long-lived Spark Connect JVM (tests/integration/test_spark_connect* cover it)"),
    "spark stop": (HELP, "nothing to stop without start"),
    "spark status": (HELP, "exits 3 by design when no server runs"),
    "cluster up": (HELP, "starts seven JVMs (BRAIN_ENV=cluster-local); tests/integration/test_cluster_local.py does"),
    "cluster down": (HELP, "nothing to stop without up (test_cluster_local.py runs it)"),
    "cluster status": (HELP, "exits 3 by design when the cluster is not up"),
    "mqtt start": (HELP, "starts mosquitto; tests/integration/test_edge_bridge.py runs it on a test port"),
    "mqtt stop": (HELP, "nothing to stop without start"),
    "mqtt status": (HELP, "exits 3 by design when no broker runs"),
    "bridge mqtt": (HELP, "runs until Ctrl-C; tests/integration/test_edge_bridge.py runs it with --once"),
    "bridge status": (RUN, "the test state's (empty, so balanced) bridge ledger"),
    "doctor": (HELP, "minutes of checks, exits 1 on a machine without every part (ops tests cover it)"),
    "doctor --json": (HELP, "as doctor"),
    "topics create": (RUN, "creates this test's prefixed topics"),
    "topics list": (RUN, "lists them"),
    "simulate --industry all --records 20000 --seed 7 --bad-ratio 0.05":
        (HELP, "20,000 records into Kafka take minutes on 2 cores; tests/integration simulator tests run it"),
    "produce readings.jsonl --topic energy.energy_meter": (HELP, "needs the reader's own file"),
    "run --industry energy": (HELP, "a whole cycle takes minutes; tests/e2e run it"),
    "demo": (HELP, "simulates and runs a whole cycle of every industry (minutes); tests/integration/test_demo.py "
                   "runs it and compares README's sample output with it"),
    "demo --json": (HELP, "as demo"),
    "ingest --continuous": (HELP, "runs until Ctrl-C"),
    "reconcile": (RUN, "on the test lake, with the broker"),
    "reconcile --json": (RUN, "as reconcile"),
    "quarantine list": (RUN, "on the test lake's (empty) silver.quarantine"),
    "quarantine show": (HELP, "needs the pipeline's full quarantine schema (raw payload, Kafka coordinates)"),
    "quarantine replay": (HELP, "moves records; tests/integration/test_quarantine_tools.py runs it"),
    "backfill --industry energy --start 2026-11-01 --end 2026-11-07":
        (HELP, "needs bronze tables; fault/e2e tests run it"),
    "maintain": (HELP, "OPTIMIZE + VACUUM of every table took 340 s here in a new process; "
                       "tests/fault/test_concurrent_writers.py runs maintenance against the pass"),
    "show silver.quarantine": (RUN, "on the test lake"),
    "query SELECT site, event_date, oee FROM gold.enterprise_brain ORDER BY event_date": (RUN, "on the test lake"),
    "trace --lot L-123": (RUN, "the test lake has lot L-123"),
    "lineage silver.energy_meter": (HELP, "answers from a lineage-enabled run's events; "
                                          "tests/integration/test_lineage.py runs one and then it"),
    "lineage silver.energy_meter --json": (HELP, "as lineage silver.energy_meter"),
    "explain gold.consumer_goods_oee_daily_line --where line='F1' AND event_date='2026-03-01'":
        (RUN, "the test lake has line F1's row (no silver behind it: explain says so); "
              "tests/integration/test_explain.py checks a real cycle's"),
    "explain gold.consumer_goods_oee_daily_line --where line='F1' AND event_date='2026-03-01' --json":
        (RUN, "as explain"),
    "catalog": (HELP, "the hand-made tables of this test lake are not the pipeline's; "
                      "tests/integration/test_catalog_privacy.py runs it on a real cycle's lake"),
    "catalog --json": (HELP, "as catalog"),
    "report": (RUN, "writes to a temporary folder"),
    "announce": (RUN, "to this test's prefixed brain.metrics topic"),
    "quality": (RUN, "the scorecard of the test lake"),
    "quality --json": (RUN, "as quality"),
}


def readme_commands() -> list[list[str]]:
    """The argument lists of every `.venv/bin/brain` line in README's Everyday commands block."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## Everyday commands\s+```bash\n(.*?)```", text, re.S)
    assert block, "README has no '## Everyday commands' bash block"
    out = []
    for line in block.group(1).splitlines():
        if not line.startswith(".venv/bin/brain"):
            continue
        words = shlex.split(line, comments=True)[1:]
        variants = [[]]
        for w in words:
            if w.startswith("[") and w.endswith("]"):
                variants = [v + extra for v in variants for extra in ([], [w[1:-1]])]
            elif "|" in w:
                variants = [v + [alt] for v in variants for alt in w.split("|")]
            else:
                variants = [v + [w] for v in variants]
        out += variants
    return out


def test_readme_brain_is_the_console_script_the_test_calls():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    assert "brain = brain.cli.main:main" in cfg["options.entry_points"]["console_scripts"]


def test_every_readme_command_has_a_decision():
    listed = {" ".join(c) for c in readme_commands()}
    assert listed - set(DECISIONS) == set(), "README commands without a decision: add them to DECISIONS"
    assert set(DECISIONS) - listed == set(), "DECISIONS for commands README no longer lists: remove them"


@pytest.fixture(scope="module")
def lake(spark, broker, tmp_path_factory):
    root = tmp_path_factory.mktemp("readme")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BRAIN__LAKE__ROOT", str(root / "lake"))
        mp.setenv("BRAIN__LAKE__CHECKPOINTS", str(root / "checkpoints"))
        mp.setenv("BRAIN__KAFKA__TOPIC_PREFIX", f"t{uuid.uuid4().hex[:10]}.")
        mp.setenv("BRAIN__ANALYST__REPORT_DIR", str(root / "reports"))
        cfg = config.load()
        # The analyst tables, and the shared tables (quarantine, duplicates, ...) as the pipeline creates
        # them: reconcile and `quarantine list` read their real schema.
        for name in data.TABLES:
            if name != "silver.quarantine":
                data.write(spark, cfg, name)
        ensure_shared_tables(spark, cfg)
        lot = ("e8", "S1", "F1", data.D1, "lot_to_batch", "L-123", "B-9", 5.0, "kg", "salt")
        data.write(spark, cfg, "silver.consumer_goods_material_genealogy", [lot], mode="append")
        yield cfg


@pytest.mark.parametrize("argv", readme_commands(), ids=" ".join)
def test_readme_command_exits_0(argv, lake, capsys):
    how, why = DECISIONS[" ".join(argv)]
    if how == RUN:
        try:
            rc = main(argv)
        except SystemExit as done:  # argparse's own actions (--help) exit instead of returning
            rc = done.code
        out = capsys.readouterr()
        assert rc == 0, f"`brain {' '.join(argv)}` exited {rc}: {out.err[-2000:]}"
        return
    with pytest.raises(SystemExit) as done:
        main([a for a in argv if not a.startswith("-")][:2] + ["--help"]
             if argv[0] not in ("spark", "kafka", "topics", "quarantine") else argv[:1] + ["--help"])
    assert done.value.code == 0, why
    assert "examples:" in capsys.readouterr().out, f"`brain {argv[0]} --help` shows no examples"
