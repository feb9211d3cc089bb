"""Benchmarks against baselines, every figure measured side by side in one run.

    python -m bench --mode quick        # a few minutes (make bench-quick)
    python -m bench --mode full         # the issue's full sizes (make bench)
    python -m bench --render-docs       # docs/benchmarks.md from bench/results/latest.json

The run uses its own broker (port 29092, state .state/bench) and a throw-away
lake, so it never touches a developer's data or the test broker. Results go
to bench/results/latest.json plus a timestamped copy; see docs/benchmarks.md.
"""
