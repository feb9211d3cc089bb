"""KPI formulas, each defined once and evaluated on numbers (``formulas``) and Spark columns (``columns``)."""
