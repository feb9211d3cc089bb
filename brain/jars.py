"""Where the Maven-resolved JVM artifacts live (see jvm/*/pom.xml, `make jars`)."""

from __future__ import annotations

from pathlib import Path

from brain.config import Config

# Artifacts Spark cannot run our jobs without; doctor checks each is present.
SPARK_REQUIRED = ("delta-spark_", "delta-storage-", "spark-sql-kafka-0-10_", "kafka-clients-")
KAFKA_REQUIRED = ("kafka_2.13-", "kafka-server-", "kafka-clients-", "kafka-metadata-", "kafka-raft-")


class JarsMissing(Exception):
    pass


def jar_dir(cfg: Config, group: str) -> Path:
    return cfg.path("paths.jars") / group


def jars(cfg: Config, group: str, required: tuple[str, ...]) -> list[Path]:
    folder = jar_dir(cfg, group)
    found = sorted(folder.glob("*.jar"))
    missing = [r for r in required if not any(j.name.startswith(r) for j in found)]
    if missing:
        raise JarsMissing(
            f"{folder} lacks {', '.join(m.rstrip('-_') for m in missing)}; run `make jars` "
            f"(Maven resolves them from jvm/{group}/pom.xml)"
        )
    return found


def spark_jars(cfg: Config) -> list[Path]:
    return jars(cfg, "spark", SPARK_REQUIRED)


def local_fs_jar(cfg: Config) -> Path | None:
    """Our Hadoop local file system without child processes (jvm/localfs, built by `make jars`), if built."""
    jar = jar_dir(cfg, "localfs") / "brain-localfs.jar"
    return jar if jar.is_file() else None


def kafka_jars(cfg: Config) -> list[Path]:
    return jars(cfg, "kafka", KAFKA_REQUIRED)
