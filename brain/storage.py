"""Where the lake and the streaming checkpoints live: local disk or an S3 object store.

``lake.root`` and ``lake.checkpoints`` are either paths (local disk, the default;
relative ones resolve against the project root) or ``s3a://<bucket>/<prefix>`` URIs
(an S3-compatible store, docs/cluster.md). Every lake or checkpoint location the
project computes comes from ``location`` here, so the rest of the code sees one of
two things with the same small pathlib surface:

- a ``pathlib.Path`` for local disk (exactly as before), or
- an ``S3Path``: ``/``, ``name``, ``parent``, ``exists``, ``is_dir``, ``is_file``,
  ``iterdir``, ``read_bytes``, ``read_text``, ``mkdir`` (a no-op: S3 has no folders),
  ``rename`` (copy + delete), ``rmtree``; ``str()`` is the ``s3a://`` URI Spark reads.

Python reads S3 through pyarrow's S3 filesystem (already installed with deltalake);
delta-rs gets ``delta_storage_options``; Spark gets ``spark_conf`` (the s3a connector
from .jars/s3a and the fs.s3a.* settings). All three use the same endpoint, region,
path-style flag and credentials from the ``object_store`` config section.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from brain.config import Config

SCHEME = "s3a://"
ACCESS_KEY_ENV = "BRAIN_S3_ACCESS_KEY"
SECRET_KEY_ENV = "BRAIN_S3_SECRET_KEY"
LOCATION_KEYS = ("lake.root", "lake.checkpoints")


class StorageError(Exception):
    pass


def is_remote(value: object) -> bool:
    return str(value).startswith(SCHEME)


def split_uri(uri: str) -> tuple[str, str]:
    """``s3a://bucket/a/b/`` -> ``("bucket", "a/b")``."""
    bucket, _, key = uri[len(SCHEME):].partition("/")
    if not bucket:
        raise StorageError(f"{uri!r} names no bucket; write s3a://<bucket>/<prefix>")
    return bucket, key.strip("/")


# --- settings -------------------------------------------------------------------------------

@dataclass(frozen=True)
class S3Settings:
    endpoint: str          # http://127.0.0.1:28333
    region: str
    path_style: bool
    access_key: str
    secret_key: str

    @property
    def secure(self) -> bool:
        return self.endpoint.startswith("https://")

    @property
    def host_port(self) -> str:
        return self.endpoint.split("://", 1)[-1].rstrip("/")


def credentials_file(cfg: Config) -> Path:
    """Where the managed object store keeps the key pair it generated (under git-ignored paths.state)."""
    return cfg.path("paths.state") / str(cfg.get("object_store.state_dir", type_=str)) / "credentials.json"


def endpoint(cfg: Config) -> str:
    configured = str(cfg.get("object_store.endpoint", "") or "")
    return configured.rstrip("/") or f"http://127.0.0.1:{cfg.get('object_store.port', type_=int)}"


def settings(cfg: Config) -> S3Settings:
    """The object store's address and credentials: the env pair if set, else the managed store's file.

    With ``object_store.endpoint`` set (a store of the site's, conf/env/cluster.yaml) only the
    environment counts: the loopback s3proxy's generated file is no key to another store."""
    access, secret = os.environ.get(ACCESS_KEY_ENV), os.environ.get(SECRET_KEY_ENV)
    configured = str(cfg.get("object_store.endpoint", "") or "")
    if configured and not (access and secret):
        missing = [name for name, value in ((ACCESS_KEY_ENV, access), (SECRET_KEY_ENV, secret)) if not value]
        raise StorageError(
            f"{' and '.join(missing)} not set: the object store at {endpoint(cfg)} (object_store.endpoint, set "
            f"in {cfg.source_of('object_store.endpoint')}) takes its credentials from the environment only")
    if not (access and secret):
        path = credentials_file(cfg)
        try:
            data = json.loads(path.read_text())
            access, secret = data["access_key"], data["secret_key"]
        except (OSError, ValueError, KeyError):
            raise StorageError(
                f"no credentials for the object store at {endpoint(cfg)}: set {ACCESS_KEY_ENV} and "
                f"{SECRET_KEY_ENV}, or start the managed store (BRAIN_ENV=cluster-local brain cluster up), "
                f"which generates {path}") from None
    return S3Settings(endpoint(cfg), str(cfg.get("object_store.region", "us-east-1")),
                      bool(cfg.get("object_store.path_style", True, type_=bool)), access, secret)


def uses_object_store(cfg: Config) -> bool:
    return any(is_remote(cfg.get(k, type_=str)) for k in LOCATION_KEYS)


# --- locations ------------------------------------------------------------------------------

# The filesystem of every bucket a location was made for in this process, so a location that
# travelled as a string (Spark wants strings) can be looked at again: as_location.
_BUCKETS: dict[str, S3Settings] = {}


