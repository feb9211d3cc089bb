"""Reconciliation: prove that every record Kafka delivered is in the lake exactly once.

Two equations, per topic and partition. The topics of a record type are its shared topic
``<industry>.<record_type>`` and every site topic ``<industry>.site.<SITE>.<record_type>``
(brain.contracts.site_topics) found in the checkpoint, the lake or (with ``kafka``) on the broker:
the pass reads them all through one pattern, into the record type's one bronze table.

1. **Kafka offsets consumed = bronze rows.** The industry's pass (one
   streaming query, brain.clean.industry_pass) has a checkpoint that says
   which offsets it consumed: ``offsets/<n>`` holds the *next*
   offset per partition after batch ``n`` and ``commits/<n>`` exists once batch
   ``n`` is finished; ``sources/0/0`` holds the offsets the query started
   from. Bronze must then hold every offset in ``[start, next)`` once: no
   gap, no offset twice, and nothing beyond ``next``. A partition the query's start offsets do not
   name was found later (a site topic created after the query started): Spark reads such a
   partition from offset 0 (or stops, failOnDataLoss), so 0 is where its consumption started.
2. **bronze = silver + quarantine + counted duplicates**, matched by Kafka
   coordinates (topic, partition, offset): silver rows carry them as
   ``_topic/_partition/_offset``, quarantine and ``quality.duplicates`` as
   ``topic/partition/offset``. A bronze coordinate found nowhere is *lost*,
   one found in two places (or twice in one) is *doubled*, and one found
   downstream but not in bronze is an *orphan*.

Bronze rows of a batch the industry's pass has not committed yet (offsets at
or past its checkpoint's committed end: bronze was written, the crash came
before the batch's silver writes or its commit) are reported as *pending*,
not lost: the next run replays that batch.

Rows retention deleted (`brain maintain`, brain.lake.retention) are *expired*,
not lost: their coordinates are in ``quality.expired``. An offset bronze no
longer holds because it expired still counts as consumed into bronze
(``expired_bronze``), and a record whose silver, quarantine or duplicates row
expired still counts as accounted for (``expired_downstream``). A row present
wins over a ledger entry (a maintain that died between recording and deleting).

Nothing here writes; it only reads the lake (through delta-rs and DuckDB, no Spark) and the
checkpoint files.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable, Iterable

from brain.config import Config
from brain.lake.checkpoints import StreamCheckpoint, kafka_offsets, read_checkpoint
from brain.lake.retention import EXPIRED
from brain.lake.tables import DUPLICATES, QUARANTINE, checkpoint_path, pass_checkpoint, table_path

SAMPLE = 20


# --------------------------------------------------------------------------- report

@dataclass
class PartitionRow:
    industry: str
    record_type: str
    topic: str
    partition: int
    kafka_start: int | None = None    # first offset the ingest query read from (checkpoint)
    kafka_next: int | None = None     # next offset after the last committed batch (checkpoint)
    kafka_end: int | None = None      # the broker's end offset now (information: lag = end - next)
    kafka_consumed: int | None = None  # offsets consumed: next - first offset
    bronze_rows: int = 0
    bronze_offsets: int = 0           # distinct offsets in bronze
    min_offset: int | None = None
    max_offset: int | None = None
    gaps: int = 0                     # offsets consumed but missing from bronze
    bronze_repeats: int = 0           # bronze rows beyond one per offset
    silver: int = 0
    quarantine: int = 0
    duplicates: int = 0
    pending: int = 0                  # bronze rows the clean stage has not processed yet
    expired_bronze: int = 0           # offsets retention deleted from bronze (quality.expired)
    expired_downstream: int = 0       # records whose silver/quarantine/duplicates row retention deleted
    lost: int = 0
    doubled: int = 0
    orphans: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def accounted(self) -> int:
        return self.silver + self.quarantine + self.duplicates + self.expired_downstream

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class Report:
    industries: list[str]
    partitions: list[PartitionRow] = field(default_factory=list)
    lost: list[dict] = field(default_factory=list)       # first SAMPLE coordinates
    doubled: list[dict] = field(default_factory=list)
    orphans: list[dict] = field(default_factory=list)
    quarantine_by_reason: dict[str, dict[str, int]] = field(default_factory=dict)  # industry -> reason -> n
    quarantine_by_kind: dict[str, dict[str, int]] = field(default_factory=dict)    # reason up to ':'
    expired_by_table: dict[str, int] = field(default_factory=dict)  # rows retention deleted, per table
    problems: list[str] = field(default_factory=list)     # table-level (missing checkpoint, ...)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and all(p.ok for p in self.partitions)

    def totals(self) -> dict[str, int]:
        keys = ("kafka_consumed", "bronze_rows", "silver", "quarantine", "duplicates", "pending", "lost",
                "doubled", "orphans", "gaps", "bronze_repeats", "expired_bronze", "expired_downstream")
        return {k: sum(getattr(p, k) or 0 for p in self.partitions) for k in keys}

    def mismatches(self) -> list[PartitionRow]:
        return [p for p in self.partitions if not p.ok]

    def to_dict(self) -> dict:
        rows = []
        for p in self.partitions:
            d = asdict(p)
            d["accounted"] = p.accounted
            d["ok"] = p.ok
            rows.append(d)
        return {"ok": self.ok, "industries": self.industries, "totals": self.totals(), "partitions": rows,
                "lost": self.lost, "doubled": self.doubled, "orphans": self.orphans,
                "quarantine_by_reason": self.quarantine_by_reason, "quarantine_by_kind": self.quarantine_by_kind,
                "expired_by_table": self.expired_by_table, "problems": self.problems, "notes": self.notes}


# --------------------------------------------------------------------------- the checks

def reconcile(cfg: Config, industries: Iterable[str], kafka: bool = True,
              on_target: Callable[[str, int, int], None] | None = None) -> Report:
    """Check both equations for every record type of ``industries``.

    ``on_target(topic, done, total)`` is called after each record type (`brain reconcile`'s progress).

    ``kafka=True`` also asks the broker for its end offsets (shown as
    information; records not yet ingested are not a mismatch). The lake is
    read without Spark (delta-rs into DuckDB, only the Kafka coordinates):
    a reconciliation is a handful of aggregates, which Spark pays seconds of
    fixed cost per table for, and `brain reconcile` then starts no JVM.
    """
    import duckdb

    from brain.contracts.topic_names import topic_for
    from brain.lake.ledger_reads import load
    from brain.lake.tables import bronze_table, silver_table

    names = list(industries)
    report = Report(names)
    targets = [(ind, rt, topic_for(cfg, ind, rt), bronze_table(ind, rt), silver_table(ind, rt))
               for ind in names for rt in cfg.get(f"industries.{ind}.record_types")]
    ends = _broker_ends(cfg, names, report) if kafka else {}
    reconciled: list[str] = []
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        shared = {"quarantine": load(con, "quarantine", cfg, QUARANTINE,
                                     ["industry", "reason", "topic", "partition", "offset"]),
                  "duplicates": load(con, "duplicates", cfg, DUPLICATES, ["topic", "partition", "offset"]),
                  "expired": load(con, "expired", cfg, EXPIRED, ["table", "industry", "topic", "partition",
                                                                  "first_offset", "last_offset", "rows"])}
        present = [t for t, there in shared.items() if there]
        for done, (ind, rt, topic, bronze_name, silver_name) in enumerate(targets, 1):
            reconciled += _reconcile_record_type(con, cfg, report, ind, rt, topic, bronze_name, silver_name,
                                                 present, ends)
            if on_target is not None:
                on_target(topic, done, len(targets))
        if shared["quarantine"]:
            _quarantine_counts(con, names, report)
        if shared["expired"]:
            _expired_counts(con, reconciled, report)
    finally:
        con.close()
    for key in ("lost", "doubled", "orphans"):
        items = sorted(getattr(report, key), key=lambda c: (c["topic"], c["partition"], c["offset"]))
        setattr(report, key, items[:SAMPLE])
    return report


def _broker_ends(cfg: Config, industries: list[str], report: Report) -> dict[str, dict[int, int]]:
    """End offsets of every topic of ``industries`` the broker has, shared and per site."""
    import re

    from brain.contracts.site_topics import industry_pattern
    from brain.ingest.kafka_io import describe_topics, list_topics

    try:
        patterns = [re.compile(industry_pattern(cfg, ind)) for ind in industries]
        topics = [t for t in list_topics(cfg) if any(p.fullmatch(t) for p in patterns)]
        return {t.topic: t.end_offsets for t in describe_topics(cfg, topics)}
    except Exception as exc:  # noqa: BLE001 - the broker is optional for reconciliation
        report.notes.append(f"Kafka end offsets not checked ({type(exc).__name__}: {exc}); "
                            f"the lake and checkpoints were still reconciled")
        return {}


# xb / xd (0 or 1): the bronze row / the row downstream is absent because retention deleted it.
# A coordinate bronze held (still holds, or held until it expired) whose fate is nowhere, not even
# expired, is unaccounted for: lost, or pending for the clean stage.
_IN_BRONZE = "(b + xb > 0)"
_UNACCOUNTED = f"({_IN_BRONZE} AND s + q + d + xd = 0)"
_PER_PARTITION = f"""
SELECT partition, sum(b) AS bronze_rows, count(*) FILTER (WHERE {_IN_BRONZE}) AS bronze_offsets,
       min("offset") FILTER (WHERE {_IN_BRONZE}) AS min_offset,
       max("offset") FILTER (WHERE {_IN_BRONZE}) AS max_offset,
       sum(CASE WHEN b > 1 THEN b - 1 ELSE 0 END) AS bronze_repeats,
       sum(s) AS silver, sum(q) AS quarantine, sum(d) AS duplicates,
       sum(xb) AS expired_bronze, sum(xd) AS expired_downstream,
       count(*) FILTER (WHERE {_UNACCOUNTED} AND pending) AS pending,
       count(*) FILTER (WHERE {_UNACCOUNTED} AND NOT pending) AS lost,
       count(*) FILTER (WHERE {_IN_BRONZE} AND s + q + d > 1) AS doubled,
       count(*) FILTER (WHERE NOT {_IN_BRONZE}) AS orphans
FROM coords GROUP BY partition"""
_PROBLEMS = f"""
SELECT partition, "offset", b + xb, s, q, d FROM coords
WHERE ({_UNACCOUNTED} AND NOT pending) OR NOT {_IN_BRONZE} OR ({_IN_BRONZE} AND s + q + d > 1)
ORDER BY partition, "offset" LIMIT {3 * SAMPLE}"""


def _reconcile_record_type(con, cfg: Config, report: Report, ind: str, rt: str, shared_topic: str,
                           bronze_name: str, silver_name: str, shared: list[str],
                           ends: dict[str, dict[int, int]]) -> list[str]:
    """Both equations for each topic of one record type (bronze and silver read once); its topics."""
    from brain.contracts.site_topics import record_type_of
    from brain.lake.ledger_reads import column_names, load

    cp = read_checkpoint(pass_checkpoint(cfg, ind))
    has_bronze = load(con, "bronze", cfg, bronze_name, ["topic", "partition", "offset"])
    # A silver table written outside the pass (no Kafka coordinates) has nothing to reconcile.
    has_silver = ("_topic" in column_names(cfg, silver_name)
                  and load(con, "silver", cfg, silver_name, ["_topic", "_partition", "_offset"]))
    try:
        found = {shared_topic} | set(ends)
        found |= {t for o in (cp.start, cp.committed, cp.planned) if isinstance(o, dict) for t in o}
        for table, column, there in (("bronze", "topic", has_bronze), ("silver", "_topic", has_silver),
                                     ("quarantine", "topic", "quarantine" in shared),
                                     ("duplicates", "topic", "duplicates" in shared),
                                     ("expired", "topic", "expired" in shared)):
            if there:
                found |= {r[0] for r in con.execute(f"SELECT DISTINCT {column} FROM {table}").fetchall()
                          if r[0] is not None}
        topics = [shared_topic] + sorted(t for t in found - {shared_topic} if record_type_of(cfg, ind, t) == rt)
        for topic in topics:
            _reconcile_one(con, cfg, report, ind, rt, topic, bronze_name, has_bronze, has_silver, shared,
                           ends.get(topic, {}), cp)
        return topics
    finally:
        con.execute("DROP TABLE IF EXISTS bronze; DROP TABLE IF EXISTS silver")


def _reconcile_one(con, cfg: Config, report: Report, ind: str, rt: str, topic: str, bronze_name: str,
                   has_bronze: bool, has_silver: bool, shared: list[str], ends: dict[int, int],
                   cp: StreamCheckpoint) -> None:
    bronze_path = table_path(cfg, bronze_name)
    legacy = not cp.exists and checkpoint_path(cfg, bronze_name).is_dir()
    if legacy:  # a lake of the two-query layout, not moved over yet: its ingest query's checkpoint
        cp = read_checkpoint(checkpoint_path(cfg, bronze_name))
        report.notes.append(f"{bronze_name}: checkpoints of the two-query layout (the next `brain ingest` moves "
                            f"the lake to one query per industry); bronze rows not accounted for count as pending")
    committed, planned = kafka_offsets(cp.committed, topic), kafka_offsets(cp.planned, topic)
    start = kafka_offsets(cp.start, topic)
    if not legacy and isinstance(cp.start, dict) and cp.start:
        # A partition the start offsets do not name was found after the query started: Spark read it
        # from offset 0 (a later start is data loss, which stops the query: failOnDataLoss).
        start = {p: start.get(p, 0) for p in set(start) | set(committed) | set(planned)}
    if not has_bronze:
        if committed and any(committed.get(p, 0) > start.get(p, 0) for p in committed):
            report.problems.append(f"{bronze_name}: the checkpoint {cp.path} says offsets were consumed from "
                                   f"{topic} but the bronze table at {bronze_path} does not exist")
        return
    if not cp.exists:
        report.problems.append(f"{bronze_name} holds data but its checkpoint {cp.path} is missing: the "
                               f"consumed offsets cannot be proven (restore it, or `brain ingest "
                               f"--recover-from-bronze`)")

    # Bronze and silver are written in the same batch: a bronze row is pending (its batch replays on the
    # next run) exactly when its offset is at or past the committed end of its partition.
    _coordinates(con, topic, has_silver, shared, None if legacy else cp)
    try:
        cur = con.execute(_PER_PARTITION)
        cols = [d[0] for d in cur.description]
        stats = {r[0]: dict(zip(cols, r)) for r in cur.fetchall()}
        _samples(con, topic, report)
    finally:
        con.execute("DROP TABLE IF EXISTS coords")

    for p in sorted(set(stats) | set(committed) | set(planned)):
        row = PartitionRow(ind, rt, topic, int(p), kafka_start=start.get(p), kafka_next=committed.get(p),
                           kafka_end=ends.get(p))
        for k, v in stats.get(p, {}).items():
            if k != "partition":
                setattr(row, k, int(v) if v is not None else None)
        _check_offsets(row, cp, planned.get(p))
        _check_accounting(row)
        report.partitions.append(row)


def _coordinates(con, topic: str, has_silver: bool, shared: list[str], cp: StreamCheckpoint | None) -> None:
    """DuckDB table ``coords``: one row per (partition, offset) seen anywhere for ``topic``: how often in
    bronze (b), silver (s), quarantine (q) and duplicates (d), whether retention deleted it from bronze
    (xb) or its row downstream (xd) and it is not there any more, and whether the bronze row is still
    pending (past the offsets the checkpoint ``cp`` committed; every bronze row, without one).
    Reads the DuckDB tables ``bronze`` and (``has_silver``) ``silver`` the caller loaded."""
    parts = ["SELECT partition, \"offset\", 1 AS b, 0 AS s, 0 AS q, 0 AS d, 0 AS eb, 0 AS ed "
             "FROM bronze WHERE topic = $topic"]
    if has_silver:
        parts.append("SELECT _partition, _offset, 0, 1, 0, 0, 0, 0 FROM silver WHERE _topic = $topic")
    if "quarantine" in shared:
        parts.append("SELECT partition, \"offset\", 0, 0, 1, 0, 0, 0 FROM quarantine WHERE topic = $topic")
    if "duplicates" in shared:
        parts.append("SELECT partition, \"offset\", 0, 0, 0, 1, 0, 0 FROM duplicates WHERE topic = $topic")
    if "expired" in shared:  # runs of offsets retention deleted, one row per offset again
        parts.append("SELECT partition, unnest(range(first_offset, last_offset + 1)), 0, 0, 0, 0, "
                     "CASE WHEN \"table\" LIKE 'bronze.%' THEN 1 ELSE 0 END, "
                     "CASE WHEN \"table\" LIKE 'bronze.%' THEN 0 ELSE 1 END FROM expired WHERE topic = $topic")
    committed = kafka_offsets(cp.committed, topic) if cp is not None and cp.committed_batch is not None else None
    pending = "TRUE"
    if committed is not None:
        con.execute("CREATE TABLE committed_ends (p BIGINT, next BIGINT)")
        if committed:
            con.executemany("INSERT INTO committed_ends VALUES (?, ?)", sorted(committed.items()))
        pending = ("\"offset\" >= coalesce((SELECT next FROM committed_ends WHERE p = partition), 0)")
    con.execute(f"""
        CREATE TABLE coords AS
        SELECT partition, "offset", b, s, q, d,
               CASE WHEN eb > 0 AND b = 0 THEN 1 ELSE 0 END AS xb,
               CASE WHEN ed > 0 AND s + q + d = 0 THEN 1 ELSE 0 END AS xd,
               b > 0 AND {pending} AS pending
        FROM (SELECT partition, "offset", sum(b) AS b, sum(s) AS s, sum(q) AS q, sum(d) AS d,
                     sum(eb) AS eb, sum(ed) AS ed
              FROM ({" UNION ALL ".join(parts)}) GROUP BY partition, "offset")""", {"topic": topic})
    con.execute("DROP TABLE IF EXISTS committed_ends")


def _samples(con, topic: str, report: Report) -> None:
    for partition, offset, b, s, q, d in con.execute(_PROBLEMS).fetchall():
        c = {"topic": topic, "partition": int(partition), "offset": int(offset)}
        counts = (("silver", s), ("quarantine", q), ("duplicates", d))
        found = [name for name, n in counts if n]
        if b == 0:
            report.orphans.append({**c, "found_in": found})
        elif not found:
            report.lost.append(c)
        else:
            report.doubled.append({**c, "found_in": [f"{name} x{n}" if n > 1 else name for name, n in counts if n]})


def _check_offsets(row: PartitionRow, cp: StreamCheckpoint, planned_next: int | None) -> None:
    """Equation 1: the offsets the checkpoint consumed are exactly the offsets bronze holds."""
    has_rows = row.bronze_offsets > 0
    if row.bronze_repeats:
        row.problems.append(f"{row.bronze_repeats} bronze row(s) repeat an offset already in bronze")
    nxt = row.kafka_next
    if nxt is None and planned_next is not None:  # the first batch is planned, none committed: it starts there
        nxt = row.kafka_start if row.kafka_start is not None else (row.min_offset if has_rows else planned_next)
    if nxt is None:
        if has_rows and cp.exists:
            row.problems.append("bronze holds this partition but the checkpoint has no committed offset for it")
        if has_rows:
            row.gaps = (row.max_offset - row.min_offset + 1) - row.bronze_offsets
        if row.gaps:
            row.problems.append(f"{row.gaps} offset(s) missing between {row.min_offset} and {row.max_offset} in bronze")
        return
    first = row.kafka_start if row.kafka_start is not None else (row.min_offset if has_rows else nxt)
    if has_rows:
        first = min(first, row.min_offset)
    row.kafka_consumed = nxt - first
    top = row.max_offset + 1 if has_rows else first
    if top > nxt:
        if planned_next is not None and top <= planned_next:
            row.notes.append(f"batch {cp.planned_batch} is in bronze but not yet committed in the checkpoint; "
                             f"the next ingest run commits it without writing it again")
            row.kafka_consumed = planned_next - first
            nxt = planned_next
        else:
            row.problems.append(f"bronze holds offsets up to {top - 1} but the checkpoint consumed only up to "
                                f"{nxt - 1}")
    missing = (min(nxt, top) - first) - row.bronze_offsets if has_rows else 0
    missing += max(0, nxt - top)
    row.gaps = max(0, missing)
    if row.gaps:
        row.problems.append(f"{row.gaps} offset(s) consumed from Kafka are missing from bronze "
                            f"(consumed {row.kafka_consumed}, bronze holds {row.bronze_offsets} distinct)")


def _expired_counts(con, topics: list[str], report: Report) -> None:
    # DISTINCT: a maintain that died between recording and deleting records the same runs again.
    rows = con.execute('SELECT "table", sum(rows) FROM (SELECT DISTINCT "table", topic, partition, first_offset, '
                       'last_offset, rows FROM expired WHERE list_contains($topics, topic)) '
                       'GROUP BY "table" ORDER BY "table"', {"topics": topics}).fetchall()
    report.expired_by_table = {name: int(n) for name, n in rows}


def _check_accounting(row: PartitionRow) -> None:
    """Equation 2: every bronze row is in exactly one of silver, quarantine, duplicates."""
    if row.lost:
        row.problems.append(f"{row.lost} bronze row(s) are in none of silver, quarantine, duplicates (lost)")
    if row.doubled:
        row.problems.append(f"{row.doubled} coordinate(s) are in more than one place (doubled)")
    if row.orphans:
        row.problems.append(f"{row.orphans} coordinate(s) in silver/quarantine/duplicates are not in bronze")
    if row.pending:
        row.notes.append(f"{row.pending} bronze row(s) not cleaned yet (the next run processes them)")
    if row.expired_bronze or row.expired_downstream:
        row.notes.append(f"retention deleted {row.expired_bronze} bronze row(s) and the silver/quarantine/"
                         f"duplicates row(s) of {row.expired_downstream} record(s): expired, not lost")


def _quarantine_counts(con, industries: list[str], report: Report) -> None:
    rows = con.execute("SELECT industry, reason, count(*) FROM quarantine WHERE list_contains($inds, industry) "
                       "GROUP BY industry, reason", {"inds": industries}).fetchall()
    for industry, reason, n in sorted(rows, key=lambda r: (r[0], r[1] or "")):
        reason = reason or "(none)"
        report.quarantine_by_reason.setdefault(industry, {})[reason] = int(n)
        kind = reason.split(":", 1)[0]
        by_kind = report.quarantine_by_kind.setdefault(industry, {})
        by_kind[kind] = by_kind.get(kind, 0) + int(n)


# --------------------------------------------------------------------------- text output

COLUMNS = ("topic", "partition", "kafka_consumed", "bronze_rows", "silver", "quarantine", "duplicates",
           "pending", "expired_bronze", "expired_downstream", "lost", "doubled", "orphans", "gaps")


def render(report: Report, everything: bool = False) -> str:
    """A readable table: the mismatching partitions (or all with ``everything``), then samples."""
    rows = report.partitions if everything else report.mismatches()
    out = []
    t = report.totals()
    verdict = "OK" if report.ok else "MISMATCH"
    out.append(f"reconcile {', '.join(report.industries)}: {verdict} - Kafka consumed {t['kafka_consumed']}, "
               f"bronze {t['bronze_rows']}" + (f" + expired {t['expired_bronze']}" if t["expired_bronze"] else "")
               + f" = silver {t['silver']} + quarantine {t['quarantine']} + duplicates {t['duplicates']}"
               + (f" + expired {t['expired_downstream']}" if t["expired_downstream"] else "")
               + (f" + pending {t['pending']}" if t["pending"] else "")
               + f"; lost {t['lost']}, doubled {t['doubled']}, orphans {t['orphans']}, offset gaps {t['gaps']}")
    if t["expired_bronze"] or t["expired_downstream"] or report.expired_by_table:
        by_table = ", ".join(f"{name} {n}" for name, n in report.expired_by_table.items())
        out.append(f"expired by retention (not lost): {t['expired_bronze']} offset(s) no longer in bronze, "
                   f"{t['expired_downstream']} record(s) whose silver/quarantine/duplicates row is gone"
                   + (f"; rows deleted: {by_table}" if by_table else ""))
    if rows:
        out.append("")
        out.append(_table([{c: ("-" if getattr(p, c) is None else getattr(p, c)) for c in COLUMNS} for p in rows],
                          COLUMNS))
        for p in rows:
            for msg in p.problems:
                out.append(f"  {p.topic}[{p.partition}]: {msg}")
    for key, label in (("lost", "lost (in bronze, nowhere else)"), ("doubled", "doubled"),
                       ("orphans", "orphans (not in bronze)")):
        items = getattr(report, key)
        if items:
            out.append(f"\nfirst {len(items)} {label}:")
            for c in items:
                where = f"  in {', '.join(c['found_in'])}" if c.get("found_in") else ""
                out.append(f"  {c['topic']} partition {c['partition']} offset {c['offset']}{where}")
    for msg in report.problems:
        out.append(f"problem: {msg}")
    notes = report.notes + [f"{p.topic}[{p.partition}]: {n}" for p in report.partitions for n in p.notes]
    for msg in notes:
        out.append(f"note: {msg}")
    return "\n".join(out)


def _table(rows: list[dict], columns: Iterable[str]) -> str:
    columns = list(columns)
    cells = [[str(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    head = "  ".join(c.ljust(w) for c, w in zip(columns, widths))
    sep = "  ".join("-" * w for w in widths)
    return "\n".join([head, sep] + ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells])


# --------------------------------------------------------------------------- producer ledger

@dataclass
class LedgerReport:
    """Every record the producer saw acknowledged, checked against the lake by Kafka coordinates."""
    acked: int = 0
    accounted: int = 0                                   # in exactly one of silver, quarantine, duplicates
    lost: int = 0                                        # acknowledged, found nowhere
    expired: int = 0                                     # acknowledged, its row deleted by retention
    doubled: int = 0                                     # acknowledged, found in more than one place
    silver_repeats: int = 0                              # event_ids held by more than one silver row
    no_reason: int = 0                                   # quarantine rows without a reason
    samples: dict[str, list[dict]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.doubled or self.silver_repeats or self.no_reason)

    def render(self) -> str:
        verdict = "OK" if self.ok else "MISMATCH"
        lines = [f"ledger: {verdict} - acknowledged {self.acked}, accounted {self.accounted}, expired by retention "
                 f"{self.expired}; lost {self.lost}, "
                 f"doubled {self.doubled}, event_ids twice in silver {self.silver_repeats}, "
                 f"quarantined without a reason {self.no_reason}"]
        for key, items in self.samples.items():
            lines += [f"  {key}: {item}" for item in items]
        return "\n".join(lines)


def reconcile_ledger(cfg: Config, ledger: list[dict]) -> LedgerReport:
    """Check a producer ledger (brain.simulator.sinks.KafkaSink ``ledger``) against the lake.

    Each acknowledged (topic, partition, offset) must be in exactly one of
    silver, quarantine (with a reason) or the counted duplicates, and no
    event_id may be in silver twice. One found in none of them whose row
    retention deleted (``quality.expired``) is counted as expired, not lost. Records Kafka holds but the ledger does
    not list (sent by someone else, or written but never acknowledged) are
    not judged here; `reconcile` covers them. Read without Spark, as `reconcile`.
    """
    import duckdb

    from brain.contracts.site_topics import record_type_of
    from brain.lake.ledger_reads import column_names, load
    from brain.lake.tables import silver_table

    report = LedgerReport(acked=len(ledger))
    topics = sorted({e["topic"] for e in ledger})
    # A ledger topic is a shared topic or a site topic (brain.contracts.site_topics) of its record type.
    silver_names = {silver_table(ind, rt) for ind in cfg.industry_names()
                    for rt in cfg.get(f"industries.{ind}.record_types")
                    if any(record_type_of(cfg, ind, t) == rt for t in topics)}
    con = duckdb.connect()
    try:
        places = []
        for i, name in enumerate(sorted(silver_names)):
            if "_topic" in column_names(cfg, name) and load(con, f"s{i}", cfg, name,
                                                            ["_topic", "_partition", "_offset", "event_id"]):
                places.append(f"SELECT _topic, _partition, _offset, event_id, 'silver' FROM s{i}")
        for name, place in ((QUARANTINE, "quarantine"), (DUPLICATES, "duplicates")):
            if load(con, place, cfg, name, ["topic", "partition", "offset", "event_id"]
                    + (["reason"] if place == "quarantine" else [])):
                places.append(f"SELECT topic, partition, \"offset\", event_id, '{place}' FROM {place}")
        expired = load(con, "expired", cfg, EXPIRED, ["table", "topic", "partition", "first_offset",
                                                      "last_offset"])
        if not places and not expired:
            report.lost = report.acked
            return report
        con.execute('CREATE TABLE _acked AS SELECT unnest($t) AS topic, unnest($p)::INTEGER AS partition, '
                    'unnest($o)::BIGINT AS "offset"', {"t": [e["topic"] for e in ledger],
                                                       "p": [int(e["partition"]) for e in ledger],
                                                       "o": [int(e["offset"]) for e in ledger]})
        places = places or ["SELECT NULL::VARCHAR, NULL::INTEGER, NULL::BIGINT, NULL::VARCHAR, NULL::VARCHAR "
                            "WHERE FALSE"]
        con.execute(f"""
            CREATE TABLE found AS SELECT * FROM ({" UNION ALL ".join(places)}) AS f(topic, partition, "offset",
                event_id, place) WHERE list_contains($topics, topic)""", {"topics": topics})
        # Acknowledged records whose silver/quarantine/duplicates row retention deleted (bronze expiry
        # alone does not matter here: the ledger is checked against the records' fates).
        gone = ("SELECT a.topic, a.partition, a.\"offset\" FROM _acked a JOIN expired e ON e.topic = a.topic "
                "AND e.partition = a.partition AND a.\"offset\" BETWEEN e.first_offset AND e.last_offset "
                "WHERE e.\"table\" NOT LIKE 'bronze.%'") if expired else \
            'SELECT topic, partition, "offset" FROM _acked WHERE FALSE'
        con.execute(f"CREATE TABLE gone AS SELECT DISTINCT * FROM ({gone})")
        con.execute("""
            CREATE TABLE per AS
            SELECT a.topic, a.partition, a."offset", coalesce(f.n, 0) AS n, coalesce(f.places, []) AS places,
                   g.topic IS NOT NULL AS expired
            FROM _acked a LEFT JOIN (SELECT topic, partition, "offset", count(*) AS n, list(place ORDER BY place)
                                     AS places FROM found GROUP BY ALL) f USING (topic, partition, "offset")
                          LEFT JOIN gone g USING (topic, partition, "offset")""")
        ok, lost, doubled, gone_n = con.execute(
            "SELECT count(*) FILTER (WHERE n = 1), count(*) FILTER (WHERE n = 0 AND NOT expired), "
            "count(*) FILTER (WHERE n > 1), count(*) FILTER (WHERE n = 0 AND expired) FROM per").fetchone()
        report.accounted, report.lost, report.doubled, report.expired = int(ok), int(lost), int(doubled), int(gone_n)
        repeats = ("SELECT event_id, count(*) AS count FROM found WHERE place = 'silver' AND event_id IS NOT NULL "
                   "GROUP BY event_id HAVING count(*) > 1")
        report.silver_repeats = con.execute(f"SELECT count(*) FROM ({repeats})").fetchone()[0]
        if "quarantine" in {t[0] for t in con.execute("SHOW TABLES").fetchall()}:
            report.no_reason = con.execute(
                "SELECT count(*) FROM quarantine WHERE list_contains($topics, topic) "
                "AND (reason IS NULL OR trim(reason) = '')", {"topics": topics}).fetchone()[0]
        for key, cond in (("lost", "n = 0 AND NOT expired"), ("doubled", "n > 1")):
            rows = con.execute(f'SELECT topic, partition, "offset", places FROM per WHERE {cond} '
                               f'ORDER BY topic, partition, "offset" LIMIT {SAMPLE}').fetchall()
            if rows:
                report.samples[key] = [{"topic": t, "partition": int(p), "offset": int(o), "found_in": list(f)}
                                       for t, p, o, f in rows]
        if report.silver_repeats:
            report.samples["silver_repeats"] = [
                {"event_id": e, "count": int(n)} for e, n in con.execute(f"{repeats} LIMIT {SAMPLE}").fetchall()]
    finally:
        con.close()
    return report
