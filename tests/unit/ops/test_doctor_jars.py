"""`brain doctor`'s jars check: the s3a connector is required when the lake is on s3a://, s3proxy
when `brain cluster up` starts the object store, and a missing group is named with the make
target that fetches it. Jar folders are made in a temporary .jars (file names only: the check
looks for the artifacts, it does not load them)."""

from __future__ import annotations

import os

from brain import config
from brain.jars import KAFKA_REQUIRED, SPARK_REQUIRED
from brain.ops import doctor

S3A = ("hadoop-aws-3.5.0.jar", "bundle-2.35.4.jar")


def _cfg(tmp_path, **env):
    base = {k: v for k, v in os.environ.items() if not k.startswith("BRAIN")}
    return config.load(env="local", environ={**base, "BRAIN__PATHS__JARS": str(tmp_path / "jars"),
                                              "BRAIN__PATHS__STATE": str(tmp_path / "state"), **env})


def _jars(tmp_path, group, names):
    folder = tmp_path / "jars" / group
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"")


def _base(tmp_path):
    _jars(tmp_path, "spark", [p + "1.0.jar" for p in SPARK_REQUIRED])
    _jars(tmp_path, "kafka", [p + "1.0.jar" for p in KAFKA_REQUIRED])


def _check(cfg):
    skip = {name for name, _ in doctor.CHECKS} - {"jars"}
    [check] = doctor.run_checks(cfg, skip=skip)
    return check


def test_a_local_lake_needs_no_object_store_jars(tmp_path):
    _base(tmp_path)
    check = _check(_cfg(tmp_path))
    assert check.ok, check.detail
    assert "s3a" not in check.detail and "s3proxy" not in check.detail


def test_a_lake_on_s3a_without_the_connector_fails_naming_the_make_target(tmp_path):
    _base(tmp_path)
    cfg = _cfg(tmp_path, BRAIN__LAKE__ROOT="s3a://b/lake")
    check = _check(cfg)
    assert not check.ok
    assert str(tmp_path / "jars" / "s3a") in check.detail and "hadoop-aws" in check.detail
    assert "lake.root is on s3a://" in check.detail
    assert "make jars" in check.detail and "make .jars/s3a/.resolved" in check.detail
    assert "make jars" in check.fix
    _jars(tmp_path, "s3a", S3A)
    check = _check(cfg)
    assert check.ok and "2 s3a connector jars (lake.root is on s3a://)" in check.detail


def test_the_managed_store_needs_s3proxy_and_every_missing_group_is_named(tmp_path):
    _jars(tmp_path, "kafka", [p + "1.0.jar" for p in KAFKA_REQUIRED])  # no Spark jars either
    cfg = _cfg(tmp_path, BRAIN__LAKE__ROOT="s3a://b/lake", BRAIN__LAKE__CHECKPOINTS="s3a://b/cp",
               BRAIN__OBJECT_STORE__MANAGED="true")
    check = _check(cfg)
    assert not check.ok
    for group in ("spark", "s3a", "s3proxy"):
        assert str(tmp_path / "jars" / group) in check.detail
    assert "lake.root and lake.checkpoints are on s3a://" in check.detail
    assert "make .jars/s3proxy/.resolved" in check.detail
    _base(tmp_path)
    _jars(tmp_path, "s3a", S3A)
    _jars(tmp_path, "s3proxy", ["s3proxy-4.1.0.jar"])
    check = _check(cfg)
    assert check.ok and "1 s3proxy jars" in check.detail


def test_local_spark_without_our_local_file_system_is_a_warning_naming_the_make_target(tmp_path):
    _base(tmp_path)
    check = _check(_cfg(tmp_path))
    assert check.ok and "jvm/localfs is not built" in check.warning
    assert "make .jars/localfs/brain-localfs.jar" in check.warning
    _jars(tmp_path, "localfs", ["brain-localfs.jar"])
    check = _check(_cfg(tmp_path))
    assert check.ok and not check.warning and "the local file system without child processes" in check.detail
    # A cluster master does not use it: nothing to say.
    (tmp_path / "jars" / "localfs" / "brain-localfs.jar").unlink()
    check = _check(_cfg(tmp_path, BRAIN__SPARK__MASTER="spark://10.0.0.5:7077"))
    assert check.ok and not check.warning and "local file system" not in check.detail
