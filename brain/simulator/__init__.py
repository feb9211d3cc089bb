"""The factory simulator: realistic, reproducible records (and bad records) for every industry.

    from brain.simulator import run_simulation, produce_file
    summary = run_simulation(cfg, industry="all", records=20000, seed=7)          # into Kafka
    summary = run_simulation(cfg, records=20000, seed=7, out="/tmp/sim")           # JSON Lines
    summary = run_simulation(cfg, records=5000, seed=1, bad_ratio=0.05)           # with bad data
    summary.topics, summary.kinds   # exact counts per topic and per kind

Same seed and options (including --start) -> byte-identical records.
"""

from brain.simulator.inject import (
           DETECTABLE,
           INVALID,
           KINDS,
           VALID,
           BadRatioError,
           parse_ratios,
)
from brain.simulator.produce import ProduceError, produce_file
from brain.simulator.run import OptionsError, SimOptions, run_simulation
from brain.simulator.summary import Summary

__all__ = ["DETECTABLE", "INVALID", "KINDS", "VALID", "BadRatioError", "OptionsError", "ProduceError",
           "SimOptions", "Summary", "parse_ratios", "produce_file", "run_simulation"]
