"""The pure transforms that decide each record's fate (record specs: brain.contracts.specs).

A bronze row (raw Kafka bytes) becomes either a typed silver row or a
quarantine row with exactly one ``reason``. The checks form one table
(``check_table``: reason, priority, test); the first failing check by
priority is the reason, so every record gets one, stable reason.

Parse once. Every row is read by one typed ``from_json`` (``parse``: every
field typed, timestamps and number-like enums such as ``schema_version`` as
VARIANT so their JSON type stays exact, string values that could be another
JSON type's text left to the diagnosis) plus the list of its top-level keys. The check table run
over that one parse (the *quick* view) passes the great majority of rows;
only the rest (``classify``) get the detailed diagnosis: the all-strings parse
and the strict VARIANT parse the table's *full* view reads, which names the
reason exactly as it always has. The quick view may send a valid row to the
diagnosis (an undeclared key, a non-finite number), never the other way: a
row it passes is one the full view passes too, with the same typed values
(tests/unit/clean/test_parse_once.py compares both views on hostile rows).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from brain.contracts.specs import LOCATION, Field, RecordSpec, all_fields
from brain.contracts.units import CONVERSIONS

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

T = TypeVar("T")

UUID_RE = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
# Location ids end up in partition paths and SQL; keep them to a safe alphabet.
SAFE_ID_RE = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"
OFFSET_TS_RE = r"(Z|z|[+-][0-9]{2}:?[0-9]{2})$"
EPOCH_MS_RE = r"^-?[0-9]{1,15}$"

# Reason codes, documented in docs/quarantine.md.
OVERSIZED = "oversized"
NON_UTF8 = "non_utf8"
MALFORMED = "malformed_json"
SCHEMA_MISMATCH = "schema_mismatch"
WRONG_TOPIC = "wrong_topic"
MISSING = "missing_field"
WRONG_TYPE = "wrong_type"
INVALID_ID = "invalid_id"
INVALID_VALUE = "invalid_value"
UNKNOWN_UNIT = "unknown_unit"
BAD_TS = "bad_timestamp"
FUTURE_TS = "future_timestamp"
TOO_LATE = "late_beyond_horizon"
OUT_OF_RANGE = "out_of_range"
SITE_MISMATCH = "site_mismatch"
UNKNOWN_ASSET = "unknown_asset"


@dataclass(frozen=True)
class Limits:
    """What the checks need besides the spec: config limits, and where records may come from.

    ``assets``: every registered (industry, enterprise, site, area, line, device), sorted
    (brain.contracts.assets.Registry.locations; silver.limits fills it from conf/assets.yaml);
    None skips the registry check, for unit tests of the other checks with made-up places.
    ``topic_prefix``: kafka.topic_prefix, to tell a site topic (brain.contracts.site_topics) by name.
    """
    max_payload_bytes: int
    future_tolerance_s: int
    late_horizon_days: int
    assets: tuple[tuple[str, ...], ...] | None = None
    topic_prefix: str = ""

    def registered(self, industry: str) -> tuple[tuple[str, ...], ...] | None:
        """The industry's registered locations (enterprise, site, area, line, device); None: not checked."""
        if self.assets is None:
            return None
        return tuple(a[1:] for a in self.assets if a[0] == industry)


def raw_schema(spec: RecordSpec):
    """Every field as a string: JSON numbers and objects keep their text, so a
    wrong type is detected by a failed cast instead of a silently null row
    (the full view's parse)."""
    from pyspark.sql.types import StringType, StructField, StructType

    cols = [StructField(f.name, StringType()) for f in all_fields(spec)]
    return StructType(cols + [StructField("_corrupt", StringType())])


# from_json reads any JSON value into a string field (7, true, {"a": 1} and "7" alike), as the
# text Jackson writes for it: a JSON number, true/false, or text starting with {, [ or " (a
# quoted Infinity). A string field's value looking like one of these may not have been a JSON
# string, so the quick view does not vouch for it (the diagnosis sees the JSON type); any
# other text can only have come from a JSON string.
OTHER_JSON_TEXT = r'^(-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|true|false|[\[{"][\s\S]*)$'
# The characters such text starts with: a cheap test first, so the regex (which makes a Java String
# of the value) runs only on the few values that could match it.
_OTHER_JSON_FIRST = tuple("-0123456789tf[{\"")
SURROGATE_ESCAPE = r"\\u[dD][89a-fA-F]"
# from_json typed: a JSON value of another type makes the row corrupt (1.5 or "1" for an int,
# "true" for a boolean, "" for a number), so these need no VARIANT. Strict JSON: no NaN/Infinity,
# no single quotes (both allowed by Spark's defaults, refused by the VARIANT parse).
QUICK_OPTIONS = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": "_corrupt",
                 "allowSingleQuotes": "false", "allowNonNumericNumbers": "false"}
