"""Raw materials: steel, cement and chemicals (furnaces, kilns, reactors, safety gas)."""

from __future__ import annotations

from brain.industries import common

INDUSTRY = "raw_materials"

RECORD_SPECS = common.record_specs(INDUSTRY)

GOLD = common.gold_tables(INDUSTRY)
