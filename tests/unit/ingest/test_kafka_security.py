"""kafka.security's client settings, site topic layout and ACL rules (pure: no broker)."""

from __future__ import annotations

import stat

import pytest

from brain import config
from brain.contracts import site_topics
from brain.ingest import kafka_io, kafka_security
from brain.ops import kafka_users


def _cfg(tmp_path, **env):
    import os

    return config.load(environ={**os.environ, "BRAIN__PATHS__STATE": str(tmp_path / "state"), **env})


def test_plaintext_is_the_default_and_adds_no_login(tmp_path):
    cfg = _cfg(tmp_path)
    assert kafka_security.mode(cfg) == "plaintext"
    sec = kafka_security.client_security(cfg)
    assert sec.python() == {"security_protocol": "PLAINTEXT"}
    assert sec.spark() == {"kafka.security.protocol": "PLAINTEXT"}
    assert "sasl.username" not in kafka_io_confluent(cfg)


def kafka_io_confluent(cfg):
    from brain.simulator.sinks import confluent_config

    return confluent_config(cfg)


def test_an_unknown_mode_is_refused_with_where_it_was_set(tmp_path):
    cfg = _cfg(tmp_path, BRAIN__KAFKA__SECURITY="ssl_maybe")
    with pytest.raises(kafka_security.KafkaSecurityError, match="BRAIN__KAFKA__SECURITY"):
        kafka_security.client_security(cfg)


def test_sasl_ssl_settings_in_every_clients_dialect(tmp_path):
    cfg = _cfg(tmp_path, BRAIN__KAFKA__SECURITY="sasl_ssl", BRAIN__KAFKA__SASL__CLIENT_USER="pipeline")
    kafka_security.ca_file(cfg).parent.mkdir(parents=True)
    kafka_security.ca_file(cfg).write_text("CA")
    secret = kafka_security.password(cfg, "pipeline", create=True)
    sec = kafka_security.client_security(cfg)
    assert sec.python() == {"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512",
                            "sasl_plain_username": "pipeline", "sasl_plain_password": secret,
                            "ssl_cafile": str(kafka_security.ca_file(cfg)), "ssl_check_hostname": True}
    assert kafka_io.client_settings(cfg)["sasl_plain_username"] == "pipeline"
    conf = kafka_io_confluent(cfg)
    assert (conf["security.protocol"], conf["sasl.mechanisms"], conf["sasl.username"], conf["sasl.password"]) == \
        ("sasl_ssl", "SCRAM-SHA-512", "pipeline", secret)
    spark = kafka_io.spark_options(cfg)
    assert spark["kafka.security.protocol"] == "SASL_SSL" and spark["kafka.sasl.mechanism"] == "SCRAM-SHA-512"
    assert f'username="pipeline" password="{secret}";' in spark["kafka.sasl.jaas.config"]
    assert spark["kafka.ssl.truststore.type"] == "PEM"
    assert spark["kafka.ssl.truststore.location"] == str(kafka_security.ca_file(cfg))
    assert spark["groupIdPrefix"] == "brain-pipeline"
    assert "groupIdPrefix" not in kafka_io.spark_options(cfg, source=False)


def test_a_missing_password_names_its_variable_and_file(tmp_path, monkeypatch):
    cfg = _cfg(tmp_path, BRAIN__KAFKA__SECURITY="sasl_ssl")
    monkeypatch.delenv("BRAIN_KAFKA_PASSWORD_SITE_RM_BAOTOU", raising=False)
    with pytest.raises(kafka_security.KafkaSecurityError) as err:
        kafka_security.password(cfg, "site-rm-baotou")
    assert "BRAIN_KAFKA_PASSWORD_SITE_RM_BAOTOU" in str(err.value)
    assert str(kafka_security.password_file(cfg, "site-rm-baotou")) in str(err.value)
    monkeypatch.setenv("BRAIN_KAFKA_PASSWORD_SITE_RM_BAOTOU", "from-env")
    assert kafka_security.password(cfg, "site-rm-baotou") == "from-env"


