"""Equipment manufacturing: machining and assembly (spindles, presses, tool wear)."""

from __future__ import annotations

from brain.industries import common

INDUSTRY = "equipment_manufacturing"

RECORD_SPECS = {
    "telemetry": common.telemetry(INDUSTRY),
    "machine_state": common.machine_state(INDUSTRY),
    "production": common.production(INDUSTRY),
    "quality_inspection": common.quality_inspection(INDUSTRY),
}

GOLD = common.gold_tables(INDUSTRY)
