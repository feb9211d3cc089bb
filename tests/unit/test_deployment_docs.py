"""Every command docs/deployment.md, docker/README.md and README's "From a laptop to a cluster"
show exists: make targets are the Makefile's, `brain ...` parses with the CLI's own parser,
BRAIN_ENV names an overlay in conf/env/, and `docker compose` lines name the compose file and
its services. Nothing is run (the cluster commands start JVMs; compose needs an engine)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from brain.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[2]
MAKEFILE = (ROOT / "Makefile").read_text()


def bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, re.S)


def sources() -> dict[str, list[str]]:
    """Document -> its command lines (bash blocks, plus inline `make ...` spans of the prose)."""
    readme = (ROOT / "README.md").read_text()
    section = re.search(r"## From a laptop to a cluster\n(.*?)\n## ", readme, re.S)
    assert section, "README has no 'From a laptop to a cluster' section"
    docs = {"docs/deployment.md": (ROOT / "docs" / "deployment.md").read_text(),
            "docker/README.md": (ROOT / "docker" / "README.md").read_text(),
            "README.md#from-a-laptop-to-a-cluster": section.group(1)}
    out = {}
    for name, text in docs.items():
        lines = [ln for block in bash_blocks(text) for ln in block.splitlines() if ln.strip()]
        lines += re.findall(r"`(make [^`]+)`", text)
        out[name] = lines
    return out


def make_target_exists(target: str) -> bool:
    if re.search(rf"^{re.escape(target)}:", MAKEFILE, re.M):
        return True
    # Pattern rules: .jars/%/.resolved
    for pattern in re.findall(r"^(\S*%\S*):", MAKEFILE, re.M):
        if re.fullmatch(re.escape(pattern).replace("%", r"[^/]+"), target):
            return True
    return False


def check(line: str) -> list[str]:
    """What is wrong with one command line ([] if it exists)."""
    problems = []
    words = shlex.split(line, comments=True)
    while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
        name, value = words.pop(0).split("=", 1)
        if name == "BRAIN_ENV" and not (ROOT / "conf" / "env" / f"{value}.yaml").is_file():
            problems.append(f"BRAIN_ENV={value}: no conf/env/{value}.yaml")
    if words[:1] == ["export"]:
        envs = [w.split("=", 1)[1] for w in words[1:] if w.startswith("BRAIN_ENV=")]
        return problems + [f"export BRAIN_ENV={e}: no conf/env/{e}.yaml" for e in envs
                           if not (ROOT / "conf" / "env" / f"{e}.yaml").is_file()]
    if not words:
        return problems
    if words[0] == "make":
        problems += [f"make {t}: no such target" for t in words[1:] if not make_target_exists(t)]
    elif words[0] in ("brain", ".venv/bin/brain"):
        try:
            build_parser().parse_args(words[1:])
        except SystemExit:
            problems.append(f"brain {' '.join(words[1:])}: the CLI does not accept it")
    elif words[:2] == ["docker", "compose"]:
        assert words[2] == "-f", line
        compose = yaml.safe_load((ROOT / words[3]).read_text())
        rest = words[4:]
        if rest[:2] == ["run", "--rm"]:
            if rest[2] not in compose["services"]:
                problems.append(f"{line}: no service {rest[2]}")
            problems += check(" ".join(shlex.quote(w) for w in rest[3:]))
        elif rest[0] not in ("build", "up", "down", "config", "ps", "logs"):
            problems.append(f"{line}: docker compose {rest[0]} is not used elsewhere; check it by hand")
    else:
        problems.append(f"{line}: unknown program {words[0]!r} (teach this test about it)")
    return problems


def test_the_checker_catches_what_does_not_exist():
    assert check("make cluster-down") == [] and check("make .jars/s3a/.resolved") == []
    assert check("make cluster-up") == ["make cluster-up: no such target"]
    assert check("BRAIN_ENV=staging .venv/bin/brain doctor") == ["BRAIN_ENV=staging: no conf/env/staging.yaml"]
    assert check("export BRAIN_ENV=staging") != [] and check("export BRAIN_ENV=cluster X=1") == []
    assert check(".venv/bin/brain cluster start") != []
    assert check("docker compose -f docker/compose.yaml run --rm airflow-schedular brain doctor") != []


@pytest.mark.parametrize("doc", sorted(sources()))
def test_every_command_in_the_deployment_docs_exists(doc):
    lines = sources()[doc]
    assert lines, f"{doc} shows no command"
    problems = [p for line in lines for p in check(line)]
    assert problems == []
