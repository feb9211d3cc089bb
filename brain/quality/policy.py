"""What happens when an expectation fails: warn, quarantine or fail.

A policy is resolved per expectation, most specific first:
1. config ``quality.policies.<suite>.<expectation name>`` (an operator tunes a
   deployment without editing the reviewed suite),
2. the suite's ``meta.policy`` on the expectation,
3. config ``quality.default_policy``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

WARN = "warn"              # record the result and continue
QUARANTINE = "quarantine"  # failing rows leave the batch for the quarantine table
FAIL = "fail"              # the quality gate fails the task; publishing is blocked
POLICIES = (WARN, QUARANTINE, FAIL)
DEFAULT_POLICY = WARN


class PolicyError(ValueError):
    """A policy value is not one of warn, quarantine, fail."""


def expectation_name(exp_type: str, kwargs: Mapping[str, Any], meta: Mapping[str, Any] | None = None) -> str:
    """``<type>:<column>`` (the quarantine reason and the results key), or ``meta.name`` if given.

    Column-pair and multi-column expectations join their columns with commas;
    table-level ones are just the type.
    """
    if meta and meta.get("name"):
        return str(meta["name"])
    if "column" in kwargs:
        return f"{exp_type}:{kwargs['column']}"
    if "column_A" in kwargs and "column_B" in kwargs:
        return f"{exp_type}:{kwargs['column_A']},{kwargs['column_B']}"
    if "column_list" in kwargs:
        return f"{exp_type}:{','.join(str(c) for c in kwargs['column_list'])}"
    return exp_type


def check_policy(value: Any, where: str) -> str:
    if value not in POLICIES:
        raise PolicyError(f"policy {value!r} in {where} must be one of {', '.join(POLICIES)}")
    return value


def resolve_policy(suite_name: str, name: str, meta_policy: Any, overrides: Mapping[str, Any] | None,
                   default: str = DEFAULT_POLICY, where: str = "suite") -> str:
    """The effective policy of one expectation (see module docstring for the order)."""
    per_suite = (overrides or {}).get(suite_name) or {}
    if name in per_suite:
        return check_policy(per_suite[name], f"config quality.policies.{suite_name}[{name!r}]")
    if meta_policy is not None:
        return check_policy(meta_policy, f"{where}, expectation {name!r} meta.policy")
    return check_policy(default, "config quality.default_policy")
