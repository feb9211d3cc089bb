"""Personal information pseudonymised before silver: keyed HMAC-SHA-256, computed by Spark itself.

Records may name the person who worked the machine (``operator_id`` on
machine_state, production and quality_inspection, contract 1.1). Silver and
everything built from it (gold, GX validation samples, Data Docs) hold only
``HMAC-SHA-256(key, operator_id)`` as 64 hex characters, with the id of the
key that made it in ``operator_key_id`` next to it; the same person gets the
same pseudonym under one key, so per-operator analysis still works, and
nobody without the key can go back. Quarantine keeps each record's payload
for replay, so there the raw value is replaced inside the payload by
``pseudonym:<key id>:<hex>`` (``scrub_payload``), which the silver transform
recognises and keeps instead of hashing again. Only bronze keeps the raw
payload (restricted: level core, personal; docs/contracts.md).

Spark SQL has ``sha2`` but no ``hmac`` (4.2 included), and a Python UDF would
ship every row through Python. HMAC is two hashes over padded keys (RFC
2104): ``H((K ^ opad) || H((K ^ ipad) || m))``; with the key fixed, both
padded keys are constant bytes, so the whole thing is ``sha2`` over
``concat`` of a binary literal and the message: plain Catalyst expressions.

The key (``load_key``) comes from the environment variable
``privacy.key_env`` or the file ``<paths.state>/<privacy.key_dir>/<key id>.key``
(generated, random, mode 600, when missing and ``privacy.generate_missing_key``
is true); otherwise the run fails naming both.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from brain.config import Config

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

KEY_ID_SUFFIX = "_key_id"
# A value quarantine already pseudonymised: kept as it is when the record is replayed into silver.
MARKED = r"^pseudonym:([A-Za-z0-9_.-]{1,32}):([0-9a-f]{64})$"
_KEY_ID_RE = r"^[A-Za-z0-9_.-]{1,32}$"


class MissingSecret(RuntimeError):
    """The pseudonymisation key is not configured; the message names where it is looked for."""


@dataclass(frozen=True)
class PseudonymKey:
    key_id: str
    secret: bytes = field(repr=False)


def personal_fields(cfg: Config) -> tuple[str, ...]:
    return tuple(cfg.get("privacy.personal_fields", ["operator_id"]))


def key_file(cfg: Config, key_id: str) -> Path:
    return cfg.path("paths.state") / str(cfg.get("privacy.key_dir", "secrets/pseudonym")) / f"{key_id}.key"


def load_key(cfg: Config) -> PseudonymKey:
    """The current key: ``privacy.key_env`` if set, else its file (generated when allowed), else MissingSecret."""
    import re

    key_id = str(cfg.get("privacy.key_id", "k1"))
    if not re.match(_KEY_ID_RE, key_id):
        raise MissingSecret(f"privacy.key_id {key_id!r} must be 1-32 letters, digits, '_', '.' or '-'")
    env = str(cfg.get("privacy.key_env", "BRAIN_PSEUDONYM_KEY"))
    if os.environ.get(env):
        return PseudonymKey(key_id, os.environ[env].encode())
    path = key_file(cfg, key_id)
    if not path.is_file() and cfg.get("privacy.generate_missing_key", True):
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside, then linked into place: two processes starting at once must not end up with
        # two different keys, nor read a file the other has created but not written yet.
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    if not path.is_file():
        raise MissingSecret(f"the pseudonymisation key {key_id!r} is missing: set the environment variable {env} "
                            f"or create the file {path} (see docs/contracts.md, Personal information)")
    secret = path.read_text().strip().encode()
    if not secret:
        raise MissingSecret(f"the pseudonymisation key file {path} is empty; set {env} or put a key in it")
    return PseudonymKey(key_id, secret)


def _pads(secret: bytes) -> tuple[bytes, bytes]:
    """RFC 2104's inner and outer padded keys for SHA-256 (block size 64 bytes)."""
    if len(secret) > 64:
        secret = hashlib.sha256(secret).digest()
    secret = secret.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in secret), bytes(b ^ 0x5C for b in secret)