def location(cfg: Config, key: str) -> "Path | S3Path":
    """``lake.root`` / ``lake.checkpoints`` (or any other path-valued key) as a Path or an S3Path."""
    value = str(cfg.get(key, type_=str))
    if is_remote(value):
        bucket, prefix = split_uri(value)
        s = _BUCKETS[bucket] = settings(cfg)
        return S3Path(_filesystem(s), bucket, prefix)
    return cfg.path(key)


def location_uri(cfg: Config, key: str) -> str:
    """``str(location(cfg, key))`` without reaching the store (no credentials needed): the
    normalised ``s3a://`` URI, or the absolute local path."""
    value = str(cfg.get(key, type_=str))
    if is_remote(value):
        return str(S3Path(None, *split_uri(value)))
    return str(cfg.path(key))


def as_location(path: "Path | S3Path | str") -> "Path | S3Path":
    """A location given as a Path, an S3Path or the string of either."""
    if isinstance(path, (Path, S3Path)):
        return path
    text = str(path)
    if not is_remote(text):
        return Path(text)
    bucket, key = split_uri(text)
    return S3Path(_filesystem(_known(text)), bucket, key)


def _known(uri: str) -> S3Settings:
    bucket = split_uri(uri)[0]
    if bucket not in _BUCKETS:
        raise StorageError(f"{uri}: bucket {bucket!r} is not the lake's (lake.root / lake.checkpoints); "
                           f"this process has no credentials for it")
    return _BUCKETS[bucket]


def secrets_dir(cfg: Config) -> Path:
    """The git-ignored folder of the secrets the project generates (brain.ops.generated_secrets)."""
    return cfg.path("paths.state") / str(cfg.get("cluster.secrets_dir", "cluster/secrets"))


def lock_dir(cfg: Config) -> Path:
    """A local folder for the writers' flock files.

    flock needs a filesystem; with checkpoints on S3 the locks go to paths.state/locks, which
    serialises the writers of one host (the loopback cluster's every driver). See docs/cluster.md
    for what that means for writers on several hosts."""
    where = location(cfg, "lake.checkpoints")
    return where / "_locks" if isinstance(where, Path) else cfg.path("paths.state") / "locks"


def warehouse_dir(cfg: Config) -> Path:
    """Spark's warehouse (unused: every table is path-based) stays on local disk, so a session
    starts without touching the object store."""
    root = location(cfg, "lake.root") if not is_remote(cfg.get("lake.root", type_=str)) else None
    return root / "_warehouse" if root is not None else cfg.path("paths.state") / "spark-warehouse"


@lru_cache(maxsize=8)
def _filesystem(s: S3Settings):
    from pyarrow import fs

    return fs.S3FileSystem(access_key=s.access_key, secret_key=s.secret_key, region=s.region,
                           endpoint_override=s.host_port, scheme="https" if s.secure else "http",
                           force_virtual_addressing=not s.path_style, allow_bucket_creation=True,
                           allow_bucket_deletion=False, connect_timeout=5, request_timeout=30)


def filesystem(cfg: Config):
    """pyarrow's S3 filesystem for the configured store."""
    return _filesystem(settings(cfg))


