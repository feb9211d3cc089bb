"""Kafka principals and their ACLs (kafka.security sasl_ssl): who may read and write what.

- the admin (``kafka.sasl.admin_user``): a super user, bootstrapped when the broker's
  storage is formatted; creates topics, users and ACLs;
- ``pipeline`` (``kafka.sasl.pipeline_user``): reads every topic of every industry
  (PREFIXED ``<industry>.``) in consumer groups starting with
  ``kafka.sasl.pipeline_group_prefix`` (Spark's ``groupIdPrefix``), and writes ``brain.metrics``
  (`brain announce`);
- ``metrics-reader`` (``kafka.sasl.metrics_user``): reads ``brain.metrics`` only, in groups
  starting with its own name;
- one principal per factory site, ``<kafka.sasl.site_user_prefix><SITE>``: WRITE on its site's
  topic family (PREFIXED ``<industry>.site.<SITE>.``, brain.contracts.site_topics) and
  nothing else: no read, no topic creation, no other site or industry.

What each principal may do is a pure function (``service_acls``, ``factory_acls``) of config;
applying it is idempotent (Kafka keeps one copy of an identical ACL). Passwords are
generated into git-ignored state by brain.ingest.kafka_security and never printed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from brain.config import Config
from brain.contracts import site_topics
from brain.contracts.assets import METERED_INDUSTRY
from brain.ingest import kafka_security


class UsersError(Exception):
    pass


@dataclass(frozen=True)
class Rule:
    """One ALLOW ACL: ``principal`` may ``operation`` the ``resource`` named ``name`` (LITERAL or PREFIXED)."""
    user: str
    resource: str    # TOPIC | GROUP
    name: str
    pattern: str     # LITERAL | PREFIXED
    operation: str   # READ | WRITE | DESCRIBE ...

    @property
    def principal(self) -> str:
        return f"User:{self.user}"


def pipeline_user(cfg: Config) -> str:
    return str(cfg.get("kafka.sasl.pipeline_user", "pipeline"))


def metrics_user(cfg: Config) -> str:
    return str(cfg.get("kafka.sasl.metrics_user", "metrics-reader"))


def pipeline_group_prefix(cfg: Config) -> str:
    return str(cfg.get("kafka.sasl.pipeline_group_prefix", "brain-pipeline"))


def site_user(cfg: Config, site: str) -> str:
    return str(cfg.get("kafka.sasl.site_user_prefix", "site-")) + site_topics.check_site_id(site)


def _metrics_topic(cfg: Config) -> str:
    from brain.serve.metrics_topic import topic

    return topic(cfg)


def service_acls(cfg: Config) -> list[Rule]:
    """The pipeline's and the metrics reader's rules."""
    pipe, reader, metrics = pipeline_user(cfg), metrics_user(cfg), _metrics_topic(cfg)
    rules = [Rule(pipe, "TOPIC", site_topics.industry_prefix(cfg, ind), "PREFIXED", "READ")
             for ind in cfg.industry_names()]
    rules += [Rule(pipe, "GROUP", pipeline_group_prefix(cfg), "PREFIXED", "READ"),
              Rule(pipe, "TOPIC", metrics, "LITERAL", "WRITE"),
              Rule(reader, "TOPIC", metrics, "LITERAL", "READ"),
              Rule(reader, "GROUP", reader, "PREFIXED", "READ")]
    return rules


def factory_acls(cfg: Config, industry: str, site: str, metered: bool = False) -> list[Rule]:
    """A site's rules: write its own topic family (WRITE implies DESCRIBE and, since Kafka 3.0,
    idempotent producing) and, when the site has registered energy meters (``metered``), the
    energy industry's family of that site too (its meters' readings are energy records)."""
    user = site_user(cfg, site)
    rules = [Rule(user, "TOPIC", site_topics.site_prefix(cfg, industry, site), "PREFIXED", "WRITE")]
    if metered and industry != METERED_INDUSTRY:
        rules.append(Rule(user, "TOPIC", site_topics.site_prefix(cfg, METERED_INDUSTRY, site), "PREFIXED", "WRITE"))
    return rules


def site_is_metered(cfg: Config, site: str) -> bool:
    """The site has registered energy meters and this deployment runs the energy industry."""
    from brain.contracts.assets import load_registry

    return (METERED_INDUSTRY in cfg.industry_names()
            and any(loc[1] == site for loc in load_registry().locations(METERED_INDUSTRY)))


def site_industry(cfg: Config, site: str) -> str:
    """The industry a site belongs to in the asset registry (conf/assets.yaml); unknown sites fail."""
    from brain.contracts.assets import load_registry

    reg = load_registry()
    known = []
    for industry, spec in reg.raw.get("industries", {}).items():
        for s in spec.get("sites", []):
            if s["id"] == site:
                if industry not in cfg.industry_names():
                    raise UsersError(f"site {site!r} belongs to industry {industry!r}, which this deployment "
                                     f"does not run (industries: {', '.join(cfg.industry_names())})")
                return industry
            known.append(s["id"])
    raise UsersError(f"site {site!r} is not in the asset registry (conf/assets.yaml); known sites: "
                     f"{', '.join(sorted(known))}")


# --- applying them to the broker ------------------------------------------------------------------

def _require_secured(cfg: Config) -> None:
    if not kafka_security.secured(cfg):
        raise UsersError(f"kafka.security is plaintext (set in {cfg.source_of('kafka.security')}): the broker "
                         "has no logins or ACLs to manage; set kafka.security: sasl_ssl (docs/security.md)")


def admin_client(cfg: Config):
    """A kafka-python admin client logged in as the admin principal."""
    from kafka import KafkaAdminClient

    sec = kafka_security.client_security(cfg, kafka_security.admin_user(cfg))
    return KafkaAdminClient(bootstrap_servers=cfg.get("kafka.bootstrap_servers", type_=str),
                            request_timeout_ms=15000, client_id="brain-users", **sec.python())


def _acl(rule: Rule):
    from kafka.admin import ACL, ACLOperation, ACLPermissionType, ACLResourcePatternType, ResourcePattern, ResourceType

    return ACL(principal=rule.principal, host="*", operation=ACLOperation[rule.operation],
               permission_type=ACLPermissionType.ALLOW,
               resource_pattern=ResourcePattern(ResourceType[rule.resource], rule.name,
                                                ACLResourcePatternType[rule.pattern]))


def _upsert_user(client, cfg: Config, user: str) -> None:
    from kafka.admin import UserScramCredentialUpsertion

    mechanism = str(cfg.get("kafka.sasl.mechanism", "SCRAM-SHA-512"))
    secret = kafka_security.password(cfg, user, create=True)
    errors = client.alter_user_scram_credentials([UserScramCredentialUpsertion(user, mechanism, secret)])
    if errors.get(user):
        raise UsersError(f"creating the SCRAM credential of {user!r} failed: {errors[user]}")


def _create_acls(client, rules: list[Rule]) -> None:
    result = client.create_acls([_acl(r) for r in rules])
    if result["failed"]:
        raise UsersError(f"creating ACLs failed: {result['failed']}")


def ensure_service_principals(cfg: Config) -> list[str]:
    """The pipeline and metrics-reader principals with their ACLs, and the brain.metrics topic they
    share (idempotent); returns their names."""
    _require_secured(cfg)
    client = admin_client(cfg)
    try:
        users = [pipeline_user(cfg), metrics_user(cfg)]
        for u in users:
            # An existing login keeps its password: re-running start must not lock running clients out.
            if not _has_credential(client, u) or not kafka_security.password_file(cfg, u).is_file():
                _upsert_user(client, cfg, u)
        _create_acls(client, service_acls(cfg))
        # The pipeline may write brain.metrics but not create it (`brain announce` would): the admin does.
        metrics = _metrics_topic(cfg)
        if metrics not in set(client.list_topics()):
            from brain.ingest.kafka_io import topic_settings

            rf, configs = topic_settings(cfg)
            client.create_topics({metrics: {"num_partitions": cfg.get("kafka.topic_partitions", type_=int),
                                            "replication_factor": rf, "configs": configs}})
        return users
    finally:
        client.close()


def _has_credential(client, user: str) -> bool:
    try:
        info = client.describe_user_scram_credentials([user]).get(user, {})
    except Exception:  # noqa: BLE001 - ResourceNotFound for a user without any credential
        return False
    return bool(info.get("credential_infos"))


@dataclass(frozen=True)
class Factory:
    site: str
    industry: str
    user: str
    topic_prefix: str
    topics: list[str]
    password_file: str

    def as_dict(self) -> dict:
        return asdict(self)


def add_factory(cfg: Config, site: str) -> Factory:
    """Create (or refresh) a site's principal: its SCRAM login, its write ACL, its topics.

    The topics are created here, by the admin, because the site may not create any."""
    from brain.ingest import kafka_io

    _require_secured(cfg)
    industry = site_industry(cfg, site)
    metered = site_is_metered(cfg, site)
    user = site_user(cfg, site)
    client = admin_client(cfg)
    try:
        _upsert_user(client, cfg, user)
        _create_acls(client, factory_acls(cfg, industry, site, metered))
    finally:
        client.close()
    topics = site_topics.site_topics(cfg, industry, site)
    if metered and industry != METERED_INDUSTRY:
        topics += site_topics.site_topics(cfg, METERED_INDUSTRY, site)
    kafka_io.create_topics(cfg, topics)
    return Factory(site, industry, user, site_topics.site_prefix(cfg, industry, site), topics,
                   str(kafka_security.password_file(cfg, user)))


def remove_factory(cfg: Config, site: str) -> dict:
    """Delete a site's login and ACLs (its topics and the records in them stay)."""
    from kafka.admin import (
        ACLFilter,
        ACLOperation,
        ACLPermissionType,
        ACLResourcePatternType,
        ResourcePatternFilter,
        ResourceType,
        UserScramCredentialDeletion,
    )

    _require_secured(cfg)
    user = site_user(cfg, site)
    client = admin_client(cfg)
    try:
        had_login = _has_credential(client, user)
        if had_login:
            mechanism = str(cfg.get("kafka.sasl.mechanism", "SCRAM-SHA-512"))
            errors = client.alter_user_scram_credentials([UserScramCredentialDeletion(user, mechanism)])
            if errors.get(user):
                raise UsersError(f"deleting the SCRAM credential of {user!r} failed: {errors[user]}")
        flt = ACLFilter(principal=f"User:{user}", host=None, operation=ACLOperation.ANY,
                        permission_type=ACLPermissionType.ANY,
                        resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY))
        deleted = client.delete_acls([flt])
        acls = sum(len(matched) for _, matched, _ in deleted)
    finally:
        client.close()
    kafka_security.forget_password(cfg, user)
    return {"site": site, "user": user, "login_deleted": had_login, "acls_deleted": acls}


