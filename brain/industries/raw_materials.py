"""Raw materials: steel, cement and chemicals (furnaces, kilns, reactors, safety gas)."""

from __future__ import annotations

from brain.contracts.specs import record_specs
from brain.gold.metrics import gas_safety, process_capability
from brain.industries import common

INDUSTRY = "raw_materials"

RECORD_SPECS = record_specs(INDUSTRY)

GOLD = {
    **common.gold_tables(INDUSTRY),
    f"gold.{INDUSTRY}_process_capability_daily": (("telemetry", "machine_state"), process_capability.gold_capability),
    f"gold.{INDUSTRY}_safety_exceedances_daily": ("telemetry", gas_safety.gold_exceedances),
}
