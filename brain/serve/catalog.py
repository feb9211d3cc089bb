"""The lake's catalogue: every column of every Delta table with its GB/T 43697 grade (``brain catalog``).

Reads each table's schema and properties with delta-rs (no JVM), grades
every column from the declaration (conf/contracts/classification.yaml via
brain.contracts.classification) and compares it with the grades written into
the table (property ``brain.classification``, brain.lake.classified):
``stored`` says whether the table's files say the same. A column the
declaration does not grade has level null: ``ungraded`` lists them, and the
command exits 1 so a script (or a test) notices.
"""

from __future__ import annotations

from dataclasses import dataclass

from brain.config import Config
from brain.contracts.classification import PROPERTY, Classification, as_dict, load, parse_property
from brain.lake.tables import is_delta, table_path


class CatalogError(Exception):
    """A table that cannot be listed, with what to do."""


@dataclass
class TableEntry:
    table: str
    level: str | None          # the highest level of its columns (null if any is ungraded)
    personal: list[str]        # columns holding personal information
    stored: bool               # the table's own brain.classification says the same as the declaration
    columns: list[dict]
    ungraded: list[str]

    def as_dict(self) -> dict:
        return {"table": self.table, "level": self.level, "personal": self.personal, "stored": self.stored,
                "ungraded": self.ungraded, "columns": self.columns}


def _schema_and_properties(path) -> tuple[list[tuple[str, str]], dict]:
    from deltalake import DeltaTable

    dt = DeltaTable(str(path))
    cols = [(f.name, str(f.type.type) if hasattr(f.type, "type") else str(f.type)) for f in dt.schema().fields]
    return cols, dict(dt.metadata().configuration or {})


def describe(cfg: Config, name: str, declared: Classification | None = None) -> TableEntry:
    c = declared or load()
    path = table_path(cfg, name)
    if not is_delta(path):
        raise CatalogError(f"{name} is not a Delta table at {path}; `brain catalog` lists the tables there are")
    cols, props = _schema_and_properties(path)
    stored = parse_property(props.get(PROPERTY)) or {}
    order = list(c.levels)
    out, ungraded = [], []
    for col, type_ in cols:
        g = c.resolve(name, col)
        if g is None:
            ungraded.append(col)
        out.append({"name": col, "type": type_, **(as_dict(g) or {"level": None, "domain": None, "unit": None,
                                                                   "personal": None}),
                    "stored_level": (stored.get(col).level if stored.get(col) else None)})
    levels = [o["level"] for o in out]
    top = None if None in levels or not levels else max(levels, key=order.index)
    same = bool(stored) and all(stored.get(col) == c.resolve(name, col) for col, _ in cols)
    return TableEntry(name, top, [o["name"] for o in out if o["personal"]], same, out, ungraded)


def catalog(cfg: Config, table: str | None = None) -> list[TableEntry]:
    from brain.lake.maintenance import lake_tables

    declared = load()
    return [describe(cfg, n, declared) for n in ([table] if table else lake_tables(cfg))]


def stamp_all(cfg: Config, log=print) -> list[str]:
    """Write the declared grades into every table whose ``brain.classification`` differs (Spark)."""
    from brain.lake.classified import stamp_grades
    from brain.lake.maintenance import lake_tables
    from brain.spark import get_session

    spark = get_session(cfg)
    changed = []
    for name in lake_tables(cfg):
        if stamp_grades(spark, table_path(cfg, name), name):
            changed.append(name)
            log(f"{name}: grades written")
    return changed