class S3Path:
    """An object-store location with the part of pathlib.Path that the lake code uses."""

    __slots__ = ("_fs", "bucket", "key", "_kind")

    def __init__(self, fs, bucket: str, key: str = "", kind: str | None = None):
        self._fs, self.bucket, self.key = fs, bucket, key.strip("/")
        self._kind = kind  # "File" / "Directory" when known from the listing that found it

    # naming
    def __str__(self) -> str:
        return f"{SCHEME}{self.bucket}/{self.key}" if self.key else f"{SCHEME}{self.bucket}"

    def __repr__(self) -> str:
        return f"S3Path({str(self)!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, S3Path) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    def __lt__(self, other: "S3Path") -> bool:
        return str(self) < str(other)

    def __truediv__(self, part) -> "S3Path":
        part = str(part).strip("/")
        return S3Path(self._fs, self.bucket, f"{self.key}/{part}" if self.key else part)

    @property
    def name(self) -> str:
        return self.key.rpartition("/")[2]

    @property
    def parent(self) -> "S3Path":
        return S3Path(self._fs, self.bucket, self.key.rpartition("/")[0])

    @property
    def _arrow(self) -> str:
        return f"{self.bucket}/{self.key}" if self.key else self.bucket

    # queries
    def _type(self) -> str:
        return self._kind or self._fs.get_file_info(self._arrow).type.name

    def exists(self) -> bool:
        return self._type() != "NotFound"

    def is_dir(self) -> bool:
        return self._type() == "Directory"

    def is_file(self) -> bool:
        return self._type() == "File"

    def iterdir(self) -> Iterator["S3Path"]:
        from pyarrow.fs import FileSelector

        infos = self._fs.get_file_info(FileSelector(self._arrow, allow_not_found=True, recursive=False))
        for info in sorted(infos, key=lambda i: i.path):
            yield S3Path(self._fs, self.bucket, info.path.split("/", 1)[1] if "/" in info.path else "",
                         info.type.name)

    def size(self) -> int:
        return int(self._fs.get_file_info(self._arrow).size or 0)

    def read_bytes(self) -> bytes:
        with self._fs.open_input_stream(self._arrow) as f:
            return f.read()

    def read_text(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        return self.read_bytes().decode(encoding, errors)

    # changes
    def write_bytes(self, data: bytes) -> None:
        with self._fs.open_output_stream(self._arrow) as f:
            f.write(data)

    def write_text(self, text: str, encoding: str = "utf-8") -> None:
        self.write_bytes(text.encode(encoding))

    def mkdir(self, parents: bool = False, exist_ok: bool = False) -> None:
        """Nothing to do: S3 has no folders, a key's prefix exists once an object is under it."""

    def unlink(self, missing_ok: bool = False) -> None:
        if missing_ok and not self.exists():
            return
        self._fs.delete_file(self._arrow)

    def rmtree(self) -> None:
        if self.is_dir():
            self._fs.delete_dir(self._arrow)

    def rename(self, target: "S3Path") -> "S3Path":
        """Copy then delete (S3 has no rename): not atomic, used only for whole folders nobody writes."""
        if self.is_dir():
            # pyarrow has no folder copy: object by object, then the folder goes.
            for info in self._fs.get_file_info(_selector(self._arrow)):
                if info.type.name == "File":
                    self._fs.copy_file(info.path, target._arrow + info.path[len(self._arrow):])
            self._fs.delete_dir(self._arrow)
        else:
            self._fs.move(self._arrow, target._arrow)
        return target


def _selector(path: str):
    from pyarrow.fs import FileSelector

    return FileSelector(path, allow_not_found=True, recursive=True)


def rmtree(path: "Path | S3Path") -> None:
    """Remove a folder and everything under it, on either storage."""
    if isinstance(path, S3Path):
        path.rmtree()
    else:
        import shutil

        shutil.rmtree(path, ignore_errors=True)


# --- engines --------------------------------------------------------------------------------

def delta_storage_options(cfg: Config | None, path: "Path | S3Path | str") -> dict[str, str] | None:
    """delta-rs (deltalake.DeltaTable) options to read ``path``; None for local disk. Without
    ``cfg``, the settings of the lake location ``path`` was made from."""
    if not is_remote(path):
        return None
    s = settings(cfg) if cfg is not None else _known(str(path))
    return {
        "AWS_ENDPOINT_URL": s.endpoint,
        "AWS_REGION": s.region,
        "AWS_ACCESS_KEY_ID": s.access_key,
        "AWS_SECRET_ACCESS_KEY": s.secret_key,
        "AWS_ALLOW_HTTP": "false" if s.secure else "true",
        "AWS_VIRTUAL_HOSTED_STYLE_REQUEST": "false" if s.path_style else "true",
        # Reads only: writes go through Spark. Without a lock provider delta-rs refuses
        # S3 writes; it never writes here, so none is configured.
    }


S3A_REQUIRED = ("hadoop-aws-", "bundle-")


def s3a_jars(cfg: Config) -> list[Path]:
    from brain.jars import jars

    return jars(cfg, "s3a", S3A_REQUIRED)


def spark_conf(cfg: Config) -> dict[str, str]:
    """Spark settings for s3a:// lake paths; {} when the lake is on local disk.

    The connector's jars go on the driver's and executors' class path by local file path, not
    through spark.jars: the AWS SDK bundle is ~650 MB, which every executor would otherwise
    fetch from the driver. On the loopback cluster every JVM sees the same .jars; a real
    cluster needs the same path on every node (docker/ images)."""
    if not uses_object_store(cfg):
        return {}
    s = settings(cfg)
    classpath = ":".join(str(j) for j in s3a_jars(cfg))
    return {
        "spark.driver.extraClassPath": classpath,
        "spark.executor.extraClassPath": classpath,
        "spark.hadoop.fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "spark.hadoop.fs.s3a.endpoint": s.endpoint,
        "spark.hadoop.fs.s3a.endpoint.region": s.region,
        "spark.hadoop.fs.s3a.path.style.access": str(s.path_style).lower(),
        "spark.hadoop.fs.s3a.connection.ssl.enabled": str(s.secure).lower(),
        "spark.hadoop.fs.s3a.aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        "spark.hadoop.fs.s3a.access.key": s.access_key,
        "spark.hadoop.fs.s3a.secret.key": s.secret_key,
        # Delta's log store for s3a is S3SingleDriverLogStore: commits are exclusive within one
        # driver JVM only (docs/cluster.md: one writing driver per table at a time).
        "spark.delta.logStore.s3a.impl": "io.delta.storage.S3SingleDriverLogStore",
    }
