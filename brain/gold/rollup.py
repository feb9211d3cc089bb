"""ISA-95 roll-ups of line OEE: line -> site -> enterprise, from components, never averaged.

A site's OEE is not the mean of its lines' OEE: a small line that runs well
would weigh as much as a large one that does not. Every level sums the ISO
22400 time components of the lines below it (PBT, APT, PRU x PQ, PRU x GQ)
and recomputes the ratios from the sums with the Formulas of brain.gold.kpi.formulas
(``kpi.rolled_up_oee`` is the same arithmetic on floats):

    availability  = sum APT / sum PBT
    effectiveness = sum(PRU x PQ) / sum APT
    quality_ratio = sum(PRU x GQ) / sum(PRU x PQ)   (ideal-time weighted)
    oee           = availability x effectiveness x quality_ratio

Quality is weighted by ideal time because sites and industries count in
different units (pieces, tonnes); on a single product it equals GQ / PQ.

A line row whose KPIs are flagged (impossible inputs, see docs/kpis.md) does
not enter the time components: its numbers cannot be trusted. It is counted
in ``lines_flagged``, its produced/good counts and record counts still sum.

The hierarchy is the one in conf/assets.yaml (brain.contracts.assets): every
record carries enterprise/site/line from it; ``lines_registered`` says how many
lines the registry declares for the site (null for a site it does not know,
e.g. a simulated clone), so a line that reported nothing is visible.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from brain.gold.kpi import formulas as kpi
from brain.gold.kpi.columns import kpi_column, with_oee_kpis

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

SITE_KEYS = ("enterprise", "site", "event_date")
ENTERPRISE_KEYS = ("enterprise", "event_date")
TIME_COMPONENTS = ("pot_s", "planned_down_s", "pbt_s", "apt_s", "setup_s", "unplanned_down_s", "ideal_run_s",
                   "ideal_good_s", "failures")
COUNTS = ("produced", "good", "scrap", "rework", "uncertain_records", "bad_records_excluded")


@lru_cache(maxsize=8)
def registered_lines(industry: str | None = None) -> dict[str, int]:
    """site -> number of lines conf/assets.yaml declares for it (all industries when None)."""
    from brain.contracts import load_registry

    reg = load_registry()
    names = [industry] if industry else list(reg.raw["industries"])
    return {site.id: len(site.lines) for ind in names for site in reg.sites(ind)}


def rollup_components(lines: "DataFrame", keys: tuple[str, ...]) -> "DataFrame":
    """Sum the lines' components per ``keys`` (trusted lines only for the time components)."""
    from pyspark.sql import functions as F

    ok = F.size(F.coalesce(F.col("flags"), F.array().cast("array<string>"))) == 0
    # Rows written before ideal_good_s existed: PRU x GQ from the line's own PRU.
    lines = lines.withColumn("ideal_good_s", F.coalesce(
        F.col("ideal_good_s"), F.when(F.col("produced") > 0, F.col("ideal_run_s") * F.col("good") / F.col("produced"))))
    agg = [F.coalesce(F.sum(F.when(ok, F.col(c))), F.lit(0)).alias(c) for c in TIME_COMPONENTS]
    agg += [F.coalesce(F.sum(F.col(c)), F.lit(0)).alias(c) for c in COUNTS]
    agg += [F.count(F.lit(1)).alias("lines"), F.count_if(~ok).alias("lines_flagged")]
    return lines.groupBy(*keys).agg(*agg)


def with_ratios(df: "DataFrame") -> "DataFrame":
    """Availability, effectiveness, quality ratio, OEE (and MTBF, MTTR, utilisation) from summed components."""
    from pyspark.sql import functions as F

    col = F.col
    return with_oee_kpis(df, kpi_column(kpi.EFFECTIVENESS_FROM_TIME, col("ideal_run_s"), col("apt_s")),
                         kpi_column(kpi.QUALITY_FROM_TIME, col("ideal_good_s"), col("ideal_run_s")))


def _registered(site: "Column", counts: dict[str, int]) -> "Column":
    from pyspark.sql import functions as F

    if not counts:
        return F.lit(None).cast("long")
    pairs = [x for k, v in sorted(counts.items()) for x in (F.lit(k), F.lit(v))]
    return F.element_at(F.create_map(*pairs), site).cast("long")


def site_oee(lines: "DataFrame", registry_lines: dict[str, int] | None = None) -> "DataFrame":
    """One row per enterprise/site/day from line OEE rows (gold.<industry>_oee_daily_line)."""
    from pyspark.sql import functions as F

    out = with_ratios(rollup_components(lines, SITE_KEYS))
    return out.withColumn("lines_registered", _registered(F.col("site"), registry_lines or {}))


def enterprise_oee(lines: "DataFrame") -> "DataFrame":
    """One row per enterprise/day from line OEE rows: the same sums over every line of every site."""
    from pyspark.sql import functions as F

    sites = lines.groupBy(*ENTERPRISE_KEYS).agg(F.countDistinct("site").alias("sites"))
    return with_ratios(rollup_components(lines, ENTERPRISE_KEYS)).join(sites, list(ENTERPRISE_KEYS), "left")


def gold_transforms(industry: str) -> dict:
    """The roll-up gold tables of a producing industry: (source record types, transform, options).

    Each transform computes its table from silver; ``rows_of`` names the line
    table and the roll-up over its rows, which the publish uses instead when it
    has just computed that line table for the same days (line OEE is the
    costliest gold plan; computing it once instead of three times per publish).
    """
    from brain.gold.kpi.columns import daily_line_oee

    lines = f"gold.{industry}_oee_daily_line"

    def site_of(line_rows):
        return site_oee(line_rows, registered_lines(industry))

    def site(production, machine_state):
        return site_of(daily_line_oee(production, machine_state))

    def enterprise(production, machine_state):
        return enterprise_oee(daily_line_oee(production, machine_state))

    return {
        f"gold.{industry}_oee_daily_site": (("production", "machine_state"), site, {"rows_of": (lines, site_of)}),
        f"gold.{industry}_oee_daily_enterprise": (("production", "machine_state"), enterprise,
                                                  {"rows_of": (lines, enterprise_oee)}),
    }
