"""The layout's one rule, checked: imports point down the data's way.

Foundation (config, errors, faults, jars, spark, concurrency, storage) <- contracts <- lake <- ingest
<- simulator <- clean <- quality <- gold <- serve <- industries <- pipeline <-
orchestration, ops, edge <- cli. A module may import its own package and anything
below it; an import that points up (also one inside a function) fails here.
"""

from __future__ import annotations

import ast

from brain.config import project_root

BRAIN = project_root() / "brain"
RANK = {
    "config": 0, "errors": 0, "faults": 0, "jars": 0, "spark": 0, "concurrency": 0, "storage": 0,
    "contracts": 1, "lake": 2, "ingest": 3, "simulator": 4, "clean": 5, "quality": 6, "gold": 7,
    "serve": 8, "industries": 9, "pipeline": 10, "orchestration": 11, "ops": 11,
    "edge": 11, "cli": 12,
}
TOP_LEVEL_MODULES_MAX = 12


def _room(dotted: str) -> str:
    return dotted.split(".")[1] if dotted.count(".") else ""


def _imports(path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("brain"):
            out += [node.module] if node.module != "brain" else [f"brain.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            out += [a.name for a in node.names if a.name.startswith("brain.")]
    return out


def upward_imports(root=BRAIN) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).with_suffix("")
        room = rel.parts[1] if len(rel.parts) > 1 else ""
        if room == "__init__":
            continue
        for target in _imports(path):
            other = _room(target)
            if other and not other.startswith("__") and other != room and RANK[other] > RANK[room]:
                found.append(f"{'/'.join(rel.parts)}.py imports {target} ({room} -> {other} points up)")
    return found


def test_every_room_has_a_rank():
    rooms = {p.stem if p.is_file() else p.name for p in BRAIN.iterdir()
             if (p.suffix == ".py" and p.stem != "__init__") or (p.is_dir() and (p / "__init__.py").exists())}
    assert rooms == set(RANK)


def test_no_import_points_up_the_stages():
    assert upward_imports() == []


def test_the_check_catches_an_upward_import(tmp_path):
    (tmp_path / "brain" / "contracts").mkdir(parents=True)
    (tmp_path / "brain" / "contracts" / "x.py").write_text("def f():\n    from brain.gold.publish import publish\n")
    assert upward_imports(tmp_path / "brain") == [
        "brain/contracts/x.py imports brain.gold.publish (contracts -> gold points up)"]


def test_brain_keeps_at_most_a_dozen_top_level_modules():
    assert len([p for p in BRAIN.glob("*.py")]) <= TOP_LEVEL_MODULES_MAX
