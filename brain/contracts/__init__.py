"""Record contracts: JSON Schemas, units, the asset registry, and checks.

    from brain import contracts
    contracts.validate(record_or_raw_bytes)  # -> list of error strings, [] when valid
    contracts.record_types(cfg, "consumer_goods")
    contracts.load_registry().sensor("furnace_temp").instrument
    contracts.load_units().convert(212, "degF", "degC")
"""

from __future__ import annotations

from brain.config import Config
from brain.contracts.assets import (
    HOST_INDUSTRIES,
    Device,
    DeviceClass,
    Line,
    Meter,
    Registry,
    RegistryError,
    SensorSpec,
    Site,
    load_registry,
)
from brain.contracts.checks import event_ts_ms, in_future, out_of_range
from brain.contracts.schemas import (
    CURRENT_VERSION,
    ENVELOPE_FIELDS,
    INDUSTRIES,
    MAX_RECORD_BYTES,
    RECORD_TYPES,
    Contract,
    contract,
    contracts,
    is_valid,
    parse,
    schema,
    validate,
)
from brain.contracts.units import UnitTable, UnknownUnit, load_units

__all__ = [
    "CURRENT_VERSION", "ENVELOPE_FIELDS", "HOST_INDUSTRIES", "INDUSTRIES", "MAX_RECORD_BYTES",
    "RECORD_TYPES", "Contract", "Device", "DeviceClass", "Line", "Meter", "Registry", "RegistryError",
    "SensorSpec", "Site", "UnitTable", "UnknownUnit", "contract", "contracts", "event_ts_ms",
    "in_future", "is_valid", "load_registry", "load_units", "out_of_range", "parse", "record_types",
    "schema", "topics", "validate",
]


def record_types(cfg: Config, industry: str) -> list[str]:
    """Record types an industry publishes (conf/defaults.yaml ``industries.<name>.record_types``)."""
    return list(cfg.get(f"industries.{industry}.record_types", type_=list))


def topics(cfg: Config, industries: list[str] | None = None) -> list[tuple[str, str, str]]:
    """(topic, industry, record_type) for the chosen industries (all by default)."""
    from brain.contracts.topic_names import topic_for

    names = industries or cfg.industry_names()
    return [(topic_for(cfg, ind, rt), ind, rt) for ind in names for rt in record_types(cfg, ind)]
