"""One module per industry: its record specs and its gold tables.

Adding an industry = an entry under ``industries:`` in conf/defaults.yaml
(naming its module) plus that module, which defines ``RECORD_SPECS`` (record
type -> brain.contracts.specs.RecordSpec, taken from
``brain.contracts.specs.record_specs(industry)``) and ``GOLD`` (gold table name
-> (source record type or a tuple of them, function taking one silver
DataFrame per source and returning the gold rows, keyed by ``event_date``)).
The specs are built from the JSON Schemas in conf/contracts, so the contracts'
``industry`` enums must name a new industry too: until they do, its records
fail the contract.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from brain.config import Config, ConfigError


def load(cfg: Config, industry: str) -> ModuleType:
    spec = cfg.get(f"industries.{industry}", type_=dict)
    name = spec.get("module") or f"brain.industries.{industry}"
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        raise ConfigError(f"industries.{industry}.module = {name!r} cannot be imported "
                          f"(set in {cfg.source_of(f'industries.{industry}')}): {exc}") from exc
    missing = [r for r in spec.get("record_types", []) if r not in getattr(module, "RECORD_SPECS", {})]
    if missing:
        raise ConfigError(f"industries.{industry}.record_types lists {missing} but {name} defines no "
                          f"RECORD_SPECS for them")
    return module


def record_specs(cfg: Config, industry: str) -> dict:
    """The industry's record specs (record type -> RecordSpec) from the contract files the
    environment names now (``BRAIN_CONF_DIR``): a module's ``RECORD_SPECS`` were built from the
    folder of the moment it was imported, and the stages must follow the contract in force."""
    from brain.contracts.specs import record_specs as from_contracts

    module = load(cfg, industry)  # fails early, naming the config key, if the module is wrong
    current = from_contracts(industry)
    return {rt: current.get(rt, spec) for rt, spec in module.RECORD_SPECS.items()}