def test_a_generated_password_is_the_owners_only_and_stable(tmp_path):
    cfg = _cfg(tmp_path)
    first = kafka_security.password(cfg, "pipeline", create=True)
    assert kafka_security.password(cfg, "pipeline", create=True) == first and len(first) >= 24
    path = kafka_security.password_file(cfg, "pipeline")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_sasl_ssl_without_the_ca_says_what_makes_it(tmp_path):
    cfg = _cfg(tmp_path, BRAIN__KAFKA__SECURITY="sasl_ssl")
    with pytest.raises(kafka_security.KafkaSecurityError, match="brain kafka start"):
        kafka_security.client_security(cfg)


def test_site_topics_share_the_industry_prefix_and_one_pattern(tmp_path):
    cfg = _cfg(tmp_path, BRAIN__KAFKA__TOPIC_PREFIX="t1.")
    assert site_topics.site_topic(cfg, "raw_materials", "rm-baotou", "telemetry") == \
        "t1.raw_materials.site.rm-baotou.telemetry"
    assert site_topics.site_prefix(cfg, "raw_materials", "a") == "t1.raw_materials.site.a."
    # site "a"'s prefix does not cover site "ab"'s topics
    assert not site_topics.site_topic(cfg, "raw_materials", "ab", "telemetry").startswith(
        site_topics.site_prefix(cfg, "raw_materials", "a"))
    assert site_topics.record_type_of(cfg, "raw_materials", "t1.raw_materials.telemetry") == "telemetry"
    assert site_topics.record_type_of(cfg, "raw_materials", "t1.raw_materials.site.x.production") == "production"
    assert site_topics.site_of(cfg, "raw_materials", "t1.raw_materials.site.x.production") == "x"
    assert site_topics.record_type_of(cfg, "raw_materials", "t1.energy.site.x.telemetry") is None
    assert site_topics.record_type_of(cfg, "raw_materials", "t1.raw_materials.site.x.y.telemetry") is None
    with pytest.raises(ValueError, match="site id"):
        site_topics.site_prefix(cfg, "raw_materials", "a.b")


def test_acl_rules_give_each_principal_only_its_part(tmp_path):
    cfg = _cfg(tmp_path)
    [site_rule] = kafka_users.factory_acls(cfg, "raw_materials", "rm-baotou")
    assert (site_rule.principal, site_rule.resource, site_rule.name, site_rule.pattern, site_rule.operation) == \
        ("User:site-rm-baotou", "TOPIC", "raw_materials.site.rm-baotou.", "PREFIXED", "WRITE")
    rules = kafka_users.service_acls(cfg)
    reader = [r for r in rules if r.user == "metrics-reader"]
    assert {(r.resource, r.name, r.operation) for r in reader} == {("TOPIC", "brain.metrics", "READ"),
                                                                    ("GROUP", "metrics-reader", "READ")}
    pipeline_topics = {r.name for r in rules
                       if r.user == "pipeline" and r.resource == "TOPIC" and r.operation == "READ"}
    assert pipeline_topics == {f"{ind}." for ind in cfg.industry_names()}
    assert not any(r.operation in ("CREATE", "ALL", "ALTER") for r in rules)


def test_a_site_with_registered_meters_may_also_write_its_energy_family_and_nothing_more(tmp_path):
    cfg = _cfg(tmp_path)
    assert kafka_users.site_is_metered(cfg, "rm-baotou")  # conf/assets.yaml: its lines' electricity meters
    rules = kafka_users.factory_acls(cfg, "raw_materials", "rm-baotou", metered=True)
    assert {(r.name, r.pattern, r.operation) for r in rules} == {
        ("raw_materials.site.rm-baotou.", "PREFIXED", "WRITE"), ("energy.site.rm-baotou.", "PREFIXED", "WRITE")}
    assert len(kafka_users.factory_acls(cfg, "energy", "rm-baotou", metered=True)) == 1  # no twin rule


def test_a_site_outside_the_registry_or_deployment_is_refused(tmp_path):
    cfg = _cfg(tmp_path)
    assert kafka_users.site_industry(cfg, "rm-baotou") == "raw_materials"
    with pytest.raises(kafka_users.UsersError, match="not in the asset registry"):
        kafka_users.site_industry(cfg, "atlantis")
