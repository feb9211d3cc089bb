from pathlib import Path

import pytest
import yaml

from brain.config import ConfigError, load, project_root

ROOT = project_root()


def test_defaults_and_local_overlay_merge():
    cfg = load(env="local", environ={})
    assert cfg.get("spark.master") == "local[2]"  # from conf/env/local.yaml
    assert cfg.get("kafka.embedded.port") == 9092  # from conf/defaults.yaml
    assert cfg.source_of("spark.master").endswith("conf/env/local.yaml")


def test_cluster_overlay_points_at_services():
    cfg = load(env="cluster", environ={})
    assert cfg.get("spark.master") == "spark://spark-master:7077"
    assert cfg.get("kafka.embedded.managed") is False
    assert len(cfg.get("kafka.bootstrap_servers").split(",")) == 3
    assert (cfg.get("kafka.topics.replication_factor"), cfg.get("kafka.topics.min_insync_replicas")) == (3, 2)
    assert cfg.get("kafka.producer.acks") == "all"
    assert cfg.get("lake.root").startswith("s3a://") and cfg.get("lake.checkpoints").startswith("s3a://")
    assert cfg.get("object_store.endpoint") and cfg.get("object_store.managed") is False
    # Every host must pseudonymise with the same key: it comes from the environment, never generated.
    assert cfg.get("privacy.generate_missing_key") is False


ENV_OVERLAYS = sorted((ROOT / "conf" / "env").glob("*.yaml"))


def _unknown_keys(overlay: dict, defaults: dict, prefix: str = "") -> list[str]:
    """Keys of ``overlay`` that defaults.yaml does not have. A mapping that is empty in the
    defaults (spark.extra_conf, quality.policies, ...) is free-form: anything goes under it."""
    found = []
    for key, value in overlay.items():
        dotted = f"{prefix}{key}"
        if key not in defaults:
            found.append(dotted)
        elif isinstance(value, dict) and isinstance(defaults[key], dict) and defaults[key]:
            found += _unknown_keys(value, defaults[key], dotted + ".")
    return found


def test_the_overlay_key_check_finds_a_typo():
    defaults = {"kafka": {"topics": {"replication_factor": 1}}, "spark": {"extra_conf": {}}}
    typo = {"kafka": {"topics": {"replication_factr": 3}}}
    assert _unknown_keys(typo, defaults) == ["kafka.topics.replication_factr"]
    assert _unknown_keys({"spark": {"extra_conf": {"spark.driver.host": "h"}}}, defaults) == []


@pytest.mark.parametrize("overlay", ENV_OVERLAYS, ids=lambda p: p.stem)
def test_every_environment_loads_and_names_only_known_keys(overlay):
    # config.load accepts keys the defaults do not have (a typo would be silently ignored), so
    # this test is what catches one in conf/env/.
    cfg = load(env=overlay.stem, environ={})
    assert cfg.env == overlay.stem
    defaults = yaml.safe_load((ROOT / "conf" / "defaults.yaml").read_text())
    assert _unknown_keys(yaml.safe_load(overlay.read_text()) or {}, defaults) == []


def test_the_environments_include_local_loopback_and_real_cluster():
    assert {p.stem for p in ENV_OVERLAYS} >= {"local", "cluster-local", "cluster"}


def test_env_var_overrides_one_key_with_its_yaml_type():
    cfg = load(env="local", environ={"BRAIN__KAFKA__EMBEDDED__PORT": "19999", "BRAIN__SPARK__UI_ENABLED": "true"})
    assert cfg.get("kafka.embedded.port") == 19999
    assert cfg.get("spark.ui_enabled") is True
    assert cfg.source_of("kafka.embedded.port") == "environment variable BRAIN__KAFKA__EMBEDDED__PORT"


def test_missing_key_names_key_and_files():
    cfg = load(env="local", environ={})
    with pytest.raises(ConfigError) as err:
        cfg.get("kafka.no_such_key")
    msg = str(err.value)
    assert "kafka.no_such_key" in msg and "defaults.yaml" in msg and "BRAIN__KAFKA__NO_SUCH_KEY" in msg


def test_wrong_type_names_key_and_the_file_that_set_it(tmp_path):
    conf = tmp_path / "conf"
    (conf / "env").mkdir(parents=True)
    (conf / "defaults.yaml").write_text((ROOT / "conf" / "defaults.yaml").read_text())
    (conf / "env" / "local.yaml").write_text("kafka:\n  embedded:\n    port: not-a-port\n")
    with pytest.raises(ConfigError) as err:
        load(env="local", environ={"BRAIN_CONF_DIR": str(conf)})
    msg = str(err.value)
    assert "kafka.embedded.port" in msg and str(conf / "env" / "local.yaml") in msg and "integer" in msg


def test_bool_is_not_accepted_as_int():
    with pytest.raises(ConfigError, match="kafka.embedded.port"):
        load(env="local", environ={"BRAIN__KAFKA__EMBEDDED__PORT": "true"})


def test_unknown_environment_lists_known_ones():
    with pytest.raises(ConfigError) as err:
        load(env="staging", environ={})
    assert "staging" in str(err.value) and "cluster" in str(err.value) and "local" in str(err.value)


def test_invalid_trigger_is_rejected_with_source():
    with pytest.raises(ConfigError, match="pipeline.trigger.*BRAIN__PIPELINE__TRIGGER"):
        load(env="local", environ={"BRAIN__PIPELINE__TRIGGER": "sometimes"})


def test_relative_paths_resolve_against_project_root():
    cfg = load(env="local", environ={"BRAIN__LAKE__ROOT": "somewhere/lake"})
    assert cfg.path("lake.root") == cfg.root / "somewhere" / "lake"
    assert load(env="local", environ={"BRAIN__LAKE__ROOT": "/abs/lake"}).path("lake.root") == Path("/abs/lake")


def test_select_industries_all_one_or_a_clear_error():
    cfg = load(env="local", environ={})
    assert cfg.select_industries("all") == cfg.select_industries(None) == cfg.industry_names()
    assert cfg.select_industries("energy") == ["energy"]
    with pytest.raises(ConfigError, match="unknown industry 'steel'.*raw_materials"):
        cfg.select_industries("steel")
