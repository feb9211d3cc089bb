"""``gold.data_quality_daily``: a DCMM / GB/T 36344 data-quality scorecard per industry, site and day.

Every dimension is a share in [0, 1] (1 = perfect) with the counts it was
computed from, so a reader can re-derive it:

- **completeness** = readings received / readings expected, over every
  *stream* (telemetry: site/line/device/sensor with the sensor's ``period_s``
  from conf/assets.yaml; energy: site/line/device/carrier with the record's
  ``interval_s``). Expected readings of a stream on a day =
  ``(last - first reading's event time) / period + 1``: the seconds *covered*
  are the span between its first and last reading that day, so a device that
  starts at noon or a day still in progress is not penalised for hours it was
  not expected to report, while gaps inside the span are. Each stream's
  received count is capped at its expected count (a faster-than-registered
  sender is complete, not "more than complete"). Summed over streams, then divided.
  Example: 1 s period, first reading 00:00:00, last 00:59:59, 3,000 readings
  -> 3,000 / 3,600 = 0.8333.
  A stream the asset registry expects (every sensor of every registered device
  of the site; every registered meter) that sent nothing that day while its
  site sent something is *silent*: it counts 0 received of the readings its
  period fits into the site's span that day (the site's first to last reading
  of any stream), and ``silent_streams`` counts them. A site that sent nothing
  at all has no row (nothing says the day happened there).
- **timeliness** (GB/T 36344 时效性, at a point in time) is measured on *live*
  rows only: the share whose producer-to-ingest delay ``_ingest_ts - _kafka_ts``
  (the producer's send time, Kafka's record timestamp, to the lake commit) is at
  most ``quality.timeliness_s``; ``ingest_lag_p95_s`` is that delay's
  approximate 95th percentile. A row sent more than ``quality.historical_after_s``
  after its event time (``_kafka_ts - event_ts_utc``) is *historical load*
  (history loaded or backfilled, not a late reading): it is counted in
  ``historical_rows`` and left out of timeliness, so a site-day with only
  history has timeliness null ("historical load" in the dashboard), not 0.
  By event day.
- **validity** = records that reached silver / (silver + quarantine), by the
  day the record *arrived* (its Kafka timestamp; quarantined rows have no
  trustworthy event time). Quarantined rows are attributed to the site in
  their Kafka key when it has the ``site/line/device`` shape; any other key
  (missing, unreadable, another shape) is the site ``unattributed``.
- **uniqueness** = 1 - duplicates / (silver rows + duplicates), duplicates
  from ``quality.duplicates`` joined to the silver copy they repeat (for its
  site and event day).
- **consistency** = 1 - inconsistent / checked production reports. A report
  is inconsistent when it counts ``produced > 0`` while every machine of its
  line that reported a state was DOWN for the report's whole interval
  ``[start_ts, end_ts]`` (the state in force at ``start_ts`` is DOWN and the
  next state change is at or after ``end_ts``). Checked = reports of lines
  with at least one known machine state at ``start_ts``.
- **accuracy** (GB/T 36344 准确性) = 1 - failed / checked, over three checks
  a record either passes or fails: a telemetry reading within its sensor's
  *normal* band in conf/assets.yaml (``readings_out_of_normal``: the
  instrument range is already enforced by quarantine, so what reaches silver
  is physically possible; outside the normal band it is suspect, a process
  excursion or a drifting transmitter); a production report whose
  ``good + scrap + rework = produced`` (``production_unbalanced``; relative
  tolerance 1e-9 for decimal tonnes); an inspection with ``passed <= inspected``
  (``inspections_overpassed``). ``accuracy_checked`` counts the checks. By
  event day.
- **overall** = the mean of the dimensions that have a value for that site
  and day, weighted by ``quality.scorecard_weights`` (default 1 each; a
  dimension without data is null, not 0 or 1, and its weight leaves the
  denominator too).

The transforms below are pure (DataFrames in, DataFrame out);
``build_scorecard`` reads the lake and ``publish_scorecard`` writes the days
asked for, replacing exactly (industry, those days).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import TYPE_CHECKING

from brain.config import Config
from brain.lake.day_writes import replace_days
from brain.lake.frames import local_frame
from brain.lake.tables import DUPLICATES, QUARANTINE, is_delta, silver_table, table_path

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

SCORECARD = "gold.data_quality_daily"
DEFAULT_TIMELINESS_S = 900
DEFAULT_HISTORICAL_AFTER_S = 3600
UNKNOWN_SITE = "unattributed"
KEY_SHAPE = r"^[^/]+/[^/]+/[^/]+$"
KEYS = ("site", "event_date")
DIMENSIONS = ("completeness", "timeliness", "validity", "uniqueness", "consistency", "accuracy")
BALANCE_TOLERANCE = 1e-9  # relative: good + scrap + rework may be decimal tonnes
COLUMNS = ("industry", "site", "event_date",
           "readings_received", "readings_expected", "silent_streams", "completeness",
           "rows", "historical_rows", "on_time_rows", "timeliness", "ingest_lag_p95_s",
           "valid_records", "quarantined_records", "validity",
           "duplicate_records", "uniqueness",
           "production_checked", "production_inconsistent", "consistency",
           "accuracy_checked", "readings_out_of_normal", "production_unbalanced", "inspections_overpassed",
           "accuracy",
           "overall")

# One type per column whichever dimensions a batch has: an industry without
# production data must write the same schema as one with it.
COUNTS = frozenset({"readings_received", "silent_streams", "rows", "historical_rows", "on_time_rows",
                    "valid_records", "quarantined_records", "duplicate_records", "production_checked",
                    "production_inconsistent", "accuracy_checked", "readings_out_of_normal",
                    "production_unbalanced", "inspections_overpassed"})
TYPES = {c: "long" if c in COUNTS else "double" for c in COLUMNS}
TYPES.update({"industry": "string", "site": "string", "event_date": "date"})


# --- pure transforms ----------------------------------------------------------------------

def completeness(streams: "DataFrame", expected: "DataFrame | None" = None) -> "DataFrame":
    """(site, event_date, readings_received, readings_expected, silent_streams, completeness).

    ``streams``: one row per reading with ``site``, ``event_date``, ``stream``
    (any id of the sending channel), ``event_ts_utc`` and ``period_s``.
    ``expected``: the streams the registry expects (``site``, ``stream``, ``period_s``); one of them
    without a reading on a day its site sent something is silent (0 received, expected over the
    site's span that day). None: only the streams that sent something count.
    """
    from pyspark.sql import functions as F

    live = streams.where(F.col("period_s") > 0)
    per_stream = (live.groupBy("site", "event_date", "stream")
                  .agg(F.count("*").alias("received"),
                       F.min("event_ts_utc").alias("first"), F.max("event_ts_utc").alias("last"),
                       F.max("period_s").alias("period_s"))
                  .withColumn("expected", _fits(F.col("first"), F.col("last"), F.col("period_s")))
                  .withColumn("received", F.least(F.col("received"), F.col("expected")))
                  .select(*KEYS, "stream", "received", "expected", F.lit(0).alias("silent")))
    if expected is not None:
        site_days = live.groupBy(*KEYS).agg(F.min("event_ts_utc").alias("first"),
                                            F.max("event_ts_utc").alias("last"))
        silent = (site_days.join(expected.where(F.col("period_s") > 0).select("site", "stream", "period_s"), "site")
                  .join(per_stream.select(*KEYS, "stream"), [*KEYS, "stream"], "left_anti")
                  .select(*KEYS, "stream", F.lit(0).cast("long").alias("received"),
                          _fits(F.col("first"), F.col("last"), F.col("period_s")).alias("expected"),
                          F.lit(1).alias("silent")))
        per_stream = per_stream.unionByName(silent)
    return (per_stream.groupBy(*KEYS)
            .agg(F.sum("received").cast("long").alias("readings_received"),
                 F.sum("expected").cast("double").alias("readings_expected"),
                 F.sum("silent").cast("long").alias("silent_streams"))
            .withColumn("completeness", _ratio(F.col("readings_received"), F.col("readings_expected"))))


def _fits(first: "Column", last: "Column", period_s: "Column") -> "Column":
    """Readings of period ``period_s`` from ``first`` to ``last``, both ends included."""
    from pyspark.sql import functions as F

    return F.floor((_seconds(last) - _seconds(first)) / period_s) + 1


def timeliness(rows: "DataFrame", latency_s: float,
               historical_after_s: float = DEFAULT_HISTORICAL_AFTER_S) -> "DataFrame":
    """(site, event_date, rows, historical_rows, on_time_rows, timeliness, ingest_lag_p95_s) from rows
    with ``site``, ``event_date``, ``event_ts_utc``, ``_kafka_ts`` and ``_ingest_ts``.

    Historical rows (sent long after their event) are counted, not judged: the pipeline cannot be
    late for data that was already old when it was sent."""
    from pyspark.sql import functions as F

    delay = _seconds(F.col("_ingest_ts")) - _seconds(F.col("_kafka_ts"))
    historical = (_seconds(F.col("_kafka_ts")) - _seconds(F.col("event_ts_utc"))) > float(historical_after_s)
    live = rows.withColumn("_delay", F.when(~historical, delay)).withColumn("_historical", historical)
    return (live.groupBy(*KEYS)
            .agg(F.count("*").alias("rows"),
                 F.count(F.when(F.col("_historical"), 1)).alias("historical_rows"),
                 F.count(F.when(F.col("_delay") <= float(latency_s), 1)).alias("on_time_rows"),
                 F.percentile_approx("_delay", 0.95).cast("double").alias("ingest_lag_p95_s"))
            .withColumn("timeliness", _ratio(F.col("on_time_rows"), F.col("rows") - F.col("historical_rows"))))


def validity(valid: "DataFrame", quarantined: "DataFrame") -> "DataFrame":
    """(site, event_date, valid_records, quarantined_records, validity); both inputs have
    ``site`` and ``event_date`` (= the arrival day, see the module docstring)."""
    from pyspark.sql import functions as F

    v = valid.groupBy(*KEYS).agg(F.count("*").alias("valid_records"))
    q = quarantined.groupBy(*KEYS).agg(F.count("*").alias("quarantined_records"))
    out = v.join(q, list(KEYS), "full").fillna(0, ["valid_records", "quarantined_records"])
    total = F.col("valid_records") + F.col("quarantined_records")
    return out.withColumn("validity", _ratio(F.col("valid_records"), total))


def uniqueness(kept: "DataFrame", duplicates: "DataFrame") -> "DataFrame":
    """(site, event_date, duplicate_records, uniqueness). ``kept``: silver rows (``event_id``,
    ``site``, ``event_date``); ``duplicates``: one row per discarded copy (``event_id``)."""
    from pyspark.sql import functions as F

    dup_rows = duplicates.select("event_id").join(kept.select("event_id", *KEYS), "event_id")
    d = dup_rows.groupBy(*KEYS).agg(F.count("*").alias("duplicate_records"))
    k = kept.groupBy(*KEYS).agg(F.count("*").alias("_kept"))
    out = k.join(d, list(KEYS), "left").fillna(0, ["duplicate_records"])
    total = F.col("_kept") + F.col("duplicate_records")
    return out.withColumn("uniqueness", 1 - _ratio(F.col("duplicate_records"), total)).drop("_kept")


def consistency(production: "DataFrame", states: "DataFrame") -> "DataFrame":
    """(site, event_date, production_checked, production_inconsistent, consistency).

    ``production``: ``event_id, site, line, event_date, start_ts_utc, end_ts_utc, produced``;
    ``states``: ``site, line, device, event_ts_utc, state`` (machine_state rows).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    w = Window.partitionBy("site", "line", "device").orderBy("event_ts_utc")
    spans = (states.select("site", "line", "device", "event_ts_utc", "state")
             .withColumn("_until", F.lead("event_ts_utc").over(w)))
    p = production.select("event_id", "site", "line", "event_date", "start_ts_utc", "end_ts_utc", "produced")
    # Each machine's state in force at the report's start, and whether it lasted to the end.
    at_start = (spans.join(p, ["site", "line"])
                .where((F.col("event_ts_utc") <= F.col("start_ts_utc"))
                       & (F.col("_until").isNull() | (F.col("_until") > F.col("start_ts_utc")))))
    down = (F.col("state") == "DOWN") & (F.col("_until").isNull() | (F.col("_until") >= F.col("end_ts_utc")))
    per_report = (at_start.groupBy("event_id", "site", "event_date")
                  .agg(F.count("*").alias("_machines"), F.count(F.when(down, 1)).alias("_down"),
                       F.max("produced").alias("produced")))
    bad = (F.col("_down") == F.col("_machines")) & (F.col("produced") > 0)
    return (per_report.groupBy(*KEYS)
            .agg(F.count("*").alias("production_checked"),
                 F.count(F.when(bad, 1)).alias("production_inconsistent"))
            .withColumn("consistency",
                        1 - _ratio(F.col("production_inconsistent"), F.col("production_checked"))))


def accuracy(readings: "DataFrame | None" = None, production: "DataFrame | None" = None,
             inspections: "DataFrame | None" = None) -> "DataFrame":
    """(site, event_date, accuracy_checked, readings_out_of_normal, production_unbalanced,
    inspections_overpassed, accuracy).

    ``readings``: ``site, event_date, value, normal_lo, normal_hi`` (a reading without a band, a
    sensor the registry does not know, is not checked); ``production``: ``site, event_date, produced,
    good, scrap, rework``; ``inspections``: ``site, event_date, inspected, passed``. Each row is one
    check; nulls in a count make the check fail (the counts cannot be shown to add up).
    """
    from functools import reduce

    from pyspark.sql import functions as F

    checks = []
    if readings is not None:
        r = readings.where(F.col("normal_lo").isNotNull() & F.col("normal_hi").isNotNull()
                           & F.col("value").isNotNull())
        checks.append(r.select(*KEYS, F.lit("reading").alias("_check"),
                               F.col("value").between(F.col("normal_lo"), F.col("normal_hi")).alias("_ok")))
    if production is not None:
        parts = F.col("good") + F.col("scrap") + F.col("rework")
        tol = F.greatest(F.lit(1.0), F.abs(F.col("produced").cast("double"))) * BALANCE_TOLERANCE
        ok = F.coalesce(F.abs(parts.cast("double") - F.col("produced").cast("double")) <= tol, F.lit(False))
        checks.append(production.select(*KEYS, F.lit("production").alias("_check"), ok.alias("_ok")))
    if inspections is not None:
        ok = F.coalesce(F.col("passed") <= F.col("inspected"), F.lit(False))
        checks.append(inspections.select(*KEYS, F.lit("inspection").alias("_check"), ok.alias("_ok")))
    if not checks:
        raise ValueError("accuracy needs at least one of readings, production, inspections")
    failed = lambda kind: F.count(F.when((F.col("_check") == kind) & ~F.col("_ok"), 1))  # noqa: E731
    return (reduce(lambda a, b: a.unionByName(b), checks).groupBy(*KEYS)
            .agg(F.count("*").alias("accuracy_checked"), failed("reading").alias("readings_out_of_normal"),
                 failed("production").alias("production_unbalanced"),
                 failed("inspection").alias("inspections_overpassed"),
                 F.count(F.when(~F.col("_ok"), 1)).alias("_failed"))
            .withColumn("accuracy", 1 - _ratio(F.col("_failed"), F.col("accuracy_checked")))
            .drop("_failed"))


def dimension_weights(cfg: Config | None) -> dict[str, float]:
    """``quality.scorecard_weights`` (dimension -> weight >= 0; a dimension left out weighs 1)."""
    from brain.config import ConfigError, reject_unknown

    given = dict(cfg.get("quality.scorecard_weights", {}) or {}) if cfg is not None else {}
    reject_unknown(given, DIMENSIONS, "quality.scorecard_weights", what="dimension(s)")
    weights = {}
    for d in DIMENSIONS:
        w = given.get(d, 1)
        if isinstance(w, bool) or not isinstance(w, (int, float)) or w < 0:
            raise ConfigError(f"quality.scorecard_weights.{d} = {w!r}: a weight is a number >= 0")
        weights[d] = float(w)
    if not any(weights.values()):
        raise ConfigError("quality.scorecard_weights: every weight is 0; at least one dimension must count")
    return weights


def scorecard(industry: str, parts: Iterable["DataFrame"], weights: dict[str, float] | None = None) -> "DataFrame":
    """Outer-join the dimension frames on (site, event_date); add ``industry`` and ``overall``, the
    mean of the dimensions present weighted by ``weights`` (dimension -> weight, default 1 each).

    Each frame has at most one row per (site, event_date) and columns of its own, so the outer join
    is the frames stacked and grouped once: a (site, day) a frame lacks reads its columns as null,
    as the join would give. A chain of full joins shuffles and sorts the growing result once per
    dimension; this is one shuffle for all six.
    """
    from functools import reduce

    from pyspark.sql import functions as F

    frames = list(parts)
    if not frames:
        raise ValueError("scorecard needs at least one dimension frame")
    owned = [c for f in frames for c in f.columns if c not in KEYS]
    if len(owned) != len(set(owned)):
        raise ValueError(f"scorecard: two dimension frames share a column ({sorted(owned)})")
    stacked = reduce(lambda a, b: a.unionByName(b, allowMissingColumns=True), frames)
    out = stacked.groupBy(*KEYS).agg(*[F.max(c).alias(c) for c in owned])
    for c in COLUMNS:
        if c not in out.columns and c not in ("industry", "overall"):
            out = out.withColumn(c, F.lit(None))
    w = {d: float((weights or {}).get(d, 1.0)) for d in DIMENSIONS}
    dims = [(F.col(d), w[d]) for d in DIMENSIONS if w[d] > 0]
    present = sum((F.when(d.isNotNull(), F.lit(wt)).otherwise(0.0) for d, wt in dims), F.lit(0.0))
    total = sum((F.coalesce(d, F.lit(0.0)) * wt for d, wt in dims), F.lit(0.0))
    out = (out.withColumn("industry", F.lit(industry))
           .withColumn("overall", F.when(present > 0, total / present)))
    return out.select(*[F.col(c).cast(TYPES[c]).alias(c) for c in COLUMNS])


def key_site(key: "Column") -> "Column":
    """The site of a quarantined record from its Kafka key (binary): the first part of a
    ``site/line/device`` key, else ``unattributed`` (no key, unreadable, another shape)."""
    from pyspark.sql import functions as F

    text = key.cast("string")  # invalid UTF-8 decodes to U+FFFD: still matched on shape only
    return F.coalesce(F.when(text.rlike(KEY_SHAPE), F.split(text, "/").getItem(0)), F.lit(UNKNOWN_SITE))


def _seconds(ts: "Column") -> "Column":
    """Epoch seconds with the fraction (a timestamp cast to double)."""
    return ts.cast("double")


def _ratio(num: "Column", den: "Column") -> "Column":
    from pyspark.sql import functions as F

    return F.when(den > 0, num.cast("double") / den.cast("double"))


# --- reading the lake -----------------------------------------------------------------------

def _read(spark: "SparkSession", cfg: Config, name: str) -> "DataFrame | None":
    path = table_path(cfg, name)
    return spark.read.format("delta").load(str(path)) if is_delta(path) else None


def sensor_periods(registry=None) -> dict[str, float]:
    from brain.contracts import load_registry

    reg = registry or load_registry()
    return {name: float(s.period_s) for name, s in reg.sensors.items()}


def expected_streams(industry: str, record_types: Iterable[str], registry=None) -> list[tuple[str, str, float]]:
    """(site, stream, period_s) of every stream the asset registry expects from ``industry``: each
    sensor of each device of each line (telemetry: ``site/line/device/sensor``), and for energy every
    site and line meter of the host industries' sites (``site/line/device/carrier``, the site meters on
    line ``site-main``). The stream ids are the ones ``build_scorecard`` gives the readings."""
    from brain.contracts import load_registry
    from brain.contracts.assets import HOST_INDUSTRIES, SITE_METER_LINE, RegistryError

    reg = registry or load_registry()
    kinds = set(record_types)
    out = []
    if industry == "energy" and "energy_meter" in kinds:
        for site in reg.fleet(HOST_INDUSTRIES):
            out += [(site.id, f"{site.id}/{SITE_METER_LINE}/{m.device}/{m.carrier}", float(m.interval_s))
                    for m in site.meters]
            out += [(site.id, f"{site.id}/{ln.id}/{ln.meter.device}/{ln.meter.carrier}", float(ln.meter.interval_s))
                    for ln in site.lines if ln.meter]
    if "telemetry" in kinds:
        try:
            sites = reg.sites(industry)
        except RegistryError:  # an industry without registered sites: nothing is expected
            sites = []
        out += [(site.id, f"{site.id}/{ln.id}/{d.id}/{spec.name}", float(spec.period_s))
                for site in sites for ln in site.lines for d in ln.devices for spec in reg.device_sensors(d)]
    return out


def normal_bands(registry=None) -> dict[str, tuple[float, float]]:
    """Sensor -> its normal band (lo, hi) in its canonical unit, from the asset registry."""
    from brain.contracts import load_registry

    return {name: s.normal for name, s in (registry or load_registry()).sensors.items()}


def scorecard_days(record_type: str, days: Iterable[date]) -> set[date]:
    """The silver days of ``record_type`` the scorecard of ``days`` reads: the days themselves, and for
    machine states the day before the first (a state in force at a report's start may be older)."""
    days = sorted(set(days))
    if record_type == "machine_state" and days:
        lo, hi = min(days) - timedelta(days=1), max(days)
        return {lo + timedelta(days=i) for i in range((hi - lo).days + 1)}
    return set(days)


def build_scorecard(spark: "SparkSession", cfg: Config, industry: str, days: Iterable[date],
                    silver_rows: "dict[str, DataFrame] | None" = None) -> "DataFrame | None":
    """The scorecard rows of ``industry`` for ``days`` (None when the industry has no silver data).

    ``silver_rows`` (silver table -> rows already read) must hold ``scorecard_days`` of each table.
    """
    from itertools import chain

    from pyspark.sql import functions as F

    days = sorted(set(days))
    if not days:
        return None
    in_days = F.col("event_date").isin(days)
    silver: dict[str, DataFrame] = {}
    for rt in cfg.get(f"industries.{industry}.record_types"):
        name = silver_table(industry, rt)
        df = silver_rows[name] if silver_rows is not None and name in silver_rows else _read(spark, cfg, name)
        if df is not None:
            silver[rt] = df
    if not silver:
        return None

    common = ["event_id", "site", "event_date", "event_ts_utc", "_ingest_ts", "_kafka_ts"]
    rows = None
    for df in silver.values():
        part = df.select(*common)
        rows = part if rows is None else rows.unionByName(part)
    parts = [timeliness(rows.where(in_days), float(cfg.get("quality.timeliness_s", DEFAULT_TIMELINESS_S)),
                        float(cfg.get("quality.historical_after_s", DEFAULT_HISTORICAL_AFTER_S)))]

    streams = []
    if "telemetry" in silver:
        periods = F.create_map(*chain.from_iterable((F.lit(k), F.lit(v)) for k, v in sensor_periods().items()))
        streams.append(silver["telemetry"].where(in_days).select(
            "site", "event_date", "event_ts_utc",
            F.concat_ws("/", "site", "line", "device", "sensor").alias("stream"),
            periods[F.col("sensor")].alias("period_s")))
    if "energy_meter" in silver:
        streams.append(silver["energy_meter"].where(in_days).select(
            "site", "event_date", "event_ts_utc",
            F.concat_ws("/", "site", "line", "device", "carrier").alias("stream"),
            F.col("interval_s").cast("double").alias("period_s")))
    if streams:
        s = streams[0] if len(streams) == 1 else streams[0].unionByName(streams[1])
        wanted = expected_streams(industry, silver)
        # Literals, not createDataFrame: in-process that parallelises pickled rows, and reading them
        # starts a Python worker (seconds, the first time in each Airflow task's process).
        expected = local_frame(spark, wanted, "site string, stream string, period_s double") if wanted else None
        parts.append(completeness(s, expected))

    checks = {}
    if "telemetry" in silver:
        bands = normal_bands()
        lo = F.create_map(*chain.from_iterable((F.lit(k), F.lit(v[0])) for k, v in bands.items()))
        hi = F.create_map(*chain.from_iterable((F.lit(k), F.lit(v[1])) for k, v in bands.items()))
        checks["readings"] = silver["telemetry"].where(in_days).select(
            *KEYS, F.col("value").cast("double").alias("value"),
            lo[F.col("sensor")].alias("normal_lo"), hi[F.col("sensor")].alias("normal_hi"))
    if "production" in silver:
        checks["production"] = silver["production"].where(in_days).select(*KEYS, "produced", "good", "scrap",
                                                                          "rework")
    if "quality_inspection" in silver:
        checks["inspections"] = silver["quality_inspection"].where(in_days).select(*KEYS, "inspected", "passed")
    if checks:
        parts.append(accuracy(**checks))

    arrived = F.to_date(F.col("_kafka_ts")).alias("event_date")
    valid = rows.select("site", arrived).where(in_days)
    q = _read(spark, cfg, QUARANTINE)
    if q is not None:
        # The arrival-day range as a plain predicate on kafka_ts as well: Delta skips the files whose
        # kafka_ts statistics lie outside it, so the read does not grow with quarantine's history.
        first_ts = F.to_timestamp(F.lit(min(days).isoformat()))
        after_ts = F.to_timestamp(F.lit((max(days) + timedelta(days=1)).isoformat()))
        quarantined = (q.where((F.col("industry") == industry)
                               & (F.col("kafka_ts") >= first_ts) & (F.col("kafka_ts") < after_ts))
                       .select(key_site(F.col("key")).alias("site"),
                               F.to_date("kafka_ts").alias("event_date"))
                       .where(in_days))
    else:
        quarantined = valid.where(F.lit(False))
    parts.append(validity(valid, quarantined))

    dups = _read(spark, cfg, DUPLICATES)
    if dups is not None:
        dups = dups.where(F.col("industry") == industry)
    else:
        dups = rows.select("event_id").where(F.lit(False))
    parts.append(uniqueness(rows.where(in_days).select("event_id", "site", "event_date"), dups))

    if "production" in silver and "machine_state" in silver:
        first = min(days)
        states = silver["machine_state"].where(  # a state in force at a report's start may be older
            (F.col("event_date") <= max(days)) & (F.col("event_date") >= F.date_sub(F.lit(first), 1)))
        parts.append(consistency(silver["production"].where(in_days), states))
    return scorecard(industry, parts, dimension_weights(cfg))


def publish_scorecard(spark: "SparkSession", cfg: Config, industry: str, days: Iterable[date],
                      silver: "dict[str, DataFrame] | None" = None) -> int:
    """Recompute ``days`` of gold.data_quality_daily for ``industry``; returns rows written.

    Partitioned by event_date; replaces exactly (industry, days), so industries
    publish independently and running it twice gives the same table.
    """
    from pyspark.sql import functions as F

    days = sorted(set(days))
    df = build_scorecard(spark, cfg, industry, days, silver)
    if df is None:
        return 0
    # mergeSchema on an existing table: one from before historical_rows existed gains the column
    # (older rows: null).
    return replace_days(df.withColumn("computed_at", F.current_timestamp()), table_path(cfg, SCORECARD), days,
                        ["event_date"], {"industry": industry}, merge_schema="overwrite")


def read_scorecard(spark: "SparkSession", cfg: Config, industry: str | None = None,
                   day: date | None = None) -> list[dict]:
    """Rows of gold.data_quality_daily as dicts (for the CLI), newest day first."""
    from pyspark.sql import functions as F

    df = _read(spark, cfg, SCORECARD)
    if df is None:
        return []
    if industry:
        df = df.where(F.col("industry") == industry)
    if day:
        df = df.where(F.col("event_date") == F.lit(day))
    df = df.orderBy(F.col("event_date").desc(), "industry", "site")
    # A table written before a column existed (historical_rows) reads it as null, as Delta would.
    cols = [F.col(c) if c in df.columns else F.lit(None).cast(TYPES[c]).alias(c) for c in COLUMNS]
    return [r.asDict() for r in df.select(*cols).collect()]