# Above this the quick view does not vouch for a row (Jackson's default string limit, 20 M
# chars, and the variant's 16 MiB bind the full parse, not necessarily from_json): diagnosed.
QUICK_MAX_BYTES = 8 * 1024 * 1024


def needs_variant(f: Field) -> bool:
    """Whether the quick parse reads ``f`` as VARIANT: a timestamp (a JSON string or an integer,
    told apart by its JSON type), or a string field whose allowed values look like other JSON
    (``schema_version`` "1.0": the number 1.0 reads the same into a string field, and every record
    would go to the diagnosis). Every other field is read typed: a VARIANT field costs a variant
    built and its JSON type named, per row."""
    import re

    if f.type == "timestamp":
        return True
    return f.type == "string" and any(re.match(OTHER_JSON_TEXT, str(v)) for v in f.allowed or ())


def quick_schema(spec: RecordSpec):
    """The one typed parse: native types, VARIANT where ``needs_variant``."""
    from pyspark.sql.types import (
        ArrayType,
        BooleanType,
        DoubleType,
        IntegerType,
        LongType,
        StringType,
        StructField,
        StructType,
        VariantType,
    )

    native = {"double": DoubleType(), "long": LongType(), "int": IntegerType(), "boolean": BooleanType(),
              "string": StringType(), "array<string>": ArrayType(StringType())}
    cols = [StructField(f.name, VariantType() if needs_variant(f) else native[f.type]) for f in all_fields(spec)]
    return StructType(cols + [StructField("_corrupt", StringType())])


def decode(bronze: "DataFrame") -> "DataFrame":
    """Bytes -> text; remembers size and whether the bytes were valid UTF-8."""
    from pyspark.sql import functions as F

    text = F.try_validate_utf8(F.col("payload").cast("string"))
    return bronze.withColumns({"_size": F.coalesce(F.length("payload"), F.lit(0)),
                               "_utf8_ok": text.isNotNull() | F.col("payload").isNull(),
                               "_text": F.when(text.isNotNull(), text)})


def parse(decoded: "DataFrame", spec: RecordSpec) -> "DataFrame":
    """Adds ``_p`` (the one typed parse), ``_keys`` (the top-level keys, in order, repeats kept),
    each field's raw text and JSON type and one typed column per field, as the quick view reads them.

    One projection per step instead of a withColumn per field: each withColumn
    re-analyses the whole plan, a fixed cost every micro-batch pays per record type.
    """
    df = decoded
    for step in _built("parse", spec, None, lambda: _parse_steps(spec)):
        df = df.withColumns(step)
    return df


def _parse_steps(spec: RecordSpec) -> list[dict[str, "Column"]]:
    from pyspark.sql import functions as F

    view = _Quick(spec)
    steps = [{"_p": F.from_json(F.col("_text"), quick_schema(spec), QUICK_OPTIONS),
              # The keys from_json skips or overwrites: undeclared ones and repeated ones.
              "_keys": F.json_object_keys(F.col("_text"))},
             {_qt(f.name): view.jtype_expr(f.name) for f in all_fields(spec)},
             {_qr(f.name): view.raw_expr(f.name) for f in all_fields(spec)}]
    return steps + _typed_steps(spec, view)


def _typed_steps(spec: RecordSpec, view: "_View", keep: "Column | None" = None) -> list[dict[str, "Column"]]:
    """One typed column per field (``<name>_utc`` for a timestamp), ``event_date`` and the
    standard value, as ``view`` reads the parse. With ``keep``, rows where it holds keep the
    typed columns they have (the quick view's) and only the others are typed from ``view``."""
    from pyspark.sql import functions as F

    typed = {}
    for f in all_fields(spec):
        name = f"{f.name}_utc" if f.type == "timestamp" else f.name
        value = view.typed(f)
        typed[name] = value if keep is None else F.when(keep, F.col(name)).otherwise(value)
    steps = [typed, {"event_date": F.to_date("event_ts_utc")}]
    if spec.unit_field and spec.value_field:
        steps.append(_standard_value(spec))
    return steps


# Columns are immutable expressions over column names, and building classify's (61 reasons
# for energy) is thousands of calls into the JVM: ~1 s of Python per micro-batch, every
# record type's batch, in the GIL. Built once per spec, units and limits, reused by every batch.
_BUILT: dict[tuple, object] = {}


