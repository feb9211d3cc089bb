"""A silver table gaining the columns of a new minor contract version (additive schema evolution).

The silver schema follows the contract (brain.contracts.specs): once a minor
version adds an optional field, the rows judged by the new spec carry a column
the table lacks. Before they are written the table gets it with ``ALTER TABLE
... ADD COLUMNS`` (rows written before read null), placed where a table
created from the new contract has it, and the table property
``brain.contract_version`` is raised to the contract the columns now follow.

An explicit ALTER rather than ``mergeSchema`` on the write: silver is written
by idempotent appends (the streaming pass, txnAppId/txnVersion) and by keyed
MERGEs (backfill, quarantine replay), and only the append takes the option;
the session-wide autoMerge switch would let any write change any table's
schema, which is why brain.spark keeps it off. The ALTER adds only columns the
table lacks, planned again on every attempt, so a batch replayed after a crash
(or a commit race lost to OPTIMIZE) finds them and adds nothing.

A column whose type differs is not evolution: ``columns_to_add`` refuses it
(BreakingSchemaChange) and the write stops, loudly, instead of mixing types.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from brain.lake.classified import stamp_grades
from brain.lake.tables import is_delta
from brain.lake.writers import retry_conflicts

if TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from pyspark.sql.types import StructType

CONTRACT_PROPERTY = "brain.contract_version"


class BreakingSchemaChange(ValueError):
    """The rows to write give a column another type than the table has: a new major contract."""


@dataclass(frozen=True)
class NewColumn:
    name: str
    type: str                # Spark SQL type, e.g. "string", "array<string>"
    after: str | None = None  # the column it follows; None: first


def columns_to_add(table: list[tuple[str, str]], rows: list[tuple[str, str]]) -> list[NewColumn]:
    """The (name, type) columns of ``rows`` that ``table`` lacks, in ``rows``' order, each after the
    column it follows there (so the evolved table has a new table's order). Pure."""
    have = dict(table)
    changed = [f"{n} {have[n]} -> {t}" for n, t in rows if n in have and have[n] != t]
    if changed:
        raise BreakingSchemaChange(f"column types differ from the table's: {', '.join(changed)}")
    out, previous = [], None
    for name, type_ in rows:
        if name not in have:
            out.append(NewColumn(name, type_, previous))
        previous = name
    return out


def newer_version(contract: str, recorded: str | None) -> bool:
    """True when ``contract`` is later than the version a table records (none recorded: later)."""
    if not recorded:
        return True
    try:
        return tuple(map(int, contract.split("."))) > tuple(map(int, recorded.split(".")))
    except ValueError:
        return True


def _columns(schema: "StructType") -> list[tuple[str, str]]:
    return [(f.name, f.dataType.simpleString()) for f in schema.fields]


# Tables found to hold a write's columns and contract version in this process: the check reads the
# table's snapshot and properties, a cost every micro-batch would otherwise pay for nothing.
_CHECKED: set[tuple[str, str, tuple]] = set()


def evolve(spark: "SparkSession", path: str, rows: "StructType", contract_version: str) -> list[NewColumn]:
    """Give the Delta table at ``path`` the columns of ``rows`` it lacks and record ``contract_version``
    in its properties when newer than the recorded one; the columns added. Nothing while the
    table does not exist (the write creates it with every column)."""
    key = (path, contract_version, tuple(_columns(rows)))
    if key in _CHECKED or not is_delta(path):
        return []
    from brain.lake import delta_sql

    added: list[NewColumn] = []

    def add_missing() -> None:
        for col in columns_to_add(_columns(delta_sql.schema(spark, path)), _columns(rows)):
            where = f"AFTER `{col.after}`" if col.after else "FIRST"
            spark.sql(f"ALTER TABLE delta.`{path}` ADD COLUMNS (`{col.name}` {col.type} {where})")
            added.append(col)

    retry_conflicts(add_missing)
    if added:  # the new columns' grades, next to the others (brain.lake.classified)
        stamp_grades(spark, path)
    recorded = delta_sql.properties(spark, path).get(CONTRACT_PROPERTY)
    if newer_version(contract_version, recorded):
        retry_conflicts(lambda: spark.sql(f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES "
                                          f"('{CONTRACT_PROPERTY}' = '{contract_version}')"))
    _CHECKED.add(key)
    return added
