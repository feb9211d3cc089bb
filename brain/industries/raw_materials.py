"""Raw materials: steel, cement and chemicals (furnaces, kilns, reactors, safety gas)."""

from __future__ import annotations

from brain.industries import common

INDUSTRY = "raw_materials"

RECORD_SPECS = {
    "telemetry": common.telemetry(INDUSTRY),
    "machine_state": common.machine_state(INDUSTRY),
    "production": common.production(INDUSTRY),
    "quality_inspection": common.quality_inspection(INDUSTRY),
}

GOLD = common.gold_tables(INDUSTRY)