def _built(kind: str, spec: RecordSpec, key, build: Callable[[], T]) -> T:
    """``build()``, once per (kind, spec, unit conversions, key) and kind of Column (classic or
    Spark Connect).

    Keyed on what the Columns are built from, by value: a contract that learns a
    unit in a running process (the spec's allowed units and CONVERSIONS are plain
    dicts) gets new Columns, not the ones that still reject it.
    """
    from pyspark.sql import functions as F

    cache_key = (kind, repr(spec), repr(sorted(CONVERSIONS.items())), key, type(F.lit(0)))
    hit = _BUILT.get(cache_key)
    if hit is None:
        hit = _BUILT[cache_key] = build()
    return hit  # type: ignore[return-value]


def _jt(name: str) -> str:
    return f"_jt_{name}"


def _qt(name: str) -> str:
    return f"_qt_{name}"


def _qr(name: str) -> str:
    return f"_qr_{name}"


def _timestamp(raw: "Column", jtype: "Column") -> "Column":
    """A JSON integer of epoch milliseconds, or an RFC 3339 string with an offset
    (a bare local time is ambiguous, a quoted number is neither: null)."""
    from pyspark.sql import functions as F

    ts = F.trim(raw)
    return (F.when((jtype != "STRING") & ts.rlike(EPOCH_MS_RE), F.timestamp_millis(ts.try_cast("long")))
             .when((jtype == "STRING") & ts.rlike(OFFSET_TS_RE), ts.try_cast("timestamp")))


class _View:
    """How the check table reads a field: its raw text (null when absent or JSON null), its
    JSON type as schema_of_variant names it (null when absent, VOID for JSON null), its typed
    value, and whether the record can be read at all (``malformed_json``)."""

    def raw(self, name: str) -> "Column":
        raise NotImplementedError

    def jtype(self, name: str) -> "Column":
        raise NotImplementedError

    def unreadable(self) -> "Column":
        raise NotImplementedError

    def typed(self, f: Field) -> "Column":
        if f.type == "timestamp":
            return _timestamp(self.raw(f.name), self.jtype(f.name))
        return _typed(self.raw(f.name), f.type)


class _Full(_View):
    """The detailed diagnosis: an all-strings parse (``_r``) and a strict VARIANT parse (``_v``)
    with each field's JSON type (``_jt_<name>``), made only for the rows the quick view did not pass."""

    def raw(self, name: str) -> "Column":
        from pyspark.sql import functions as F

        return F.col(f"_r.{name}")

    def jtype(self, name: str) -> "Column":
        from pyspark.sql import functions as F

        return F.col(_jt(name))

    def unreadable(self) -> "Column":
        from pyspark.sql import functions as F

        return (F.col("_text").isNull() | F.col("_r").isNull() | F.col("_r._corrupt").isNotNull()
                | F.col("_v").isNull() | ~F.schema_of_variant(F.col("_v")).startswith("OBJECT"))


# A JSON type the typed parse accepted for a field of this type (JSON_TYPES matches it): from_json
# refused every other, making the row corrupt (numbers, booleans), or the quick view does not vouch
# for the row (strings and list items that look like other JSON), so the name stands for whichever it was.
_ACCEPTED = {"double": "DOUBLE", "long": "BIGINT", "int": "BIGINT", "boolean": "BOOLEAN", "string": "STRING",
             "array<string>": "ARRAY<STRING>"}


