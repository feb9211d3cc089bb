"""Generate a silver table's expectation suite from its contract and the asset registry.

``generate_suite(cfg, industry, record_type)`` derives a GX 1.x suite (the
JSON ``expectations/silver.<table>.json`` holds) from the record spec
(``brain.contracts.specs.record_spec``, built from the JSON Schema) and ``conf/assets.yaml``:

| check | policy | why that policy |
|---|---|---|
| ``event_id`` not null | fail | every merge is keyed on it |
| ``event_id`` unique | warn | silver de-duplicates; a repeat means that logic broke |
| ``site``, ``device``, ``event_ts_utc`` not null | quarantine | unattributable rows |
| allowed sets (quality flags, states, units, carriers, link types...) | quarantine | mirror the contract |
| telemetry ``sensor`` in the industry's sensors (from the registry) | warn | contracts accept any registry sensor |
| telemetry value within a sensor's *normal* band (``row_condition``) | warn | idle equipment leaves it |
| newest ``event_ts_utc`` within ``quality.freshness_h`` of now | warn | a stalled gateway, not bad rows |
| mean of one key signal within bounds from the registry | warn | a unit or scaling error moves the mean |

Every ``quarantine`` check restates a rule silver's classification already
enforces (brain.clean.fate), so a record the contract accepts is never moved by
a generated suite; they guard against a regression there. Range checks that
depend on the sensor use GX ``row_condition`` and are therefore ``warn``: a
row-level quarantine cannot use a row condition (brain.quality.rowlevel).

The normal band is checked for the industry's key sensor only (its first
``process`` sensor), or for every sensor with config
``quality.generate.normal_ranges: all`` (cost: see NORMAL_RANGE_MODES).

A suite file with ``meta.hand_tuned: true`` is owned by people: ``brain
quality suites --write`` never overwrites it and ``--check`` skips it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from brain.config import Config
from brain.contracts import specs as contract_specs
from brain.contracts.specs import QUALITY_FLAGS, RecordSpec
from brain.contracts.units import CONVERSIONS
from brain.lake.tables import silver_table
from brain.quality.policy import FAIL, QUARANTINE, WARN
from brain.quality.suites import suite_path

GENERATOR = "brain.quality.generate"
HAND_TUNED = "hand_tuned"
DEFAULT_FRESHNESS_H = 36       # newest event of a batch older than this: a feed has stalled
DISTRIBUTION_SLACK = 2.0       # mean bounds on counts: this many times the nameplate rate
# Per-sensor normal-band checks (config quality.generate.normal_ranges): each sensor's check is
# its own GX domain (row_condition), i.e. one more Spark aggregation per sensor plus a sampling
# re-run whenever it fails. Measured on 2 cores, 4,000 raw_materials telemetry rows: 13-47 s per
# batch with all 15 sensors against ~2 s with the key sensor only (~1.5 s with none). So "key".
NORMAL_RANGE_MODES = ("key", "all", "none")


def configured_tables(cfg: Config) -> list[tuple[str, str, str]]:
    """(industry, record_type, silver table) for every configured industry and record type."""
    return [(ind, rt, silver_table(ind, rt)) for ind in cfg.industry_names()
            for rt in cfg.get(f"industries.{ind}.record_types")]


def record_spec(cfg: Config, industry: str, record_type: str) -> RecordSpec:
    """The spec silver enforces, from brain.contracts: brain.industries imports gold, a stage above."""
    return contract_specs.record_spec(industry, record_type)


def generate_suite(cfg: Config, industry: str, record_type: str, registry: Any = None) -> dict:
    """The generated suite of ``silver.<industry>_<record_type>`` as a JSON-ready dict (pure: no Spark)."""
    from brain.contracts import load_registry

    spec = record_spec(cfg, industry, record_type)
    reg = registry or load_registry()
    name = silver_table(industry, record_type)
    exps: list[dict] = []
    add = exps.append

    add(_exp("expect_column_values_to_not_be_null", {"column": "event_id"}, FAIL,
             "every downstream merge is keyed on event_id"))
    add(_exp("expect_column_values_to_be_unique", {"column": "event_id"}, WARN,
             "silver de-duplicates before validation; a duplicate here means that logic broke"))
    for col in ("site", "device"):
        add(_exp("expect_column_values_to_not_be_null", {"column": col}, QUARANTINE,
                 f"a record without a {col} cannot be attributed"))
    add(_exp("expect_column_values_to_not_be_null", {"column": "event_ts_utc"}, QUARANTINE,
             "a record without event time cannot be placed in a day"))
    add(_exp("expect_column_values_to_be_in_set", {"column": "quality", "value_set": list(QUALITY_FLAGS)},
             QUARANTINE, "OPC UA style quality flag (contract)"))
    for f in spec.fields:
        if f.allowed and f.name != spec.unit_field:
            add(_exp("expect_column_values_to_be_in_set", {"column": f.name, "value_set": list(f.allowed)},
                     QUARANTINE, f"allowed values of {f.name} (contract {spec.contract_version})"))
    units = standard_units(spec, reg)
    if units:
        add(_exp("expect_column_values_to_be_in_set", {"column": spec.unit_field, "value_set": units},
                 QUARANTINE, "values are normalised to their standard unit before silver"))
    if spec.range_by and spec.range_by[0] == "sensor":
        exps += _telemetry(cfg, industry, reg)
    add(_freshness(cfg))
    mean = _distribution(industry, record_type, reg)
    if mean:
        add(mean)
    return {
        "name": name,
        "meta": {
            "generated_by": GENERATOR,
            HAND_TUNED: False,
            "description": (f"New rows of {name}, validated per batch. Generated from contract "
                            f"{industry}.{record_type} {spec.contract_version} and conf/assets.yaml by "
                            f"`brain quality suites --write`; set meta.hand_tuned to true to edit by hand."),
        },
        "expectations": exps,
    }


def _exp(type_: str, kwargs: dict, policy: str, why: str, name: str | None = None) -> dict:
    meta: dict[str, Any] = {"policy": policy, "why": why}
    if name:
        meta["name"] = name
    return {"type": type_, "kwargs": kwargs, "meta": meta}


def _sensor_is(sensor: str) -> dict:
    """A GX 1.x row_condition (Condition object as JSON): ``sensor == <sensor>``."""
    return {"type": "comparison", "column": {"name": "sensor"}, "operator": "==", "parameter": sensor}


def standard_units(spec: RecordSpec, registry: Any) -> list[str]:
    """Units a silver row can carry after normalisation (sorted), or [] if the record has none."""
    if not spec.unit_field:
        return []
    if spec.range_by:  # telemetry: the sensor's registry unit (silver checks sensor and unit agree)
        return sorted({s.unit for s in registry.sensors.values()})
    if spec.units_by:
        accepted = {u for us in spec.units_by[1].values() for u in us}
    else:
        accepted = {u for f in spec.fields if f.name == spec.unit_field for u in (f.allowed or ())}
    if not accepted:
        return []
    return sorted({CONVERSIONS[u].standard if spec.value_field else u for u in accepted if u in CONVERSIONS})


def industry_sensors(registry: Any, industry: str) -> list[str]:
    """Sensors carried by the industry's device classes, in registry order."""
    classes = {d.device_class for site in registry.sites(industry) for line in site.lines for d in line.devices}
    used = {s for c in classes for s in registry.classes[c].sensors}
    return [s for s in registry.sensors if s in used]


