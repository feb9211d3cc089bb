"""Classification and grading (GB/T 43697-2024) of every lake column, from conf/contracts/classification.yaml.

Each column of each table resolves to a ``Grade``: its level (general /
important / core), domain, unit and whether it is personal information. The
file declares grades once per column name and overrides them per table-name
pattern (``tables:``), so a new table is graded by the columns it shares with
the others and only what differs is written down. Pure: no Spark.

The grade is also written into each Delta table (table property
``brain.classification``, see ``property_value``) when the table is created
or gains columns, so a reader of the files sees it without this repository;
``brain catalog`` (brain.serve.catalog) lists both and says where they differ.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from fnmatch import fnmatchcase
from functools import lru_cache
from pathlib import Path

from brain.contracts.paths import contracts_dir

PROPERTY = "brain.classification"
_KEYS = frozenset({"level", "domain", "unit", "personal"})


class ClassificationError(ValueError):
    """The classification file says something malformed (an unknown level or key)."""


@dataclass(frozen=True)
class Grade:
    level: str
    domain: str
    unit: str | None = None
    personal: bool = False

    def compact(self) -> list:
        return [self.level, self.domain, self.unit, self.personal]


@dataclass(frozen=True)
class Classification:
    levels: dict[str, str]                          # level -> what it means, least protected first
    columns: dict[str, dict]                        # column name (or glob) -> entry
    tables: tuple[tuple[str, dict[str, dict]], ...]  # (table-name glob, column (or glob, "*") -> entry)

    def resolve(self, table: str, column: str) -> Grade | None:
        """The column's grade in ``table``; None when nothing declares it (an error the tests catch)."""
        base = _match(self.columns, column)
        for pattern, overrides in self.tables:
            if fnmatchcase(table, pattern):
                over = _match(overrides, column)
                if over is not None:
                    base = {**(base or {}), **over}
                    break
        if base is None or "level" not in base or "domain" not in base:
            return None
        return Grade(base["level"], base["domain"], base.get("unit"), bool(base.get("personal", False)))

    def grade_table(self, table: str, columns: list[str]) -> dict[str, Grade | None]:
        return {c: self.resolve(table, c) for c in columns}

    def ungraded(self, table: str, columns: list[str]) -> list[str]:
        return [c for c, g in self.grade_table(table, columns).items() if g is None]


def _match(entries: dict[str, dict], column: str) -> dict | None:
    """An exact name first, then the first glob (file order) that matches."""
    if column in entries:
        return entries[column]
    for pattern, entry in entries.items():
        if any(ch in pattern for ch in "*?[") and fnmatchcase(column, pattern):
            return entry
    return None


def _checked(where: str, entry, levels: dict) -> dict:
    if not isinstance(entry, dict):
        raise ClassificationError(f"{where}: expected a mapping of {sorted(_KEYS)}, got {entry!r}")
    unknown = set(entry) - _KEYS
    if unknown:
        raise ClassificationError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_KEYS)}")
    if "level" in entry and entry["level"] not in levels:
        raise ClassificationError(f"{where}: level {entry['level']!r} is not one of {list(levels)}")
    return entry


def parse(doc: dict) -> Classification:
    levels = doc.get("levels") or {}
    if list(levels) != ["general", "important", "core"]:
        raise ClassificationError(f"levels must be general, important, core (GB/T 43697-2024), not {list(levels)}")
    columns = {str(k): _checked(f"columns.{k}", v, levels) for k, v in (doc.get("columns") or {}).items()}
    tables = tuple((str(t), {str(c): _checked(f"tables.{t}.{c}", e, levels) for c, e in (cols or {}).items()})
                   for t, cols in (doc.get("tables") or {}).items())
    return Classification(dict(levels), columns, tables)


def classification_file() -> Path:
    return contracts_dir() / "classification.yaml"


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> Classification:
    import yaml

    return parse(yaml.safe_load(Path(path).read_text()) or {})


def load(path: Path | None = None) -> Classification:
    """The declaration (re-read when the file changes)."""
    p = Path(path or classification_file())
    if not p.is_file():
        raise ClassificationError(f"the classification file {p} is missing (conf/contracts/classification.yaml)")
    return _load(str(p), p.stat().st_mtime)


def property_value(table: str, columns: list[str], declared: Classification | None = None) -> str:
    """The ``brain.classification`` table property: compact JSON, column -> [level, domain, unit, personal].

    A column without a grade is written as null, so a table created with one is visibly ungraded
    in the files too (the tests keep that from happening)."""
    c = declared or load()
    graded = {col: (g.compact() if g else None) for col, g in c.grade_table(table, columns).items()}
    # No single quotes or backslashes: the value goes into a SQL string literal.
    return json.dumps(graded, separators=(",", ":")).replace("'", "").replace("\\", "")


def parse_property(value: str | None) -> dict[str, Grade | None] | None:
    if not value:
        return None
    try:
        raw = json.loads(value)
    except ValueError:
        return None
    return {col: (Grade(v[0], v[1], v[2], bool(v[3])) if v else None) for col, v in raw.items()}


def as_dict(g: Grade | None) -> dict | None:
    return asdict(g) if g else None