def hmac_sha256(message: "Column", secret: bytes) -> "Column":
    """HMAC-SHA-256 of ``message`` (a string column, as UTF-8) as 64 lower-case hex characters; null for null."""
    from pyspark.sql import functions as F

    ipad, opad = _pads(secret)
    inner = F.sha2(F.concat(F.lit(ipad), F.encode(message, "UTF-8")), 256)
    return F.sha2(F.concat(F.lit(opad), F.unhex(inner)), 256)


def pseudonymise(df: "DataFrame", fields: tuple[str, ...], key: PseudonymKey) -> "DataFrame":
    """Each personal field present in ``df`` replaced by its pseudonym, with ``<field>_key_id`` right after it.

    A value quarantine already marked (``pseudonym:<key id>:<hex>``) keeps its pseudonym and key id. Pure.
    """
    from pyspark.sql import functions as F

    present = [f for f in fields if f in df.columns]
    if not present:
        return df
    replaced = {}
    for name in present:
        raw = F.col(name)
        marked = raw.rlike(MARKED)
        replaced[name] = F.when(marked, F.regexp_extract(raw, MARKED, 2)).otherwise(hmac_sha256(raw, key.secret))
        replaced[name + KEY_ID_SUFFIX] = F.when(raw.isNull(), F.lit(None).cast("string")).when(
            marked, F.regexp_extract(raw, MARKED, 1)).otherwise(F.lit(key.key_id))
    kept = [c for c in df.columns if c not in {f + KEY_ID_SUFFIX for f in present}]
    order = [c for col in kept for c in ([col, col + KEY_ID_SUFFIX] if col in present else [col])]
    return df.withColumns(replaced).select(*order)


def _value_pattern(name: str) -> str:
    # The key and its value: a JSON string (escapes included) or any other scalar up to the next , } or space.
    return r'"' + name + r'"\s*:\s*("(?:[^"\\]|\\.)*"|[^,}\s]+)'


def scrub_payload(df: "DataFrame", fields: tuple[str, ...], key: PseudonymKey, payload: str = "payload",
                  ) -> "DataFrame":
    """``payload`` (raw bytes) with every value of each personal field replaced by ``pseudonym:<key id>:<hex>``.

    Works on bytes that are not valid UTF-8 or not JSON too: the payload is read as ISO-8859-1 (one
    character per byte) and written back the same way, so every other byte is kept exactly. The
    pseudonym is the HMAC of the value's raw bytes (a JSON string without its quotes; for valid
    UTF-8 without escapes, the same pseudonym silver would give). Every occurrence of the key gets
    the first one's pseudonym: a repeated key loses its raw value too. A value already marked is
    kept. Pure.
    """
    from pyspark.sql import functions as F

    text = F.decode(F.col(payload), "ISO-8859-1")
    for name in fields:
        pattern = _value_pattern(name)
        found = F.regexp_extract(text, pattern, 1)
        value = F.when(found.startswith('"'), found.substr(F.lit(2), F.length(found) - 2)).otherwise(found)
        as_bytes = F.encode(value, "ISO-8859-1")
        ipad, opad = _pads(key.secret)
        digest = F.sha2(F.concat(F.lit(opad), F.unhex(F.sha2(F.concat(F.lit(ipad), as_bytes), 256))), 256)
        marked = value.rlike(MARKED)
        replacement = F.concat(F.lit(f'"{name}":"'),
                               F.when(marked, value).otherwise(F.concat(F.lit(f"pseudonym:{key.key_id}:"), digest)),
                               F.lit('"'))
        text = F.when(text.rlike(pattern), F.regexp_replace(text, pattern, replacement)).otherwise(text)
    return df.withColumn(payload, F.when(F.col(payload).isNull(), F.col(payload))
                         .otherwise(F.encode(text, "ISO-8859-1")))