def _telemetry(cfg: Config, industry: str, registry: Any) -> list[dict]:
    sensors = industry_sensors(registry, industry)
    out = [_exp("expect_column_values_to_be_in_set", {"column": "sensor", "value_set": sensors}, WARN,
                f"sensors of {industry}'s device classes in conf/assets.yaml; another industry's sensor "
                f"points at a misrouted gateway")]
    mode = str(cfg.get("quality.generate.normal_ranges", "key"))
    if mode not in NORMAL_RANGE_MODES:
        raise ValueError(f"config quality.generate.normal_ranges = {mode!r} must be one of "
                         f"{', '.join(NORMAL_RANGE_MODES)}")
    chosen = {"all": sensors, "key": [key_sensor(registry, industry)], "none": []}[mode]
    for s in filter(None, chosen):
        spec = registry.sensors[s]
        if tuple(spec.normal) == tuple(spec.instrument):
            continue  # counters: the normal band is the instrument range, which silver enforces
        out.append(_exp(
            "expect_column_values_to_be_between",
            {"column": "value", "min_value": spec.normal[0], "max_value": spec.normal[1],
             "row_condition": _sensor_is(s)},
            WARN, f"normal operating band of {s} ({spec.unit}); idle or stopped equipment leaves it, "
                  f"so this records excursions and never moves rows", name=f"normal_range:{s}"))
    return out


