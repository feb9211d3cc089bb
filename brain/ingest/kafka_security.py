"""How every Kafka client of the project authenticates: one function, ``client_security``.

``kafka.security`` in config picks the mode:

- ``plaintext``: no TLS, no login. Only for the embedded broker on the loopback
  (the local default); anyone who can reach the port can read and write.
- ``sasl_ssl``: TLS against the project's own CA (``<paths.state>/<kafka.tls.dir>/ca.crt``)
  and a SCRAM-SHA-512 login as ``kafka.sasl.client_user``; the broker's ACLs decide
  what that principal may do (docs/security.md).

A principal's password is the environment variable ``kafka.sasl.password_env_prefix``
+ the user name (upper case, ``-`` -> ``_``) if set, else the file
``<paths.state>/<kafka.sasl.secrets_dir>/<user>.password`` (mode 600), which
``brain kafka start`` and ``brain users add-factory`` generate. It is never printed
and never in the repository; a missing one fails with both names.

The settings come out in the dialect of each client: kafka-python keyword
arguments, librdkafka (confluent-kafka) properties, Spark's Kafka source/sink
options, and Java client properties (for Kafka's own command-line tools).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from brain.config import Config

MODES = ("plaintext", "sasl_ssl")


class KafkaSecurityError(Exception):
    pass


def mode(cfg: Config) -> str:
    value = str(cfg.get("kafka.security", "plaintext")).lower()
    if value not in MODES:
        raise KafkaSecurityError(f"kafka.security = {value!r} must be one of {', '.join(MODES)} "
                                 f"(set in {cfg.source_of('kafka.security')})")
    return value


def secured(cfg: Config) -> bool:
    return mode(cfg) == "sasl_ssl"


def tls_dir(cfg: Config) -> Path:
    return cfg.path("paths.state") / str(cfg.get("kafka.tls.dir", "kafka/tls"))


def ca_file(cfg: Config) -> Path:
    return tls_dir(cfg) / "ca.crt"


def secrets_dir(cfg: Config) -> Path:
    return cfg.path("paths.state") / str(cfg.get("kafka.sasl.secrets_dir", "kafka/secrets"))


def password_env(cfg: Config, user: str) -> str:
    return str(cfg.get("kafka.sasl.password_env_prefix", "BRAIN_KAFKA_PASSWORD_")) + \
        user.upper().replace("-", "_").replace(".", "_")


def password_file(cfg: Config, user: str) -> Path:
    return secrets_dir(cfg) / f"{user}.password"


def password(cfg: Config, user: str, create: bool = False) -> str:
    """The principal's password: its environment variable, else its file; ``create`` writes a random one."""
    env = password_env(cfg, user)
    if os.environ.get(env):
        return os.environ[env]
    path = password_file(cfg, user)
    if path.is_file():
        secret = path.read_text().strip()
        if secret:
            return secret
    if not create:
        raise KafkaSecurityError(f"Kafka password of principal {user!r} missing: set {env} or put it in {path} "
                                 "(`brain kafka start` creates the admin's, `brain users add-factory` a site's)")
    return write_secret(path, secrets.token_urlsafe(24))


def write_secret(path: Path, secret: str) -> str:
    """Write a secret readable by its owner only (the folder too)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret + "\n")
    return secret


def forget_password(cfg: Config, user: str) -> None:
    password_file(cfg, user).unlink(missing_ok=True)


@dataclass(frozen=True)
class ClientSecurity:
    """One client's security settings; ``protocol`` is Kafka's security.protocol name."""
    protocol: str                  # PLAINTEXT | SASL_SSL
    mechanism: str | None = None
    user: str | None = None
    secret: str | None = None
    cafile: str | None = None

    def python(self) -> dict:
        """kafka-python keyword arguments (KafkaProducer, KafkaConsumer, KafkaAdminClient)."""
        if self.protocol == "PLAINTEXT":
            return {"security_protocol": "PLAINTEXT"}
        return {"security_protocol": self.protocol, "sasl_mechanism": self.mechanism,
                "sasl_plain_username": self.user, "sasl_plain_password": self.secret,
                "ssl_cafile": self.cafile, "ssl_check_hostname": True}

    def confluent(self) -> dict:
        """librdkafka properties (confluent-kafka Producer, Consumer, AdminClient)."""
        if self.protocol == "PLAINTEXT":
            return {"security.protocol": "plaintext"}
        return {"security.protocol": self.protocol.lower(), "sasl.mechanisms": self.mechanism,
                "sasl.username": self.user, "sasl.password": self.secret, "ssl.ca.location": self.cafile,
                "ssl.endpoint.identification.algorithm": "https"}

    def java(self) -> dict[str, str]:
        """Java client properties (Kafka's command-line tools' --command-config, Spark without the prefix)."""
        if self.protocol == "PLAINTEXT":
            return {"security.protocol": "PLAINTEXT"}
        jaas = (f'org.apache.kafka.common.security.scram.ScramLoginModule required '
                f'username="{self.user}" password="{self.secret}";')
        # A PEM truststore: the CA file itself, no Java keystore or its password to manage.
        return {"security.protocol": self.protocol, "sasl.mechanism": str(self.mechanism),
                "sasl.jaas.config": jaas, "ssl.truststore.type": "PEM", "ssl.truststore.location": str(self.cafile)}

    def spark(self) -> dict[str, str]:
        """Options of Spark's Kafka source and sink (``kafka.`` + the Java client property)."""
        return {f"kafka.{k}": v for k, v in self.java().items()}


def client_security(cfg: Config, user: str | None = None) -> ClientSecurity:
    """THE security settings of a Kafka client in this deployment, logging in as ``user``
    (default ``kafka.sasl.client_user``). Every client the project builds goes through here."""
    if not secured(cfg):
        return ClientSecurity("PLAINTEXT")
    who = user or str(cfg.get("kafka.sasl.client_user", "admin"))
    ca = ca_file(cfg)
    if not ca.is_file():
        raise KafkaSecurityError(f"kafka.security is sasl_ssl but the CA certificate {ca} is missing "
                                 "(`brain kafka start` generates it)")
    return ClientSecurity("SASL_SSL", str(cfg.get("kafka.sasl.mechanism", "SCRAM-SHA-512")), who,
                          password(cfg, who), str(ca))


def java_config_file(cfg: Config, user: str | None = None) -> Path | None:
    """A Java client properties file for Kafka's command-line tools (``--command-config``), written
    under the secrets folder (mode 600); None in plaintext mode, where the tools need none."""
    sec = client_security(cfg, user)
    if sec.protocol == "PLAINTEXT":
        return None
    path = secrets_dir(cfg) / f"{sec.user}.client.properties"
    write_secret(path, "".join(f"{k}={v}\n" for k, v in sec.java().items()).rstrip("\n"))
    return path


def admin_user(cfg: Config) -> str:
    return str(cfg.get("kafka.sasl.admin_user", "admin"))
