"""Finding lake table names (``gold.x``, with optional Delta time travel) in analyst SQL.

Pure string work, no engine: both query engines need the same answer to
"which tables, at which version" before they can run a statement, and the
rewrite must never touch text inside string literals, quoted identifiers or
comments (``WHERE reason = 'gold.x'`` stays as written).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from brain.lake.tables import LAYERS

_NAME = re.compile(r"(?<![\w.`\"$])(" + "|".join(LAYERS) + r")\.([A-Za-z_][A-Za-z0-9_]*)(?![\w.(])",
                   re.IGNORECASE)
_TRAVEL = re.compile(r"\s+(VERSION|TIMESTAMP)\s+AS\s+OF\s+('[^']*'|[^\s)]+)", re.IGNORECASE)
_READ_ONLY = re.compile(r"^\s*\(*\s*(SELECT|WITH|VALUES|SHOW|DESCRIBE|DESC|EXPLAIN|FROM|TABLE)\b", re.IGNORECASE)


class SqlError(ValueError):
    """The statement cannot be run as an analyst query (and why)."""


@dataclass(frozen=True)
class TableRef:
    name: str                     # <layer>.<table>, lower case
    version: int | None = None    # VERSION AS OF n
    timestamp: str | None = None  # TIMESTAMP AS OF '...'
    start: int = 0                # span of the name and its time-travel clause in the statement
    end: int = 0

    @property
    def key(self) -> tuple[str, int | None, str | None]:
        return (self.name, self.version, self.timestamp)

    @property
    def label(self) -> str:
        if self.version is not None:
            return f"{self.name} VERSION AS OF {self.version}"
        if self.timestamp is not None:
            return f"{self.name} TIMESTAMP AS OF '{self.timestamp}'"
        return self.name


def mask(sql: str) -> str:
    """``sql`` with the insides of literals, quoted identifiers and comments blanked (same length)."""
    out = list(sql)
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c in "'\"`":
            j = i + 1
            while j < n:
                if sql[j] == c:
                    if j + 1 < n and sql[j + 1] == c:  # '' inside a literal is an escaped quote
                        j += 2
                        continue
                    break
                j += 1
            for k in range(i + 1, min(j, n)):
                out[k] = " "
            i = j + 1
        elif sql.startswith("--", i):
            j = sql.find("\n", i)
            j = n if j < 0 else j
            out[i:j] = " " * (j - i)
            i = j
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out[i:j] = " " * (j - i)
            i = j
        else:
            i += 1
    return "".join(out)


def check_read_only(sql: str) -> str:
    """The statement without a trailing ``;``; refuses anything but one read-only statement."""
    masked = mask(sql).rstrip()
    body = sql[:len(masked)]
    if masked.endswith(";"):
        masked, body = masked[:-1], body[:-1]
    if not masked.strip():
        raise SqlError("empty query")
    if ";" in masked:
        raise SqlError("one statement at a time, please (found ';' inside the query)")
    if not _READ_ONLY.match(masked):
        raise SqlError("brain query only reads: start with SELECT, WITH, VALUES, SHOW, DESCRIBE or EXPLAIN "
                       "(tables are written by the pipeline, not by analysts)")
    return body


def find_tables(sql: str) -> list[TableRef]:
    """Every ``<layer>.<table>`` in the statement, in order, with its time-travel clause if any."""
    masked = mask(sql)
    refs = []
    for m in _NAME.finditer(masked):
        name = f"{m.group(1).lower()}.{m.group(2).lower()}"
        version = timestamp = None
        end = m.end()
        travel = _TRAVEL.match(masked, end)
        if travel:
            raw = sql[travel.start(2):travel.end(2)]
            if travel.group(1).upper() == "VERSION":
                if not raw.isdigit():
                    raise SqlError(f"VERSION AS OF needs a version number, not {raw}")
                version = int(raw)
            else:
                if not raw.startswith("'"):
                    raise SqlError(f"TIMESTAMP AS OF needs a quoted timestamp, e.g. '2026-01-31 12:00:00', "
                                   f"not {raw}")
                timestamp = raw[1:-1]
            end = travel.end()
        refs.append(TableRef(name, version, timestamp, m.start(), end))
    return refs


def rewrite(sql: str, refs: list[TableRef], replacement: dict[tuple, str]) -> str:
    """``sql`` with each reference's span replaced by ``replacement[ref.key]``."""
    out, pos = [], 0
    for ref in sorted(refs, key=lambda r: r.start):
        out.append(sql[pos:ref.start])
        out.append(replacement[ref.key])
        pos = ref.end
    out.append(sql[pos:])
    return "".join(out)
