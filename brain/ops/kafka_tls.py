"""The project's own CA and the embedded broker's TLS certificate, made with openssl.

Everything lands in ``<paths.state>/<kafka.tls.dir>`` (git-ignored): ``ca.key`` / ``ca.crt``
(the CA clients trust), ``broker.key`` / ``broker.crt`` (CN ``kafka.tls.broker_cn``, SAN =
the broker's host) and ``broker.p12``, the PKCS#12 keystore the broker reads, whose password
is the secret ``broker-keystore`` (kafka.sasl.secrets_dir). ``ensure`` is idempotent: it
makes only what is missing, and a broker certificate that does not name the broker's
host any more is made again.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from brain.config import Config
from brain.ingest import kafka_security


class TlsError(Exception):
    pass


KEYSTORE_SECRET = "broker-keystore"


@dataclass(frozen=True)
class TlsFiles:
    dir: Path

    ca_key = property(lambda self: self.dir / "ca.key")
    ca_crt = property(lambda self: self.dir / "ca.crt")
    broker_key = property(lambda self: self.dir / "broker.key")
    broker_crt = property(lambda self: self.dir / "broker.crt")
    keystore = property(lambda self: self.dir / "broker.p12")
    san_stamp = property(lambda self: self.dir / "broker.san")


def files(cfg: Config) -> TlsFiles:
    return TlsFiles(kafka_security.tls_dir(cfg))


def broker_cn(cfg: Config) -> str:
    return str(cfg.get("kafka.tls.broker_cn", "brain-broker"))


def broker_principal(cfg: Config) -> str:
    """The principal the broker's certificate maps to (Kafka's default rule: the whole DN)."""
    return f"User:CN={broker_cn(cfg)}"


def subject_alt_names(hosts: list[str]) -> str:
    """openssl's subjectAltName for the broker's hosts: IP entries for addresses, DNS for names."""
    names = []
    for h in dict.fromkeys(hosts + ["localhost", "127.0.0.1"]):
        try:
            ipaddress.ip_address(h)
            names.append(f"IP:{h}")
        except ValueError:
            names.append(f"DNS:{h}")
    return ",".join(names)


def _openssl(*args: str, env: dict | None = None) -> None:
    binary = shutil.which("openssl")
    if not binary:
        raise TlsError("openssl not found: install it (apt-get install openssl); kafka.security sasl_ssl needs it")
    proc = subprocess.run([binary, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})
    if proc.returncode != 0:
        raise TlsError(f"openssl {args[0]} failed: {proc.stderr.strip()}")


def ensure(cfg: Config, hosts: list[str]) -> TlsFiles:
    """Make the CA, the broker's key and certificate and its keystore, where missing."""
    tf = files(cfg)
    tf.dir.mkdir(parents=True, exist_ok=True)
    tf.dir.chmod(0o700)
    days = str(cfg.get("kafka.tls.validity_days", 825))
    if not (tf.ca_key.is_file() and tf.ca_crt.is_file()):
        _openssl("req", "-x509", "-newkey", "rsa:3072", "-nodes", "-keyout", str(tf.ca_key), "-out", str(tf.ca_crt),
                 "-days", days, "-subj", "/CN=enterprise-brain-kafka-ca",
                 "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        tf.ca_key.chmod(0o600)
        for stale in (tf.broker_crt, tf.keystore):
            stale.unlink(missing_ok=True)  # signed by a CA that is gone
    san = subject_alt_names(hosts)
    if not tf.broker_crt.is_file() or not tf.san_stamp.is_file() or tf.san_stamp.read_text() != san:
        csr = tf.dir / "broker.csr"
        ext = tf.dir / "broker.ext"
        ext.write_text(f"subjectAltName={san}\nextendedKeyUsage=serverAuth,clientAuth\n"
                       "keyUsage=critical,digitalSignature,keyEncipherment\n")
        _openssl("req", "-newkey", "rsa:3072", "-nodes", "-keyout", str(tf.broker_key), "-out", str(csr),
                 "-subj", f"/CN={broker_cn(cfg)}")
        tf.broker_key.chmod(0o600)
        _openssl("x509", "-req", "-in", str(csr), "-CA", str(tf.ca_crt), "-CAkey", str(tf.ca_key),
                 "-CAcreateserial", "-out", str(tf.broker_crt), "-days", days, "-extfile", str(ext))
        csr.unlink(missing_ok=True)
        ext.unlink(missing_ok=True)
        tf.keystore.unlink(missing_ok=True)
        tf.san_stamp.write_text(san)
    if not tf.keystore.is_file():
        secret = kafka_security.password(cfg, KEYSTORE_SECRET, create=True)
        _openssl("pkcs12", "-export", "-in", str(tf.broker_crt), "-inkey", str(tf.broker_key),
                 "-certfile", str(tf.ca_crt), "-name", "broker", "-out", str(tf.keystore),
                 # From the environment, not the command line that `ps` shows.
                 "-passout", "env:BRAIN_KEYSTORE_PASSWORD", env={"BRAIN_KEYSTORE_PASSWORD": secret})
        tf.keystore.chmod(0o600)
    return tf
