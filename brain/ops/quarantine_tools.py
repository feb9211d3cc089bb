"""Inspect the quarantine and re-ingest what today's rules accept.

- ``list_reasons``: how many records sit in quarantine, by industry, record type and reason;
- ``show``: the records themselves, with a safe, truncated preview of the raw payload;
- ``replay``: classify the quarantined raw payloads again with the *current*
  record specs, units and limits (the clean stage's own, brain.clean.silver.reclassify). The
  records now valid go to silver (or, when their ``event_id`` is already
  there, to ``quality.duplicates``) and leave quarantine; the others stay,
  with their reason updated when it changed.

Replay is safe to repeat and to retry after a crash: silver is written first,
keyed on ``event_id`` (and duplicates on coordinates), and only then do the
records leave quarantine by their coordinates. A retry finds the records
already in silver under the same coordinates, inserts nothing and finishes
the delete. Time checks (future timestamp, late beyond horizon) judge each
record against its original bronze ``ingest_ts``, as the first time.

Records quarantined by a Great Expectations expectation (reason
``expectation:<name>``) passed the contract checks; replaying them here would
bypass the expectation, so ``replay`` leaves them alone (see docs/quarantine.md).
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from brain import industries as industry_modules
from brain.config import Config
from brain.lake import delta_sql
from brain.lake.tables import DUPLICATES, QUARANTINE, bronze_table, is_delta, silver_table, table_path
from brain.lake.writers import table_lock

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

EXPECTATION_PREFIX = "expectation:"
PREVIEW_BYTES = 300


class NoQuarantine(LookupError):
    """The quarantine table does not exist yet."""


def _quarantine(spark: "SparkSession", cfg: Config) -> "DataFrame | None":
    path = table_path(cfg, QUARANTINE)
    return spark.read.format("delta").load(str(path)) if is_delta(path) else None


def reason_matches(reason: str | None) -> "Column":
    """``--reason missing_field`` matches ``missing_field`` and every ``missing_field:<field>``."""
    from pyspark.sql import functions as F

    if not reason:
        return F.lit(True)
    col = F.col("reason")
    if ":" in reason:
        return col == reason
    return (col == reason) | col.startswith(reason + ":")


def _filtered(df: "DataFrame", industry: str | None, reason: str | None) -> "DataFrame":
    from pyspark.sql import functions as F

    if industry and industry != "all":
        df = df.where(F.col("industry") == industry)
    return df.where(reason_matches(reason))


# --------------------------------------------------------------------------- list / show

def list_reasons(spark: "SparkSession", cfg: Config, industry: str | None = None) -> list[dict]:
    """Counts by industry, record type and reason, most frequent first within each record type."""
    df = _quarantine(spark, cfg)
    if df is None:
        return []
    rows = _filtered(df, industry, None).groupBy("industry", "record_type", "reason").count().collect()
    out = [{"industry": r["industry"], "record_type": r["record_type"], "reason": r["reason"],
            "count": int(r["count"])} for r in rows]
    return sorted(out, key=lambda d: (d["industry"], d["record_type"], -d["count"], d["reason"] or ""))


def show(spark: "SparkSession", cfg: Config, reason: str | None = None, industry: str | None = None,
         limit: int = 20, preview_bytes: int = PREVIEW_BYTES) -> list[dict]:
    """Quarantined records, oldest coordinates first, with a printable payload preview.

    Only the first ``preview_bytes`` bytes of each payload leave Spark, so a
    5 MB message costs no more to show than a small one.
    """
    from pyspark.sql import functions as F

    df = _quarantine(spark, cfg)
    if df is None:
        return []
    rows = (_filtered(df, industry, reason)
            .select("industry", "record_type", "reason", "event_id", "topic", "partition", "offset", "kafka_ts",
                    "quarantined_at", F.coalesce(F.length("payload"), F.lit(0)).alias("payload_bytes"),
                    F.substring("payload", 1, max(1, int(preview_bytes))).alias("head"))
            .orderBy("industry", "record_type", "topic", "partition", "offset").limit(max(0, int(limit))).collect())
    out = []
    for r in rows:
        d = r.asDict()
        head = d.pop("head")
        d["payload_preview"] = preview(bytes(head) if head is not None else None, d["payload_bytes"],
                                       max(1, int(preview_bytes)))
        out.append(d)
    return out


def preview(head: bytes | None, size: int, width: int = PREVIEW_BYTES) -> str:
    """Bytes as one printable line: invalid UTF-8 and control characters escaped, long payloads cut."""
    if head is None:
        return "(null payload)"
    text = head.decode("utf-8", errors="backslashreplace")
    safe = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)
    cut = size > len(head)
    if len(safe) > width:  # escapes make the text longer than the bytes
        safe, cut = safe[:width], True
    return safe + f"... ({size:,} bytes)" if cut else safe


# --------------------------------------------------------------------------- replay

@dataclass
class ReplayResult:
    """What a replay did (or, with dry_run, would do)."""
    run_id: str
    dry_run: bool
    examined: int = 0
    released: int = 0          # left quarantine: to silver or duplicates
    to_silver: int = 0
    to_duplicates: int = 0
    already_in_silver: int = 0  # released on an earlier, interrupted replay: only the delete was left
    still_invalid: int = 0
    reason_changed: int = 0
    skipped_expectation: int = 0
    left_quarantine: int = 0   # actually removed from quarantine (0 on a dry run)
    touched_days: list[str] = field(default_factory=list)
    by_table: dict[str, dict[str, int]] = field(default_factory=dict)
    transitions: dict[str, int] = field(default_factory=dict)  # "old -> new" (new 'valid' when released)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def new_replay_id() -> str:
    return time.strftime("replay_%Y%m%dT%H%M%SZ_", time.gmtime()) + uuid.uuid4().hex[:8]


def replay(spark: "SparkSession", cfg: Config, industry: str | None = None, reason: str | None = None,
           dry_run: bool = False, run_id: str | None = None) -> ReplayResult:
    """Classify the matching quarantined records again and move out the ones now valid (exactly once)."""
    from pyspark.sql import functions as F

    result = ReplayResult(run_id or new_replay_id(), dry_run)
    q = _quarantine(spark, cfg)
    if q is None:
        return result
    q = _filtered(q, industry, reason)
    expectation = F.coalesce(F.col("reason").startswith(EXPECTATION_PREFIX), F.lit(False))
    groups = q.groupBy("industry", "record_type", expectation.alias("exp")).count().collect()
    configured = set(cfg.industry_names())
    for g in sorted(groups, key=lambda g: (g["industry"], g["record_type"])):
        if g["exp"]:
            result.skipped_expectation += int(g["count"])
            continue
        ind, rt = g["industry"], g["record_type"]
        if ind not in configured or rt not in (cfg.get(f"industries.{ind}.record_types") or []):
            result.notes.append(f"{g['count']} record(s) of {ind}/{rt} skipped: not a configured industry "
                                f"and record type")
            continue
        spec = industry_modules.record_specs(cfg, ind)[rt]
        rows = q.where((F.col("industry") == ind) & (F.col("record_type") == rt) & ~expectation)
        # Decides "new" against silver and writes: no stream batch may commit in between (brain.lake.writers).
        with table_lock(cfg, silver_name_of(spec)):
            _replay_one(spark, cfg, spec, rows, result)
    result.touched_days = sorted(set(result.touched_days))
    return result


def _bronze_shaped(spark: "SparkSession", cfg: Config, rows: "DataFrame", bronze_name: str) -> "DataFrame":
    """Quarantine rows as bronze rows: ``ingest_ts`` from the original bronze row (by coordinates)."""
    from pyspark.sql import functions as F

    base = rows.select("payload", "key", "topic", "partition", "offset", "kafka_ts",
                       F.col("reason").alias("_old_reason"))
    bronze_path = table_path(cfg, bronze_name)
    if not is_delta(bronze_path):
        return base.withColumn("ingest_ts", F.col("kafka_ts"))
    b = spark.read.format("delta").load(str(bronze_path)).select(
        F.col("topic").alias("_b_topic"), F.col("partition").alias("_b_partition"),
        F.col("offset").alias("_b_offset"), F.col("ingest_ts").alias("_b_ingest_ts"))
    joined = base.join(b, (base["topic"] == b["_b_topic"]) & (base["partition"] == b["_b_partition"])
                       & (base["offset"] == b["_b_offset"]), "left")
    # Without its bronze row (should not happen), Kafka's timestamp is the closest to when it arrived.
    return joined.select(*base.columns, F.coalesce("_b_ingest_ts", "kafka_ts").alias("ingest_ts"))


def _replay_one(spark: "SparkSession", cfg: Config, spec, rows: "DataFrame", result: ReplayResult) -> None:
    from pyspark.sql import functions as F

    from brain.clean.silver import reclassify

    silver_name = silver_name_of(spec)
    bronze = _bronze_shaped(spark, cfg, rows, bronze_table(spec.industry, spec.record_type))
    # Silver and duplicates first (keyed), so the quarantine delete below only ever removes landed records.
    found = reclassify(spark, cfg, spec, silver_name, bronze, result.run_id, write_rows=not result.dry_run)
    classified, n_new, n_dups, days = found.classified, found.inserted, found.duplicates, found.touched_days

    stats = classified.groupBy("_old_reason", "reason").count().collect()
    examined = sum(int(s["count"]) for s in stats)
    released = sum(int(s["count"]) for s in stats if s["reason"] is None)
    changed = sum(int(s["count"]) for s in stats if s["reason"] is not None and s["reason"] != s["_old_reason"])
    transitions = Counter({f"{s['_old_reason']} -> {s['reason'] or 'valid'}": int(s["count"]) for s in stats})

    result.examined += examined
    result.released += released
    result.to_silver += n_new
    result.to_duplicates += n_dups
    result.already_in_silver += released - n_new - n_dups
    result.still_invalid += examined - released
    result.reason_changed += changed
    result.touched_days += [str(d) for d in days]
    result.transitions = dict(Counter(result.transitions) + transitions)
    result.by_table[silver_name] = {"examined": examined, "to_silver": n_new, "to_duplicates": n_dups,
                                    "already_in_silver": released - n_new - n_dups,
                                    "still_invalid": examined - released, "reason_changed": changed}
    if result.dry_run or examined == 0:
        return

    # Leave quarantine by coordinates, but only the records now provably in silver or duplicates
    # (a concurrent insert of the same event_id would otherwise make one vanish); still-invalid records
    # whose reason changed get the new reason.
    landed = _landed_coordinates(spark, cfg, spec)
    gone = (classified.where(F.col("reason").isNull()).select("topic", "partition", "offset")
            .join(landed, ["topic", "partition", "offset"], "left_semi")
            .withColumn("reason", F.lit(None).cast("string")))
    relabel = (classified.where(F.col("reason").isNotNull() & (F.col("reason") != F.col("_old_reason")))
               .select("topic", "partition", "offset", "reason"))
    fate = gone.unionByName(relabel).localCheckpoint()
    left = fate.where(F.col("reason").isNull()).count()
    result.left_quarantine += left
    result.by_table[silver_name]["left_quarantine"] = left
    if left != released:
        result.notes.append(f"{silver_name}: {released - left} record(s) valid now were not found in silver or "
                            f"duplicates after the insert (changed concurrently?) and stay in quarantine; "
                            f"replay again")
    if fate.isEmpty():
        return
    industry = spec.industry.replace("'", "")
    cond = (f"t.industry = '{industry}' AND t.topic = s.topic AND t.partition = s.partition "
            f"AND t.offset = s.offset")
    delta_sql.merge(table_path(cfg, QUARANTINE), fate, cond,
                    ["WHEN MATCHED AND s.reason IS NULL THEN DELETE",
                     "WHEN MATCHED AND s.reason IS NOT NULL THEN UPDATE SET t.reason = s.reason"])


def _landed_coordinates(spark: "SparkSession", cfg: Config, spec) -> "DataFrame":
    """(topic, partition, offset) of every row now in this silver table or counted as a duplicate of it."""
    from pyspark.sql import functions as F

    parts = []
    silver_path = table_path(cfg, silver_name_of(spec))
    if is_delta(silver_path):
        parts.append(spark.read.format("delta").load(str(silver_path)).select(
            F.col("_topic").alias("topic"), F.col("_partition").alias("partition"), F.col("_offset").alias("offset")))
    dups_path = table_path(cfg, DUPLICATES)
    if is_delta(dups_path):
        parts.append(spark.read.format("delta").load(str(dups_path))
                     .where((F.col("industry") == spec.industry) & (F.col("record_type") == spec.record_type))
                     .select("topic", "partition", "offset"))
    if not parts:
        return spark.createDataFrame([], "topic string, partition int, offset long")
    out = parts[0]
    for p in parts[1:]:
        out = out.unionByName(p)
    return out


def silver_name_of(spec) -> str:
    return silver_table(spec.industry, spec.record_type)