def _freshness(cfg: Config) -> dict:
    hours = float(cfg.get("quality.freshness_h", DEFAULT_FRESHNESS_H))
    return _exp("expect_column_max_to_be_between",
                {"column": "event_ts_utc", "min_value": {"$PARAMETER": f"now() - timedelta(hours={hours:g})"}},
                WARN, f"the newest event of a batch is at most {hours:g} h old (config quality.freshness_h); "
                      f"older means a stalled gateway or a replay", name="freshness:event_ts_utc")


def key_sensor(registry: Any, industry: str) -> str | None:
    """The telemetry signal whose mean is checked: the industry's first process sensor."""
    for s in industry_sensors(registry, industry):
        if registry.sensors[s].role == "process":
            return s
    return None


def _distribution(industry: str, record_type: str, registry: Any) -> dict | None:
    """A mean check on one key signal, with bounds from the registry; None where none is meaningful."""
    if record_type == "telemetry":
        s = key_sensor(registry, industry)
        if s is None:
            return None
        spec = registry.sensors[s]
        low = spec.idle if spec.idle is not None else spec.instrument[0]
        return _exp("expect_column_mean_to_be_between",
                    {"column": "value", "min_value": min(low, spec.normal[0]), "max_value": spec.normal[1],
                     "row_condition": _sensor_is(s)},
                    WARN, f"the batch mean of {s} lies between its idle value and the top of its normal band "
                          f"(conf/assets.yaml); outside it a unit or scaling error is likely",
                    name=f"mean:{s}")
    if record_type == "production":
        products = _industry_products(registry, industry)
        if not products:
            return None
        interval = float(registry.reporting["production_interval_s"])
        fastest = min(float(p["planned_cycle_time_s"]) for p in products)
        top = math.ceil(interval / fastest * DISTRIBUTION_SLACK)
        return _exp("expect_column_mean_to_be_between", {"column": "produced", "min_value": 0, "max_value": top},
                    WARN, f"units per {interval:g} s report cannot average above {DISTRIBUTION_SLACK:g}x the "
                          f"fastest planned cycle ({fastest:g} s) of the industry's products; more means "
                          f"double-counted or cumulative counters")
    return None


def _industry_products(registry: Any, industry: str) -> list[dict]:
    try:
        names = {line.product for site in registry.sites(industry) for line in site.lines}
    except Exception:  # an industry without sites in the registry (energy)
        return []
    return [registry.products[n] for n in sorted(names)]


# --- files ------------------------------------------------------------------------------------

def render(suite: dict) -> str:
    return json.dumps(suite, indent=2) + "\n"


def is_hand_tuned(raw: Any) -> bool:
    return isinstance(raw, dict) and bool((raw.get("meta") or {}).get(HAND_TUNED))


def suite_status(cfg: Config, table: str, generated: dict) -> tuple[str, Path]:
    """('missing' | 'hand_tuned' | 'same' | 'differs', path) of the committed file against ``generated``."""
    path = suite_path(cfg, table)
    if not path.is_file():
        return "missing", path
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError:
        return "differs", path
    if is_hand_tuned(raw):
        return "hand_tuned", path
    return ("same" if raw == json.loads(render(generated)) else "differs"), path


def write_suite(cfg: Config, table: str, generated: dict) -> tuple[str, Path]:
    """Write ``generated`` unless the file is hand-tuned; returns (status before, path)."""
    status, path = suite_status(cfg, table, generated)
    if status in ("missing", "differs"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(generated))
    return status, path


def check_generated(cfg: Config, registry: Any = None) -> list[str]:
    """Problems with the generated suites themselves (each must parse as the loader would)."""
    from brain.quality.suites import SuiteError, parse_suite

    problems = []
    for ind, rt, table in configured_tables(cfg):
        try:
            parse_suite(generate_suite(cfg, ind, rt, registry), source=f"<generated {table}>", expected_name=table)
        except SuiteError as exc:
            problems.append(str(exc))
    return problems
