"""Consumer goods: filling and packaging lines (PackML counters, fill weight) and material genealogy."""

from __future__ import annotations

from brain.contracts.specs import Field, RecordSpec
from brain.gold.metrics import defects
from brain.industries import common

INDUSTRY = "consumer_goods"

MATERIAL_GENEALOGY = RecordSpec(
    industry=INDUSTRY, record_type="material_genealogy", contract_version=common.CONTRACT_VERSION,
    fields=(Field("link_type", "string", allowed=("lot_to_batch", "batch_to_shipment")),
            Field("parent_id", "string"), Field("child_id", "string"),
            Field("quantity", "double", min=1e-9, max=1e12),
            Field("unit", "string", allowed=("kg", "t", "lb", "g", "L", "m3", "pcs")),
            Field("material", "string", required=False)),
    value_field="quantity", unit_field="unit")

RECORD_SPECS = {**common.record_specs(INDUSTRY), "material_genealogy": MATERIAL_GENEALOGY}

GOLD = {**common.gold_tables(INDUSTRY),
        f"gold.{INDUSTRY}_defect_pareto_daily": ("quality_inspection", defects.daily_pareto)}
