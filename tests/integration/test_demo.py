"""`brain demo` (what `make run` runs) for real, and README's quick-start sample against it.

One demo run on a real broker, Spark, Delta and GX: all four industries reach the report, every record
reconciles, gold.enterprise_brain has rows, the dashboard it names passes the same browser checks as
tests/integration/test_dashboard_truth.py, a rerun would take a fresh window, and README's sample output
has the same shape as what the command prints (the layout, not the numbers).
"""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path

import pytest

from brain import config
from brain.cli import demo
from brain.cli.main import main
from tests.browser import screenshot
from tests.integration.test_dashboard_truth import assert_nothing_clipped_or_overlapping, measure

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
INDUSTRIES = ("raw_materials", "equipment_manufacturing", "consumer_goods", "energy")


def readme_sample() -> str:
    """The sample output in README's quick start: the fenced block that starts with "demo window"."""
    m = re.search(r"## Quick start.*?\n```\n(demo window .*?)```", (ROOT / "README.md").read_text(), re.S)
    assert m, "README's quick start has no sample output block starting with 'demo window'"
    return m.group(1)


@pytest.fixture(scope="module")
def ran(spark, broker, tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BRAIN__LAKE__ROOT", str(root / "lake"))
        mp.setenv("BRAIN__LAKE__CHECKPOINTS", str(root / "checkpoints"))
        mp.setenv("BRAIN__KAFKA__TOPIC_PREFIX", f"t{uuid.uuid4().hex[:10]}.")
        mp.setenv("BRAIN__ANALYST__REPORT_DIR", str(root / "reports"))
        cfg = config.load()
        import contextlib
        import io

        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            rc = main(["demo"])
        yield cfg, rc, out.getvalue(), root


def test_demo_reports_every_industry_and_reconciles(ran):
    _, rc, text, _ = ran
    assert rc == 0, text
    lines = text.splitlines()
    for ind in INDUSTRIES:
        row = next(line.split() for line in lines if line.startswith(ind + " "))
        records_in, silver, quarantined, duplicates = map(int, row[1:])
        assert records_in > 0 and records_in == silver + quarantined + duplicates, row
    assert "reconcile: ok (0 lost, 0 doubled)" in lines
    total = next(line.split() for line in lines if line.startswith("total "))
    assert int(total[1]) > 0 and int(total[3]) > 0 and int(total[4]) > 0    # bad data did show up


def test_enterprise_rows_and_a_fresh_window_for_the_rerun(ran):
    cfg, _, text, _ = ran
    from brain.ops import demo_window

    table = text.split("enterprise brain ", 1)[1].split("\n\n", 1)[0].splitlines()
    assert len(table) >= 4, table        # title, header, rule, at least one site
    first = re.search(r"demo window (\S+ \S+)-", text).group(1)
    rerun = demo_window.choose(cfg)
    assert rerun.start.strftime("%Y-%m-%d %H:%M") != first
    assert f"again: adds the window {rerun.label()}" in text


def test_the_dashboard_it_names_passes_the_browser_checks(ran, tmp_path):
    _, _, text, root = ran
    page = Path(re.search(r"^dashboard: (\S+)", text, re.M).group(1))
    assert page == root / "reports" / "index.html" and page.is_file()
    measured = tmp_path / "measured.html"
    shutil.copy(page, measured)
    dom, boxes = measure(measured)
    assert boxes, "the dashboard drew no chart"
    assert_nothing_clipped_or_overlapping(boxes)
    assert '<section id="overview" data-state="data">' in dom and "/ ?" not in dom
    screenshot(page, tmp_path / "demo-dashboard.png")


def test_readme_sample_has_the_shape_of_the_real_output(ran):
    _, _, text, _ = ran
    sample = readme_sample()
    if "brain trace --lot" not in text:
        # The trace hint is printed only when the window holds a shipped lot, which depends on the hour
        # the run's window covers (no shifts ship at night); README's sample is a run that had one.
        assert "brain trace --lot" in sample
        sample = "\n".join(line for line in sample.splitlines() if "brain trace --lot" not in line)
    assert demo.shape(sample) == demo.shape(text)
