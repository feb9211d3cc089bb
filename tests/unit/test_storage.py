"""brain.storage without a store: which locations are local, how s3a URIs split and join,
where credentials come from, and what Spark and delta-rs are told."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from brain import config, storage
from brain.ops import object_store


def _cfg(tmp_path, **env):
    base = {k: v for k, v in os.environ.items() if k not in (storage.ACCESS_KEY_ENV, storage.SECRET_KEY_ENV)}
    return config.load(environ={**base, "BRAIN__PATHS__STATE": str(tmp_path), **env})


def _s3(tmp_path, **env):
    return _cfg(tmp_path, BRAIN__LAKE__ROOT="s3a://lakeb/x/lake", BRAIN__LAKE__CHECKPOINTS="s3a://lakeb/x/cp",
                BRAIN__OBJECT_STORE__PORT="19999", **env)


def test_local_lake_locations_stay_paths(tmp_path):
    cfg = _cfg(tmp_path, BRAIN__LAKE__ROOT=str(tmp_path / "lake"))
    assert storage.location(cfg, "lake.root") == tmp_path / "lake"
    assert not storage.uses_object_store(cfg)
    assert storage.spark_conf(cfg) == {}
    assert storage.delta_storage_options(cfg, tmp_path / "lake" / "silver" / "t") is None
    assert storage.lock_dir(cfg) == cfg.path("lake.checkpoints") / "_locks"


def test_s3a_uris_split_and_join():
    assert storage.split_uri("s3a://b/a/b/") == ("b", "a/b")
    assert storage.split_uri("s3a://b") == ("b", "")
    with pytest.raises(storage.StorageError, match="names no bucket"):
        storage.split_uri("s3a:///x")
    p = storage.S3Path(None, "b", "lake") / "silver" / "energy_meter"
    assert str(p) == "s3a://b/lake/silver/energy_meter"
    assert (p.name, str(p.parent)) == ("energy_meter", "s3a://b/lake/silver")
    assert str(storage.S3Path(None, "b") / "x") == "s3a://b/x"


def test_a_missing_secret_names_what_to_set(tmp_path):
    cfg = _s3(tmp_path)
    with pytest.raises(storage.StorageError, match=f"{storage.ACCESS_KEY_ENV}.*{storage.SECRET_KEY_ENV}"):
        storage.settings(cfg)


def test_a_stores_own_endpoint_takes_credentials_from_the_environment_only(tmp_path, monkeypatch):
    # conf/env/cluster.yaml: the site's store. A credentials file the loopback s3proxy left behind
    # is not a key to it; a missing variable is named.
    cfg = _s3(tmp_path, BRAIN__OBJECT_STORE__ENDPOINT="https://s3.plant.example")
    object_store.ensure_credentials(cfg)
    with pytest.raises(storage.StorageError) as err:
        storage.settings(cfg)
    assert storage.ACCESS_KEY_ENV in str(err.value) and "BRAIN__OBJECT_STORE__ENDPOINT" in str(err.value)
    monkeypatch.setenv(storage.ACCESS_KEY_ENV, "AK")
    with pytest.raises(storage.StorageError) as err:
        storage.settings(cfg)
    assert storage.SECRET_KEY_ENV in str(err.value) and storage.ACCESS_KEY_ENV not in str(err.value)
    monkeypatch.setenv(storage.SECRET_KEY_ENV, "SK")
    s = storage.settings(cfg)
    assert (s.access_key, s.secret_key, s.endpoint, s.secure) == ("AK", "SK", "https://s3.plant.example", True)


def test_credentials_come_from_the_environment_or_the_managed_stores_file(tmp_path, monkeypatch):
    cfg = _s3(tmp_path)
    made = object_store.ensure_credentials(cfg)
    assert oct(storage.credentials_file(cfg).stat().st_mode & 0o777) == "0o600"
    assert object_store.ensure_credentials(cfg) == made  # generated once
    s = storage.settings(cfg)
    assert (s.access_key, s.secret_key, s.endpoint) == (made["access_key"], made["secret_key"], "http://127.0.0.1:19999")
    monkeypatch.setenv(storage.ACCESS_KEY_ENV, "AK")
    monkeypatch.setenv(storage.SECRET_KEY_ENV, "SK")
    assert (storage.settings(cfg).access_key, storage.settings(cfg).secret_key) == ("AK", "SK")


def test_spark_and_delta_rs_get_the_same_store(tmp_path, monkeypatch):
    monkeypatch.setenv(storage.ACCESS_KEY_ENV, "AK")
    monkeypatch.setenv(storage.SECRET_KEY_ENV, "SK")
    cfg = _s3(tmp_path)
    if not (cfg.path("paths.jars") / "s3a").is_dir():
        pytest.skip("make jars has not resolved .jars/s3a")
    conf = storage.spark_conf(cfg)
    assert conf["spark.hadoop.fs.s3a.endpoint"] == "http://127.0.0.1:19999"
    assert conf["spark.hadoop.fs.s3a.path.style.access"] == "true"
    assert (conf["spark.hadoop.fs.s3a.access.key"], conf["spark.hadoop.fs.s3a.secret.key"]) == ("AK", "SK")
    jars = conf["spark.executor.extraClassPath"].split(":")
    assert any(Path(j).name == "hadoop-aws-3.5.0.jar" for j in jars) and conf["spark.driver.extraClassPath"]
    rs = storage.delta_storage_options(cfg, "s3a://lakeb/x/lake/silver/t")
    assert rs["AWS_ENDPOINT_URL"] == "http://127.0.0.1:19999" and rs["AWS_ALLOW_HTTP"] == "true"
    assert rs["AWS_VIRTUAL_HOSTED_STYLE_REQUEST"] == "false"
    assert storage.lock_dir(cfg) == tmp_path / "locks"  # flock needs a local file
    assert storage.warehouse_dir(cfg) == tmp_path / "spark-warehouse"


def test_a_string_location_is_only_resolved_for_the_lakes_bucket(tmp_path, monkeypatch):
    monkeypatch.setenv(storage.ACCESS_KEY_ENV, "AK")
    monkeypatch.setenv(storage.SECRET_KEY_ENV, "SK")
    cfg = _s3(tmp_path)
    root = storage.location(cfg, "lake.root")
    assert storage.as_location(str(root / "silver")) == root / "silver"
    assert storage.as_location(str(tmp_path)) == tmp_path
    with pytest.raises(storage.StorageError, match="not the lake's"):
        storage.as_location("s3a://elsewhere/x")


def test_s3proxy_properties_bind_loopback_with_auth_and_a_filesystem_backend(tmp_path):
    cfg = _s3(tmp_path)
    props = dict(line.split("=", 1) for line in object_store.properties(cfg, {"access_key": "A", "secret_key": "S"})
                 .splitlines())
    assert props["s3proxy.endpoint"] == "http://127.0.0.1:19999"
    assert props["s3proxy.authorization"] == "aws-v2-or-v4"
    assert (props["s3proxy.identity"], props["s3proxy.credential"]) == ("A", "S")
    assert props["jclouds.provider"] == "filesystem"
    assert props["jclouds.filesystem.basedir"] == str(object_store.data_dir(cfg))
