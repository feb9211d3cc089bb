"""No private key, keystore or literal password is committed (issue #14: secrets outside the repo).

Scans what git tracks (`git ls-files`), not the working tree: the generated secrets under
.state/ are git-ignored on purpose. The patterns are checked against samples below, so a
pattern that stopped matching would fail here rather than scan silently.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]

KEY_FILES = re.compile(r"\.(pem|key|p12|pfx|jks|keystore|truststore|bcfks)$", re.I)
PRIVATE_KEY = re.compile(r"-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----")
AWS_KEY_ID = re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")
# password = "...", "password": "...", secret: '...' - a literal of 6+ characters, not a template.
LITERAL_PASSWORD = re.compile(
    r"""\b(password|passwd|pwd|secret|secret_key|api_key|token)\b["']?\s*[:=]\s*["']([^"'\s{}$<>]{6,})["']""", re.I)
# user:password@ in a URL; a template ({password}, $PASSWORD, <password>) is not a literal.
URL_PASSWORD = re.compile(r"://[^/\s:@\"']+:([^@\s/\"'{}$<>]+)@")

# Known, deliberate exceptions, each with the reason it is not a secret leak. Keep it short.
ALLOWED = {
    # A wrong password on purpose: the broker must refuse it.
    ("tests/integration/test_kafka_security.py", "not-the-password"),
}


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [p for p in out.decode().split("\0") if p]


def findings(path: str, text: str) -> list[str]:
    found = []
    if KEY_FILES.search(path):
        found.append(f"{path}: a key or keystore file")
    if PRIVATE_KEY.search(text):
        found.append(f"{path}: a PEM private key")
    if AWS_KEY_ID.search(text):
        found.append(f"{path}: an AWS access key id")
    for rx in (LITERAL_PASSWORD, URL_PASSWORD):
        for m in rx.finditer(text):
            value = m.group(m.lastindex)
            if (path, value) not in ALLOWED:
                found.append(f"{path}: a literal credential {m.group(0)[:40]!r}")
    return found


# Split so that this file, which git tracks, does not hold the very things it scans for.
Q = '"'
BEGIN = "-----BEGIN"


@pytest.mark.parametrize("path,text", [
    ("conf/x.yaml", "password: " + Q + "hunter2hunter2" + Q),
    ("a.py", "cfg = {" + Q + "sasl.password" + Q + ": " + Q + "s3cr3t-value" + Q + "}"),
    ("a.env", "URL=postgresql://brain" + ":opensesame@db:5432/x"),
    ("a.txt", BEGIN + " PRIVATE KEY-----\nMIIE...\n-----END PRIVATE KEY-----"),
    ("a.txt", BEGIN + " RSA PRIVATE KEY-----"),
    ("a.txt", "aws " + "AKIA" + "IOSFODNN7EXAMPLE"),
    (".state/kafka/tls/broker.p12", ""),
])
def test_the_patterns_catch_what_they_are_for(path, text):
    assert findings(path, text)


@pytest.mark.parametrize("text", [
    'login = f\'username="{self.user}" password="{self.secret}";\'',
    'KEYSTORE_SECRET = "broker-keystore"',
    "password_env: BRAIN_MQTT_PASSWORD",
    "ca_file = tls / 'ca.crt'",
    'url = f"postgresql+psycopg2://airflow:{pg_password}@127.0.0.1:5432/airflow"',
])
def test_the_patterns_leave_names_and_templates_alone(text):
    assert findings("brain/x.py", text) == []


def test_no_secret_is_committed():
    found = []
    for path in tracked_files():
        full = ROOT / path
        if not full.is_file():
            continue
        data = full.read_bytes()
        if b"\0" in data[:8192]:  # binary: only its name can tell
            found += [f for f in findings(path, "") if "key or keystore" in f]
            continue
        found += findings(path, data.decode("utf-8", errors="replace"))
    assert found == [], "committed secrets:\n" + "\n".join(found)


# Config keys that would hold a secret's value (not the name of where it comes from).
SECRET_KEY_NAME = re.compile(r"(password|passwd|secret|token|credential|access_key|fernet|jwt)", re.I)
REFERENCE_SUFFIXES = ("_env", "_file", "_dir", "_prefix", "_user", "_id", "_binary")  # where, not what


def secret_valued_keys(node, prefix: str = "") -> list[str]:
    """Dotted keys named like a secret that carry a value in a config mapping."""
    found = []
    for key, value in (node or {}).items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            found += secret_valued_keys(value, dotted + ".")
        elif (SECRET_KEY_NAME.search(str(key)) and not str(key).lower().endswith(REFERENCE_SUFFIXES)
              and value not in (None, "")):
            found.append(f"{dotted} = {value!r}")
    return found


def test_the_secret_key_check_finds_a_value_and_leaves_references_alone():
    assert secret_valued_keys({"object_store": {"secret_key": "abc"}}) == ["object_store.secret_key = 'abc'"]
    assert secret_valued_keys({"mqtt": {"password_env": "BRAIN_MQTT_PASSWORD", "password_file": "x"}}) == []


@pytest.mark.parametrize("path", ["conf/defaults.yaml", *sorted(
    str(p.relative_to(ROOT)) for p in (ROOT / "conf" / "env").glob("*.yaml"))])
def test_no_config_file_holds_a_secret_value(path):
    # conf/env/cluster.yaml is a real deployment's config: its secrets come from the environment
    # (BRAIN_S3_*, BRAIN_PSEUDONYM_KEY, ...), so no key in it may carry one.
    text = (ROOT / path).read_text()
    assert findings(path, text) == []
    assert secret_valued_keys(yaml.safe_load(text)) == []


def test_compose_takes_every_secret_from_a_variable():
    compose = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
    literal = []
    for name, svc in compose["services"].items():
        for key, value in (svc.get("environment") or {}).items():
            if SECRET_KEY_NAME.search(key) and not str(key).upper().endswith(("_FILE", "_ENV")):
                if not re.fullmatch(r"\$\{[A-Z0-9_]+:\?[^}]*\}", str(value)):
                    literal.append(f"{name}: {key}={value!r}")
        url = (svc.get("environment") or {}).get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")
        if url and not re.search(r"://\w+:\$\{[A-Z0-9_]+:\?[^}]*\}@", url):
            literal.append(f"{name}: the metadata database URL's password is not a required variable")
    assert literal == []
