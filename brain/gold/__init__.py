"""Gold: silver -> KPI tables, recomputed per touched ``event_date``.

``kpi/`` holds each formula once (``formulas``: numbers; ``columns``: the same
formula as Spark columns), ``rollup`` and ``enterprise`` climb the ISA-95
hierarchy, ``metrics/`` the KPI families (PdM, defects and first pass yield,
gas safety, energy intensity, process capability), ``intervals`` puts records
stamped at the end of an interval in the day and hour it covers, ``publish``
writes the tables. Transforms are pure DataFrame -> DataFrame; only
``publish`` and ``enterprise`` touch the lake.
"""
