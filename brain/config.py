"""The one place configuration is read.

Layers, later wins: ``conf/defaults.yaml`` -> ``conf/env/<BRAIN_ENV>.yaml`` ->
environment variables ``BRAIN__SECTION__KEY=value`` (double underscore between
levels, values parsed as YAML so ``19092`` is an int and ``false`` a bool).

Every value remembers which layer set it, so an error can name the file (or
variable) the operator has to fix.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

ENV_PREFIX = "BRAIN__"
DEFAULT_ENV = "local"

# Keys every deployment must have, with their type. A missing or mistyped one
# fails at load time instead of deep inside a Spark job.
REQUIRED: dict[str, type | tuple[type, ...]] = {
    "project.owner": str,
    "paths.state": str,
    "paths.jars": str,
    "kafka.bootstrap_servers": str,
    "kafka.embedded.managed": bool,
    "kafka.embedded.host": str,
    "kafka.embedded.port": int,
    "kafka.embedded.controller_port": int,
    "kafka.topic_partitions": int,
    "spark.master": str,
    "spark.shuffle_partitions": int,
    "lake.root": str,
    "lake.checkpoints": str,
    "pipeline.trigger": str,
    "industries": dict,
}


class ConfigError(Exception):
    """A configuration key is missing or has the wrong type or value."""


def reject_unknown(given: Iterable[str], known: Iterable[str], where: str, what: str = "key(s)",
                   hint: str = "") -> None:
    """Keys of a config section the code does not read: a typo there would otherwise change nothing,
    silently. Raises ConfigError naming them and the known ones."""
    known = list(known)
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown {what} {', '.join(unknown)} (known: {', '.join(known)}{hint})")


def project_root() -> Path:
    """The folder holding ``conf/``: ``BRAIN_HOME`` or the source checkout."""
    home = os.environ.get("BRAIN_HOME")
    return Path(home).resolve() if home else Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Config:
    data: Mapping[str, Any]
    origin: Mapping[str, str]  # dotted key -> file or env var that set it
    root: Path
    env: str
    layers: tuple[str, ...] = field(default=())

    def get(self, key: str, default: Any = ..., type_: type | tuple[type, ...] | None = None) -> Any:
        node: Any = self.data
        for part in key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                if default is not ...:
                    return default
                raise ConfigError(
                    f"missing config key '{key}' (looked in {', '.join(self.layers)}; "
                    f"set it there or export {env_var(key)})"
                )
            node = node[part]
        if type_ is not None and not _is_type(node, type_):
            raise ConfigError(
                f"config key '{key}' = {node!r} should be {_type_name(type_)} "
                f"(set in {self.source_of(key)})"
            )
        return node

    def path(self, key: str) -> Path:
        """A path-valued key, resolved against the project root."""
        p = Path(str(self.get(key, type_=str))).expanduser()
        return p if p.is_absolute() else (self.root / p)

    def source_of(self, key: str) -> str:
        while key:
            if key in self.origin:
                return self.origin[key]
            key = key.rpartition(".")[0]
        return "unknown"

    def industry_names(self) -> list[str]:
        return list(self.get("industries", type_=dict))

    def select_industries(self, choice: str | None) -> list[str]:
        """``all`` (or nothing) -> every configured industry; a name -> [name]; a typo -> ConfigError."""
        names = self.industry_names()
        if not choice or choice == "all":
            return names
        if choice not in names:
            raise ConfigError(f"unknown industry {choice!r}; configured: {', '.join(names)} "
                              f"(key 'industries' in {self.source_of('industries')})")
        return [choice]


def env_var(key: str) -> str:
    return ENV_PREFIX + key.replace(".", "__").upper()


def _is_type(value: Any, type_: type | tuple[type, ...]) -> bool:
    # bool is a subclass of int; "port: true" must not pass as an int.
    types = type_ if isinstance(type_, tuple) else (type_,)
    if isinstance(value, bool) and bool not in types:
        return False
    return isinstance(value, types)


def _type_name(type_: type | tuple[type, ...]) -> str:
    types = type_ if isinstance(type_, tuple) else (type_,)
    names = {dict: "a mapping", str: "a string", int: "an integer", bool: "true/false",
             float: "a number", list: "a list"}
    return " or ".join(names.get(t, t.__name__) for t in types)


def _read_yaml(path: Path) -> dict:
    try:
        loaded = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path} must hold a mapping at the top level, not {type(loaded).__name__}")
    return loaded


def _merge(base: dict, over: Mapping, origin: dict, source: str, prefix: str = "") -> None:
    for key, value in over.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value, origin, source, dotted + ".")
        else:
            base[key] = value
            origin[dotted] = source
            _mark_children(value, origin, source, dotted)


def _mark_children(value: Any, origin: dict, source: str, dotted: str) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            origin[f"{dotted}.{k}"] = source
            _mark_children(v, origin, source, f"{dotted}.{k}")


def _env_overrides(environ: Mapping[str, str]) -> list[tuple[str, dict]]:
    out = []
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or len(name) == len(ENV_PREFIX):
            continue
        parts = [p.lower() for p in name[len(ENV_PREFIX):].split("__")]
        try:
            value = yaml.safe_load(raw) if raw != "" else ""
        except yaml.YAMLError:
            value = raw
        tree: dict = {}
        node = tree
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
        out.append((name, tree))
    return out


def load(env: str | None = None, root: Path | None = None,
         environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate configuration. Raises ConfigError naming key and file."""
    environ = os.environ if environ is None else environ
    root = root or project_root()
    env = env or environ.get("BRAIN_ENV") or DEFAULT_ENV
    conf_dir = Path(environ.get("BRAIN_CONF_DIR") or root / "conf")

    defaults = conf_dir / "defaults.yaml"
    if not defaults.is_file():
        raise ConfigError(f"{defaults} not found (set BRAIN_HOME to the project folder or BRAIN_CONF_DIR to conf/)")
    overlay = conf_dir / "env" / f"{env}.yaml"
    if not overlay.is_file():
        known = sorted(p.stem for p in (conf_dir / "env").glob("*.yaml"))
        raise ConfigError(f"unknown environment BRAIN_ENV={env!r}: {overlay} not found (known: {', '.join(known)})")

    data: dict = {}
    origin: dict[str, str] = {}
    layers = [str(defaults), str(overlay)]
    _merge(data, _read_yaml(defaults), origin, str(defaults))
    _merge(data, _read_yaml(overlay), origin, str(overlay))
    for var, tree in _env_overrides(environ):
        _merge(data, tree, origin, f"environment variable {var}")
        layers.append(var)

    cfg = Config(data=data, origin=origin, root=root, env=env, layers=tuple(layers))
    for key, type_ in REQUIRED.items():
        cfg.get(key, type_=type_)
    trigger = cfg.get("pipeline.trigger")
    if trigger not in ("available_now", "continuous"):
        raise ConfigError(
            f"config key 'pipeline.trigger' = {trigger!r} should be 'available_now' or 'continuous' "
            f"(set in {cfg.source_of('pipeline.trigger')})"
        )
    return cfg