class _Quick(_View):
    """The one typed parse (``_p``, ``_keys``): conservative, so a row it cannot vouch for is
    unreadable here and goes to the full view, which names its reason.

    Each field's raw text and JSON type are columns (``_qr_<name>``, ``_qt_<name>``, made by
    ``parse``), as the full view's are: the checks read them up to five times each, and Spark
    does not share one expression between the branches of a CASE, so an expression here would
    be computed again for every check that reads it.
    """

    def __init__(self, spec: RecordSpec):
        self.fields = {f.name: f for f in all_fields(spec)}

    def raw(self, name: str) -> "Column":
        from pyspark.sql import functions as F

        return F.col(_qr(name))

    def jtype(self, name: str) -> "Column":
        from pyspark.sql import functions as F

        return F.col(_qt(name))

    def jtype_expr(self, name: str) -> "Column":
        from pyspark.sql import functions as F

        value, f = F.col(f"_p.{name}"), self.fields[name]
        if needs_variant(f):
            return F.schema_of_variant(value)
        return F.when(value.isNotNull(), F.lit(_ACCEPTED[f.type])).when(
            F.array_contains(F.col("_keys"), name), F.lit("VOID"))

    def raw_expr(self, name: str) -> "Column":
        """Needs ``_qt_<name>``."""
        from pyspark.sql import functions as F

        value, f = F.col(f"_p.{name}"), self.fields[name]
        if not needs_variant(f):
            if f.type == "string":
                return value  # the string's content, as the all-strings parse has it
            # Null exactly when absent or JSON null, as in the all-strings parse; the text of a number
            # or a list is not read here (the typed value is the parse's own).
            return F.to_json(value) if f.type == "array<string>" else value.cast("string")
        present = self.jtype(name) != "VOID"
        # A string's content, a number's digits (as the all-strings parse has them); anything else
        # (an object, a list) some non-null text, which the type checks then refuse.
        return F.when(present, F.coalesce(F.try_variant_get(value, "$", "string"), F.to_json(value)))

    def typed(self, f: Field) -> "Column":
        from pyspark.sql import functions as F

        if f.type in ("timestamp", "string"):
            return super().typed(f)
        return F.col(f"_p.{f.name}")

    def unreadable(self) -> "Column":
        from pyspark.sql import functions as F

        keys = F.col("_keys")
        bad = [F.col("_text").isNull(), F.col("_p").isNull(), F.col("_p._corrupt").isNotNull(),
               keys.isNull(),  # not a JSON object
               # A key twice (the variant parse refuses it) or an undeclared one (from_json skips its
               # value unread; the variant parse reads it).
               ~_declared_once(keys, list(self.fields)),
               F.col("_size") > QUICK_MAX_BYTES,
               # A lone surrogate ("\ud800") reads as "?" into a string, but makes the variant parse
               # fail; any surrogate escape (emoji written as a pair included) goes to the diagnosis.
               F.col("_text").contains("\\u") & F.col("_text").rlike(SURROGATE_ESCAPE)]
        for f in self.fields.values():
            if f.type == "string" and not needs_variant(f):
                bad.append(_other_json_text(F.col(f"_p.{f.name}")))
            if f.type == "array<string>":
                bad.append(F.exists(F.col(f"_p.{f.name}"), _other_json_text))
            if f.type == "double":  # 1e400 parses as Infinity; the diagnosis says what it is
                v = F.col(f"_p.{f.name}")
                bad.append(F.isnan(v) | (v == float("inf")) | (v == float("-inf")))
        return _balanced(lambda a, b: a | b, bad)


def _declared_once(keys: "Column", declared: list[str]) -> "Column":
    """Whether ``keys`` are distinct and each one of ``declared``: then, and only then, the declared
    names found among them are as many as the keys (a repeat or an undeclared key leaves the count
    short). Not array_distinct/array_except: those build a hash set per row and, in Spark 4.2, make a
    new SQLConf for every element they read (a fifth of classify's CPU in a profile)."""
    from pyspark.sql import functions as F

    found = _balanced(lambda a, b: a + b, [F.array_contains(keys, n).cast("int") for n in declared])
    return F.size(keys) == found


def _balanced(op: Callable[["Column", "Column"], "Column"], terms: list["Column"]) -> "Column":
    """``terms`` combined pairwise into a balanced tree: a chain of one operator per term nests as
    deep as it is long, and Spark Connect refuses a plan nested over 100 levels (protobuf's limit)."""
    while len(terms) > 1:
        terms = [op(terms[i], terms[i + 1]) if i + 1 < len(terms) else terms[i] for i in range(0, len(terms), 2)]
    return terms[0]


def _other_json_text(value: "Column") -> "Column":
    """Whether a string value reads like another JSON type's text (OTHER_JSON_TEXT)."""
    return value.substr(1, 1).isin(*_OTHER_JSON_FIRST) & value.rlike(OTHER_JSON_TEXT)


def _lookup(mapping: dict) -> "Column":
    from itertools import chain

    from pyspark.sql import functions as F

    return F.create_map(*chain.from_iterable((F.lit(k), F.lit(v)) for k, v in mapping.items()))


def _standard_value(spec: RecordSpec) -> dict[str, "Column"]:
    """``_std_value`` / ``_std_unit``: the value in its standard unit (null for an unknown unit)."""
    from pyspark.sql import functions as F

    unit = F.col(spec.unit_field)
    factor = _lookup({u: c.factor for u, c in CONVERSIONS.items()})[unit]
    offset = _lookup({u: c.offset for u, c in CONVERSIONS.items()})[unit]
    return {"_std_value": F.col(spec.value_field) * factor + offset,
            "_std_unit": _lookup({u: c.standard for u, c in CONVERSIONS.items()})[unit]}


def _typed(raw: "Column", type_: str) -> "Column":
    from pyspark.sql import functions as F

    if type_ == "string":
        return F.when(F.trim(raw) != "", raw)
    if type_.startswith("array<"):
        return F.from_json(raw, type_)
    return raw.try_cast(type_)


