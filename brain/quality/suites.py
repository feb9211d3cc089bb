"""Expectation suites: reviewable JSON files ``expectations/<layer>.<table>.json``.

A file is a GX 1.x ExpectationSuite as JSON (``name``, ``expectations`` with
``type`` / ``kwargs`` / ``meta``). Each expectation may carry ``meta.policy``;
see brain.quality.policy for how the effective policy is chosen. Parsing is
strict: a typo in a suite must fail the load, not silently drop a check (GX's
own ExpectationSuite constructor only logs and skips invalid expectations).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brain.config import Config
from brain.lake.tables import split_name
from brain.quality.policy import POLICIES, QUARANTINE, expectation_name, resolve_policy
from brain.quality.rowlevel import unsupported_reason

DEFAULT_SUITES_DIR = "expectations"


class SuiteError(ValueError):
    """A suite file is missing, unreadable, or holds an invalid expectation."""


@dataclass(frozen=True)
class Rule:
    """One expectation with the facts the pipeline needs besides GX."""

    name: str          # "<type>:<column>", unique in the suite; the quarantine reason
    type: str
    kwargs: Mapping[str, Any]
    meta: Mapping[str, Any]
    policy: str

    @property
    def column(self) -> str | None:
        return self.kwargs.get("column")


@dataclass(frozen=True)
class Suite:
    name: str
    source: str                # file it came from (for error messages)
    rules: tuple[Rule, ...]
    raw: Mapping[str, Any]     # the JSON, as GX will read it

    def rule(self, name: str) -> Rule:
        for r in self.rules:
            if r.name == name:
                return r
        raise KeyError(name)

    def by_policy(self, policy: str) -> list[Rule]:
        return [r for r in self.rules if r.policy == policy]


def suites_dir(cfg: Config) -> Path:
    p = Path(str(cfg.get("quality.suites_dir", DEFAULT_SUITES_DIR))).expanduser()
    return p if p.is_absolute() else cfg.root / p


def suite_path(cfg: Config, table_name: str) -> Path:
    split_name(table_name)  # raises UnknownTable for a malformed name
    return suites_dir(cfg) / f"{table_name}.json"


def load_suite(cfg: Config, table_name: str) -> Suite:
    path = suite_path(cfg, table_name)
    if not path.is_file():
        raise SuiteError(f"no expectation suite for {table_name}: {path} not found")
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise SuiteError(f"{path} is not valid JSON: {exc}") from exc
    return parse_suite(raw, source=str(path), overrides=cfg.get("quality.policies", {}) or {},
                       default_policy=cfg.get("quality.default_policy", "warn"), expected_name=table_name)


def parse_suite(raw: Any, source: str = "<suite>", overrides: Mapping[str, Any] | None = None,
                default_policy: str = "warn", expected_name: str | None = None) -> Suite:
    """Check a suite's JSON and resolve every expectation's policy. Pure (no Spark)."""
    if not isinstance(raw, dict):
        raise SuiteError(f"{source}: a suite must be a JSON object")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise SuiteError(f"{source}: 'name' must be a non-empty string")
    if expected_name is not None and name != expected_name:
        raise SuiteError(f"{source}: suite name {name!r} must equal the table name {expected_name!r}")
    exps = raw.get("expectations")
    if not isinstance(exps, list) or not exps:
        raise SuiteError(f"{source}: 'expectations' must be a non-empty list")
    if default_policy not in POLICIES:
        raise SuiteError(f"config quality.default_policy = {default_policy!r} must be one of {', '.join(POLICIES)}")
    rules: list[Rule] = []
    for i, exp in enumerate(exps):
        rules.append(_parse_rule(exp, i, name, source, overrides or {}, default_policy))
    seen: dict[str, int] = {}
    for i, r in enumerate(rules):
        if r.name in seen:
            raise SuiteError(f"{source}: expectations #{seen[r.name]} and #{i} are both named {r.name!r}; "
                             f"give one a distinct meta.name")
        seen[r.name] = i
    unknown = set((overrides or {}).get(name) or {}) - set(seen)
    if unknown:
        raise SuiteError(f"config quality.policies.{name} names no expectation of {source}: {sorted(unknown)}")
    _check_with_gx(raw, source)
    return Suite(name=name, source=source, rules=tuple(rules), raw=raw)


def _parse_rule(exp: Any, i: int, suite: str, source: str, overrides: Mapping[str, Any],
                default_policy: str) -> Rule:
    where = f"{source}: expectation #{i}"
    if not isinstance(exp, dict) or not isinstance(exp.get("type"), str):
        raise SuiteError(f"{where} must be an object with a string 'type'")
    kwargs = exp.get("kwargs") or {}
    meta = exp.get("meta") or {}
    if not isinstance(kwargs, dict) or not isinstance(meta, dict):
        raise SuiteError(f"{where}: 'kwargs' and 'meta' must be objects")
    name = expectation_name(exp["type"], kwargs, meta)
    try:
        policy = resolve_policy(suite, name, meta.get("policy"), overrides, default_policy, where=source)
    except ValueError as exc:
        raise SuiteError(str(exc)) from exc
    if policy == QUARANTINE:
        why = unsupported_reason(exp["type"], kwargs)
        if why:
            raise SuiteError(f"{where} ({name}) cannot use policy quarantine: {why}")
    return Rule(name=name, type=exp["type"], kwargs=kwargs, meta=meta, policy=policy)


def _check_with_gx(raw: Mapping[str, Any], source: str) -> None:
    """Build every expectation with GX so a bad type or kwarg fails here, loudly."""
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    for i, exp in enumerate(raw["expectations"]):
        try:
            ExpectationConfiguration(type=exp["type"], kwargs=exp.get("kwargs") or {},
                                     meta=exp.get("meta")).to_domain_obj()
        except Exception as exc:  # GX raises several unrelated types (pydantic, InvalidExpectation...)
            raise SuiteError(f"{source}: expectation #{i} ({exp['type']}) is invalid for GX: {exc}") from exc
