"""KPI families beyond OEE and energy: one module each, pure DataFrame -> DataFrame transforms."""