# JSON types (as Spark's schema_of_variant names them) each field type accepts, and which DECIMAL(p,s)
# it takes: "any" scale (a double), only scale 0 (an integer), or none.
_INTEGRAL = ("BIGINT", "INT", "SMALLINT", "TINYINT")
JSON_TYPES: dict[str, tuple[tuple[str, ...], str | None]] = {
    "string": (("STRING",), None),
    "timestamp": (("STRING", *_INTEGRAL), None),
    "double": ((*_INTEGRAL, "DOUBLE", "FLOAT"), "any"),
    "long": (_INTEGRAL, "integral"),
    "int": (_INTEGRAL, "integral"),
    "boolean": (("BOOLEAN",), None),
    "array<string>": (("ARRAY<STRING>", "ARRAY<VOID>"), None),
}


def json_type_ok(jtype: "Column", type_: str) -> "Column":
    """Whether a field of ``type_`` accepts a value of JSON type ``jtype``.

    Compared by name rather than matched with a regex: every regex in a Spark expression
    makes a Java String of its input, per row, and this runs for each field of each record.
    """
    names, decimals = JSON_TYPES[type_]
    ok = jtype.isin(*names)
    if decimals == "any":
        ok = ok | jtype.startswith("DECIMAL(")
    elif decimals == "integral":
        ok = ok | (jtype.startswith("DECIMAL(") & jtype.endswith(",0)"))
    return ok


def _is_blank(raw: "Column") -> "Column":
    from pyspark.sql import functions as F

    return raw.isNull() | (F.trim(raw) == "")


@dataclass(frozen=True)
class Check:
    """One row of the check table: a record fails it where ``test`` is true.

    A record check's ``test`` takes the batch's ``_Judged``; a field check
    (``fields`` set) runs once per field ``fields`` picks, in that order, and
    its ``test`` also takes the field. ``test`` returns None where the check
    does not apply to the spec (no unit field, no range). ``reason`` is the
    code reported, or for a code that names the field, a function of
    (spec, field) giving it.
    """
    priority: int
    reason: str | Callable[[RecordSpec, Field | None], str]
    test: Callable[..., "Column | None"]
    fields: Callable[[RecordSpec], Iterable[Field]] | None = None


@dataclass(frozen=True)
class _Judged:
    """What a check's test can look at besides the typed columns: ``view`` reads the parse
    (a field's raw text and JSON type, whether the record is readable at all)."""
    spec: RecordSpec
    limits: Limits
    now: "Column"
    view: _View

    def r(self, name: str) -> "Column":
        return self.view.raw(name)


def _with_field(code: str) -> Callable[[RecordSpec, Field | None], str]:
    return lambda spec, f: f"{code}:{f.name}"


