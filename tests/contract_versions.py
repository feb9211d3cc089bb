"""New versions of the energy_meter contract in a copy of conf/, as a data engineer writes them
(docs/contracts.md, "Evolving a contract"); shared by unit and integration tests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from brain.config import project_root

METER = "energy_meter"


def copy_conf(dest: Path) -> Path:
    """conf/ copied to ``dest`` (point BRAIN_CONF_DIR at it); the contracts folder is ``dest/contracts``."""
    shutil.copytree(project_root() / "conf", dest)
    return dest


def add_meter_version(contracts: Path, version: str, properties: dict, required: tuple[str, ...] = (),
                      change=None) -> Path:
    """Write ``energy_meter-<version>.schema.json``: the 1.0 file with ``properties`` added (optional
    unless in ``required``) and ``change(schema)`` applied; its schema_version allows every version
    of its major that has a file, and the envelope's lists it too (both apply to a record)."""
    schema = json.loads((contracts / f"{METER}.schema.json").read_text())
    major = version.split(".")[0]
    schema["$id"] = schema["$id"].rsplit("/", 1)[0] + f"/{version}"
    schema["title"] = f"Energy meter {version}"
    same_major = sorted({json.loads(p.read_text())["$id"].rsplit("/", 1)[1] for p in contracts.glob(f"{METER}*.json")}
                        | {version})
    schema["properties"]["schema_version"] = {"enum": [v for v in same_major if v.split(".")[0] == major]}
    schema["properties"].update(properties)
    schema["required"] += list(required)
    if change:
        change(schema)
    path = contracts / f"{METER}-{version}.schema.json"
    path.write_text(json.dumps(schema, indent=2))
    envelope_path = contracts / "envelope.schema.json"
    envelope = json.loads(envelope_path.read_text())
    allowed = envelope["properties"]["schema_version"]["enum"]
    if version not in allowed:
        allowed.append(version)
        envelope_path.write_text(json.dumps(envelope, indent=2))
    return path
