"""Equipment manufacturing: machining and assembly (spindles, presses, tool wear)."""

from __future__ import annotations

from brain.contracts.specs import record_specs
from brain.industries import common

INDUSTRY = "equipment_manufacturing"

RECORD_SPECS = record_specs(INDUSTRY)

GOLD = common.gold_tables(INDUSTRY)