def check_table() -> tuple[Check, ...]:
    """Every check a record goes through, in priority order (lowest first).

    The first failing check is the record's one reason, so the priorities are
    the order docs/quarantine.md lists the reasons in: a record that cannot be
    read is not also missing fields, and a field of the wrong type is not also
    out of range.
    """
    from pyspark.sql import functions as F

    def every(spec: RecordSpec) -> tuple[Field, ...]:
        return all_fields(spec)

    def named(*names) -> Callable[[RecordSpec], list[Field]]:
        return lambda spec: [f for n in names for f in all_fields(spec) if f.name == n]

    def missing(x: _Judged, f: Field) -> "Column | None":
        if f.required:
            return _is_blank(x.r(f.name))
        if f.nullable_present:
            return x.view.jtype(f.name).isNull()  # absent, not JSON null
        return None

    def wrong_json_type(x: _Judged, f: Field) -> "Column":
        jtype = x.view.jtype(f.name)
        wrong = ~json_type_ok(jtype, f.type)
        if f.type == "timestamp":  # epoch milliseconds must be a JSON number, not a quoted one
            wrong = wrong | ((jtype == "STRING") & F.trim(x.r(f.name)).rlike(EPOCH_MS_RE))
        return x.r(f.name).isNotNull() & (jtype != "VOID") & wrong

    def not_allowed(x: _Judged, f: Field) -> "Column | None":
        return F.col(f.name).isNotNull() & ~F.col(f.name).isin(*f.allowed) if f.allowed else None

    def unit_not_for_key(x: _Judged) -> "Column | None":
        if not x.spec.units_by:
            return None
        key, allowed = x.spec.units_by
        ok = F.lit(False)
        for k, units in allowed.items():
            ok = ok | ((F.col(key) == k) & F.col(x.spec.unit_field).isin(*units))
        return ~ok

    def range_key_unknown(x: _Judged) -> "Column | None":
        if not x.spec.range_by:
            return None
        key, ranges = x.spec.range_by
        return F.col(key).isNotNull() & ~F.col(key).isin(*ranges)

    def unit_of_wrong_quantity(x: _Judged) -> "Column | None":
        # A unit of the wrong quantity (ppm for a temperature) is as unknown as a made-up one.
        if not x.spec.range_by:
            return None
        key, ranges = x.spec.range_by
        return _lookup({k: rng[2] for k, rng in ranges.items()})[F.col(key)] != F.col("_std_unit")

    def numeric_out_of_range(x: _Judged, f: Field) -> "Column | None":
        if f.type in ("double", "long", "int") and (f.min is not None or f.max is not None):
            return _out_of_range(F.col(f.name), f)
        return None

    def claims_another_site(x: _Judged) -> "Column":
        # The topic names the site whose principal alone may write it (brain.contracts.site_topics):
        # the payload must agree. A shared topic names no site ("") and is not checked.
        # The regex only on rows of a site topic (a prefix test first): most rows come on shared topics.
        from brain.contracts.site_topics import site_family_regex

        family = f"{x.limits.topic_prefix}{x.spec.industry}.site."
        site = F.regexp_extract(F.col("topic"), site_family_regex(x.limits.topic_prefix, x.spec.industry), 1)
        return F.col("topic").startswith(family) & (site != "") & (F.col("site") != site)

    def not_registered(x: _Judged, f: Field) -> "Column | None":
        # The location up to this level (ids are in SAFE_ID_RE by now, so "/" cannot occur in one and
        # the joined path is unambiguous) must be a registered one; the first level that is not names
        # the reason.
        places = x.limits.registered(x.spec.industry)
        if places is None:
            return None
        depth = LOCATION.index(f.name) + 1
        known = sorted({"/".join(p[:depth]) for p in places})
        path = F.concat_ws("/", *[F.col(n) for n in LOCATION[:depth]])
        return ~path.isin(*known) if known else F.lit(True)

    def value_out_of_key_range(x: _Judged) -> "Column | None":
        if not x.spec.range_by:
            return None
        key, ranges = x.spec.range_by
        lo = _lookup({k: float(rng[0]) for k, rng in ranges.items()})[F.col(key)]
        hi = _lookup({k: float(rng[1]) for k, rng in ranges.items()})[F.col(key)]
        v = F.col("_std_value")
        return v.isNotNull() & (F.isnan(v) | (v < lo) | (v > hi))

    return (
        Check(10, OVERSIZED, lambda x: F.col("_size") > x.limits.max_payload_bytes),
        Check(20, NON_UTF8, lambda x: ~F.col("_utf8_ok")),
        Check(30, MALFORMED, lambda x: x.view.unreadable()),
        Check(40, f"{MISSING}:schema_version", lambda x: _is_blank(x.r("schema_version"))),
        Check(50, SCHEMA_MISMATCH,
              lambda x: F.split(x.r("schema_version"), r"\.").getItem(0) != x.spec.contract_major),
        Check(60, _with_field(MISSING), missing, every),
        Check(70, WRONG_TOPIC, lambda x: x.r("record_type") != x.spec.record_type),
        Check(80, WRONG_TOPIC, lambda x: x.r("industry") != x.spec.industry),
        Check(90, _with_field(WRONG_TYPE), wrong_json_type, every),
        Check(100, _with_field(WRONG_TYPE),  # valid JSON of the right kind that still does not cast
              lambda x, f: x.r(f.name).isNotNull() & F.col(f.name).isNull()
              if f.type not in ("string", "timestamp") else None, every),
        # The record's own fields only: event_ts has its own, unsuffixed reason (priority 190).
        Check(110, _with_field(BAD_TS), lambda x, f: x.r(f.name).isNotNull() & F.col(f"{f.name}_utc").isNull()
              if f.type == "timestamp" else None, lambda spec: spec.fields),
        Check(120, _with_field(INVALID_ID), lambda x, f: ~F.col(f.name).rlike(UUID_RE), named("event_id")),
        Check(130, _with_field(INVALID_ID), lambda x, f: ~F.col(f.name).rlike(SAFE_ID_RE), named(*LOCATION)),
        # Where the record comes from, before anything it says about its values is judged.
        Check(132, SITE_MISMATCH, claims_another_site),
        Check(135, _with_field(UNKNOWN_ASSET), not_registered, named(*LOCATION)),
        # A unit outside its field's allowed set is an unknown unit, like one missing from the conversions.
        Check(140, lambda spec, f: UNKNOWN_UNIT if f.name == spec.unit_field else f"{INVALID_VALUE}:{f.name}",
              not_allowed, every),
        Check(150, UNKNOWN_UNIT, lambda x: ~F.col(x.spec.unit_field).isin(*CONVERSIONS) if x.spec.unit_field
              else None),
        Check(160, UNKNOWN_UNIT, unit_not_for_key),
        Check(170, lambda spec, f: f"{INVALID_VALUE}:{spec.range_by[0]}", range_key_unknown),
        Check(180, UNKNOWN_UNIT, unit_of_wrong_quantity),
        Check(190, BAD_TS, lambda x: F.col("event_ts_utc").isNull()),
        Check(200, FUTURE_TS,
              lambda x: F.col("event_ts_utc") > x.now + F.make_interval(secs=F.lit(x.limits.future_tolerance_s))),
        Check(210, TOO_LATE,
              lambda x: F.col("event_ts_utc") < x.now - F.make_interval(days=F.lit(x.limits.late_horizon_days))),
        Check(220, _with_field(OUT_OF_RANGE), numeric_out_of_range, every),
        Check(230, lambda spec, f: f"{OUT_OF_RANGE}:{spec.value_field}", value_out_of_key_range),
    )


