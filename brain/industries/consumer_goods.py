"""Consumer goods: filling and packaging lines (PackML counters, fill weight) and material genealogy."""

from __future__ import annotations

from brain.contracts.specs import record_specs
from brain.industries import common

INDUSTRY = "consumer_goods"

RECORD_SPECS = record_specs(INDUSTRY)
MATERIAL_GENEALOGY = RECORD_SPECS["material_genealogy"]

GOLD = common.gold_tables(INDUSTRY)