def list_principals(cfg: Config) -> list[dict]:
    """Every SCRAM principal with its kind and its ACLs, as the broker has them."""
    from kafka.admin import (
        ACLFilter,
        ACLOperation,
        ACLPermissionType,
        ACLResourcePatternType,
        ResourcePatternFilter,
        ResourceType,
    )

    _require_secured(cfg)
    client = admin_client(cfg)
    try:
        users = sorted(client.describe_user_scram_credentials())
        flt = ACLFilter(principal=None, host=None, operation=ACLOperation.ANY, permission_type=ACLPermissionType.ANY,
                        resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY))
        acls, _ = client.describe_acls(flt)
    finally:
        client.close()
    by_user: dict[str, list[str]] = {}
    for a in acls:
        rp = a.resource_pattern
        by_user.setdefault(a.principal.removeprefix("User:"), []).append(
            f"{a.permission_type.name} {a.operation.name} {rp.resource_type.name} {rp.pattern_type.name} "
            f"{rp.resource_name}")
    site_prefix = str(cfg.get("kafka.sasl.site_user_prefix", "site-"))
    kinds = {kafka_security.admin_user(cfg): "admin (super user)", pipeline_user(cfg): "pipeline",
             metrics_user(cfg): "metrics-reader"}
    out = []
    for u in sorted(set(users) | set(by_user)):
        kind = kinds.get(u) or ("factory" if u.startswith(site_prefix) else "other")
        out.append({"user": u, "kind": kind, "site": u[len(site_prefix):] if kind == "factory" else None,
                    "login": u in users, "acls": sorted(by_user.get(u, []))})
    return out