def _reasons(judged: _Judged) -> list[tuple["Column", "Column"]]:
    """(condition, reason) in priority order: the check table applied to one spec, as its view reads it."""
    from pyspark.sql import functions as F

    spec = judged.spec
    out: list[tuple[Column, Column]] = []
    for check in sorted(check_table(), key=lambda c: c.priority):
        for f in (check.fields(spec) if check.fields else [None]):
            cond = check.test(judged) if f is None else check.test(judged, f)
            if cond is not None:
                why = check.reason(spec, f) if callable(check.reason) else check.reason
                out.append((cond, F.lit(why)))
    return out


def _first_failing(judged: _Judged) -> "Column":
    from pyspark.sql import functions as F

    return F.coalesce(*[F.when(cond, why) for cond, why in _reasons(judged)])


def _out_of_range(col: "Column", f: Field) -> "Column":
    from pyspark.sql import functions as F

    bad = F.isnan(col) | (col == float("inf")) | (col == float("-inf")) if f.type == "double" else F.lit(False)
    if f.min is not None:
        bad = bad | (col < f.min)
    if f.max is not None:
        bad = bad | (col > f.max)
    return col.isNotNull() & bad


def classify(parsed: "DataFrame", spec: RecordSpec, limits: Limits, now: "Column | None" = None) -> "DataFrame":
    """Adds ``reason``: null for a valid record, else the first failing check.

    ``_fast``: the check table, read through the quick view, finds nothing. The
    other rows get the full view's parses (``_r``, ``_v``, ``_jt_<name>``; null
    on fast rows) and their typed columns again from them, and the reason is
    the first check failing there, as every row's was before the quick view.
    """
    from pyspark.sql import functions as F

    # Judge future/late against when the record reached the lake, not the
    # wall clock: a replayed batch must be classified exactly as the first time.
    steps = (_built("classify", spec, limits, lambda: _classify_steps(spec, limits, F.col("ingest_ts")))
             if now is None else _classify_steps(spec, limits, now))
    df = parsed
    for step in steps:
        df = df.withColumns(step)
    # The quick parse is not read after this; the batch is materialised next (silver.judge), lighter without it.
    return df.drop("_p", *[c(f.name) for f in all_fields(spec) for c in (_qt, _qr)])


def _classify_steps(spec: RecordSpec, limits: Limits, now: "Column") -> list[dict[str, "Column"]]:
    from pyspark.sql import functions as F

    fast = F.col("_fast")
    return ([{"_fast": _first_failing(_Judged(spec, limits, now, _Quick(spec))).isNull()}]
            + _full_parse_steps(spec, only=~fast)
            + _typed_steps(spec, _Full(), keep=fast)
            + [{"reason": F.when(~fast, _first_failing(_Judged(spec, limits, now, _Full())))}])


def _full_parse_steps(spec: RecordSpec, only: "Column | None" = None) -> list[dict[str, "Column"]]:
    """The full view's parses, of the rows where ``only`` holds (every row without it)."""
    from pyspark.sql import functions as F

    def where(c: "Column") -> "Column":
        return c if only is None else F.when(only, c)

    opts = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": "_corrupt"}
    return [{"_r": where(F.from_json(F.col("_text"), raw_schema(spec), opts)),
             # Strict JSON (no NaN, no repeated key) and each field's JSON type,
             # which the all-strings parse above cannot see ("12" vs 12).
             "_v": where(F.try_parse_json(F.col("_text")))},
            # Computed once per field: the checks read a field's JSON type up to four times, and
            # Spark does not share one expression between the branches of a CASE.
            {_jt(f.name): F.schema_of_variant(F.try_variant_get(F.col("_v"), f"$.{f.name}", "variant"))
             for f in all_fields(spec)}]


def diagnose(decoded: "DataFrame", spec: RecordSpec, limits: Limits, now: "Column | None" = None) -> "DataFrame":
    """The detailed diagnosis alone, on every row: ``parse`` + ``classify`` without the quick view
    (how every record was judged before it). For comparing the two (the parse-once test, bench.parse_spike)."""
    from pyspark.sql import functions as F

    def steps(at: "Column") -> list[dict[str, "Column"]]:
        return (_full_parse_steps(spec) + _typed_steps(spec, _Full())
                + [{"reason": _first_failing(_Judged(spec, limits, at, _Full()))}])

    df = decoded
    for step in (_built("diagnose", spec, limits, lambda: steps(F.col("ingest_ts"))) if now is None else steps(now)):
        df = df.withColumns(step)
    return df


def normalise_units(valid: "DataFrame", spec: RecordSpec) -> "DataFrame":
    """Converts ``value_field`` to its standard unit; keeps the sent unit as ``source_unit``."""
    from pyspark.sql import functions as F

    if not spec.unit_field or not spec.value_field:
        return valid
    return valid.withColumns({"source_unit": F.col(spec.unit_field), spec.value_field: F.col("_std_value"),
                              spec.unit_field: F.col("_std_unit")})


LINEAGE = ("_topic", "_partition", "_offset", "_kafka_ts", "_ingest_ts")


def silver_columns(spec: RecordSpec) -> list[str]:
    names = [f"{f.name}_utc" if f.type == "timestamp" else f.name for f in all_fields(spec)]
    extra = ["source_unit"] if spec.unit_field and spec.value_field else []
    return names + ["event_date"] + extra + list(LINEAGE)


def undeclared_fields(spec: RecordSpec) -> "Column":
    """The record's top-level keys its spec does not declare (null when it is not a JSON object), in a
    batch ``classify`` judged (it reads ``_fast``).

    Silver has a column per declared field only, so these are not in it; the
    record itself is valid (the newest contract of its major judges it) and
    its raw bytes stay in bronze. Counted, so a producer ahead of its
    contract shows in the clean report instead of vanishing.
    """
    from pyspark.sql import functions as F

    declared = F.array(*[F.lit(f.name) for f in all_fields(spec)])
    # The keys parse already listed, for every row (a row carrying one never passes the quick view,
    # so the variant parse below exists for it too, and is the answer where the list could not be made).
    variant_keys = F.map_keys(F.try_variant_get(F.col("_v"), "$", "map<string,variant>"))
    found = F.coalesce(F.array_except(F.col("_keys"), declared), F.array_except(variant_keys, declared))
    # A row the quick view passed has only declared keys (_declared_once): no per-row set to build.
    return F.when(F.col("_fast"), F.array().cast("array<string>")).otherwise(found)


def fate_columns(spec: RecordSpec) -> list[str]:
    """The columns of a classified batch that ``to_silver`` and ``to_quarantine`` read (besides
    ``reason``): what a batch needs to keep once it is judged. The decoded text, the key list and the
    diagnosis's per-field JSON types are not among them, and materialising them would copy every
    payload a second time."""
    typed = [c for c in silver_columns(spec) if c not in LINEAGE and c != "source_unit"]
    units = ["_std_value", "_std_unit"] if spec.unit_field and spec.value_field else []
    return typed + units + ["reason", "_r", "payload", "key", "topic", "partition", "offset", "kafka_ts", "ingest_ts"]


def to_silver(classified: "DataFrame", spec: RecordSpec) -> "DataFrame":
    """Valid rows, typed and normalised, with Kafka lineage."""
    from pyspark.sql import functions as F

    valid = classified.where(F.col("reason").isNull())
    valid = normalise_units(valid, spec)
    valid = valid.withColumns({"_topic": F.col("topic"), "_partition": F.col("partition"), "_offset": F.col("offset"),
                               "_kafka_ts": F.col("kafka_ts"), "_ingest_ts": F.col("ingest_ts")})
    return valid.select(*silver_columns(spec))


QUARANTINE_COLUMNS = ("industry", "record_type", "reason", "event_id", "payload", "topic", "partition",
                      "offset", "kafka_ts", "key", "quarantined_at")


def to_quarantine(classified: "DataFrame", spec: RecordSpec) -> "DataFrame":
    """Invalid rows with their reason, raw payload and Kafka coordinates."""
    from pyspark.sql import functions as F

    bad = classified.where(F.col("reason").isNotNull())
    return bad.select(
        F.lit(spec.industry).alias("industry"), F.lit(spec.record_type).alias("record_type"),
        "reason", F.col("_r.event_id").alias("event_id"), "payload", "topic", "partition", "offset",
        "kafka_ts", "key", F.current_timestamp().alias("quarantined_at"))
