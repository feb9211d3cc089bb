"""docker/compose.yaml checked the way `docker compose config` would, as far as that goes
without a Docker engine (none on the machines this project is built on), and matched with
the pinned stack and conf/env/cluster.yaml.

Compose rules reproduced here (compose-spec): top-level and service keys, an image or a
build per service, build targets that exist in the Dockerfile, depends_on naming services
with valid conditions (service_healthy needs a healthcheck), named volumes declared, and
variable interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error},
$$ for a literal dollar. Versions are read from constraints.txt, jvm/*/pom.xml and the
Makefile, never written down here.
"""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from brain import config

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
COMPOSE_TEXT = (DOCKER / "compose.yaml").read_text()
DOCKERFILE = (DOCKER / "Dockerfile").read_text()
README = (DOCKER / "README.md").read_text()

TOP_LEVEL = {"version", "name", "include", "services", "networks", "volumes", "secrets", "configs", "models"}
# The compose-spec service properties this file may use (a subset; a typo is not among them).
SERVICE_KEYS = {"image", "build", "command", "entrypoint", "environment", "env_file", "volumes", "ports",
                "expose", "depends_on", "restart", "healthcheck", "deploy", "hostname", "user", "working_dir",
                "networks", "labels", "profiles", "stop_grace_period", "init", "ulimits", "shm_size",
                "container_name", "extra_hosts", "logging", "secrets", "configs", "tmpfs", "cap_add", "cap_drop"}
BUILD_KEYS = {"context", "dockerfile", "target", "args", "labels", "cache_from", "network", "shm_size"}
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
RESTART = {"no", "always", "on-failure", "unless-stopped"}
HEALTHCHECK_KEYS = {"test", "interval", "timeout", "retries", "start_period", "start_interval", "disable"}

# ${NAME}, ${NAME:-x}, ${NAME-x}, ${NAME:?x}, ${NAME?x}; $$ is a literal $ (for the container's shell).
VAR = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


# --- a small compose interpolator -----------------------------------------------------------

class MissingVariable(Exception):
    pass


def strings(node):
    """Every string value of a parsed document: what compose interpolates (not keys, not comments)."""
    if isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)
    elif isinstance(node, str):
        yield node


def variables(doc) -> dict[str, tuple[str | None, str]]:
    """Every variable the document uses -> (operator or None, its default or error text)."""
    found = {}
    for text in strings(doc):
        for m in VAR.finditer(text.replace("$$", "")):
            found.setdefault(m["name"], (m["op"], m["arg"] or ""))
    return found


def interpolate_text(text: str, env: dict[str, str]) -> str:
    def one(m: re.Match) -> str:
        name, op, arg = m["name"], m["op"], m["arg"] or ""
        value = env.get(name)
        if op in (":-", "-"):
            return value if (value if op == ":-" else value is not None) else arg
        if op in (":?", "?") and (value is None or (op == ":?" and value == "")):
            raise MissingVariable(f"required variable {name} is missing a value: {arg}")
        return value if value is not None else ""

    return "$".join(VAR.sub(one, part) for part in text.split("$$"))


def interpolate(node, env: dict[str, str]):
    if isinstance(node, dict):
        return {k: interpolate(v, env) for k, v in node.items()}
    if isinstance(node, list):
        return [interpolate(v, env) for v in node]
    return interpolate_text(node, env) if isinstance(node, str) else node


RAW = yaml.safe_load(COMPOSE_TEXT)  # merge keys (<<) resolved, nothing interpolated yet


def required_variables() -> list[str]:
    return sorted(n for n, (op, _) in variables(RAW).items() if op in (":?", "?"))


def full_env() -> dict[str, str]:
    return {name: f"value-of-{name.lower()}" for name in required_variables()}


@pytest.fixture(scope="module")
def compose() -> dict:
    return interpolate(RAW, full_env())


# --- the pinned stack -----------------------------------------------------------------------

def constraint(package: str) -> str:
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.lower().startswith(package.lower() + "=="):
            return line.split("==", 1)[1].strip()
    raise AssertionError(f"{package} is not pinned in constraints.txt")


def pom_property(group: str, prop: str) -> str:
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    node = ET.parse(ROOT / "jvm" / group / "pom.xml").getroot().find(f"m:properties/m:{prop}", ns)
    assert node is not None, f"jvm/{group}/pom.xml has no <{prop}>"
    return node.text.strip()


def makefile_var(name: str) -> str:
    m = re.search(rf"^{name}\s*[:?]?=\s*(\S+)", (ROOT / "Makefile").read_text(), re.M)
    assert m, f"Makefile sets no {name}"
    return m.group(1)


def dockerfile_arg(name: str) -> str:
    m = re.search(rf"^ARG {name}=(\S+)", DOCKERFILE, re.M)
    assert m, f"docker/Dockerfile has no ARG {name}=..."
    return m.group(1)


def dockerfile_stages() -> dict[str, str]:
    """Stage name -> its FROM image (with the Dockerfile's ARG defaults substituted)."""
    args = dict(re.findall(r"^ARG (\w+)=(\S+)", DOCKERFILE, re.M))
    stages = {}
    for image, stage in re.findall(r"^FROM (\S+) AS (\S+)", DOCKERFILE, re.M):
        stages[stage] = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], image)
    return stages


def services_running(compose: dict, target: str) -> list[str]:
    return [n for n, s in compose["services"].items() if isinstance(s.get("build"), dict)
            and s["build"].get("target") == target]


# --- interpolation --------------------------------------------------------------------------

def test_the_interpolator_follows_compose():
    assert interpolate({"k": ["${A:-x} ${B-y} ${C} $${D}", 3]}, {"A": "", "B": ""}) == {"k": ["x   ${D}", 3]}
    with pytest.raises(MissingVariable, match="required variable S"):
        interpolate("${S:?set S}", {"S": ""})
    assert interpolate("${S?set S}", {"S": ""}) == ""
    assert variables({"a": "$${NOT_A_VAR} ${A:?e}", "b": ["${B:-d}"]}) == {"A": (":?", "e"), "B": (":-", "d")}


def test_without_its_secrets_compose_refuses_to_start_naming_one():
    with pytest.raises(MissingVariable) as err:
        interpolate(RAW, {})
    assert any(name in str(err.value) for name in required_variables())


def test_every_variable_is_defaulted_or_required_and_documented():
    used = variables(RAW)
    assert used, "compose.yaml uses no variable: where do its secrets come from?"
    bare = [n for n, (op, _) in used.items() if op is None]
    assert bare == [], f"variables with neither a default nor :? (compose would use an empty string): {bare}"
    undocumented = [n for n in used if f"`{n}`" not in README]
    assert undocumented == [], f"not described in docker/README.md: {undocumented}"
    # No $NAME without braces outside $$: compose would interpolate it too.
    assert [t for t in strings(RAW) if re.search(r"\$(?!\{)\w", t.replace("$$", ""))] == []


def test_the_secrets_are_required_variables_not_values():
    required = set(required_variables())
    assert {"BRAIN_S3_ACCESS_KEY", "BRAIN_S3_SECRET_KEY", "BRAIN_PSEUDONYM_KEY", "POSTGRES_PASSWORD",
            "AIRFLOW_JWT_SECRET", "AIRFLOW_API_SECRET_KEY", "AIRFLOW_FERNET_KEY", "AIRFLOW_ADMIN_PASSWORD"} <= required
    section = README.split("Required:", 1)[1].split("Optional", 1)[0]
    assert [n for n in required if f"`{n}`" not in section] == [], "a required variable is missing from README's table"


# --- structure ------------------------------------------------------------------------------

def test_top_level_and_service_keys_are_compose_keys(compose):
    assert set(compose) - TOP_LEVEL == {k for k in compose if k.startswith("x-")}
    for name, svc in compose["services"].items():
        assert re.fullmatch(r"[a-zA-Z0-9._-]+", name)
        unknown = set(svc) - SERVICE_KEYS
        assert not unknown, f"service {name}: not compose service keys: {unknown}"
        if "restart" in svc:
            assert svc["restart"].split(":")[0] in RESTART, f"{name}: restart {svc['restart']!r}"
        command = svc.get("command", [])
        assert isinstance(command, str) or all(isinstance(a, str) for a in command), f"{name}: command {command!r}"
        for key, value in (svc.get("environment") or {}).items():
            assert isinstance(value, (str, int, float, bool)) or value is None, f"{name}: {key} = {value!r}"
        check = svc.get("healthcheck")
        if check:
            assert set(check) <= HEALTHCHECK_KEYS, f"{name}: healthcheck keys {set(check) - HEALTHCHECK_KEYS}"
            assert check["test"][0] in ("CMD", "CMD-SHELL", "NONE"), f"{name}: healthcheck test {check['test']!r}"


def test_every_service_has_an_image_or_a_build_whose_target_exists(compose):
    stages = dockerfile_stages()
    for name, svc in compose["services"].items():
        assert "image" in svc or "build" in svc, f"service {name} has neither image nor build"
        build = svc.get("build")
        if isinstance(build, dict):
            assert set(build) <= BUILD_KEYS, f"{name}: build keys {set(build) - BUILD_KEYS}"
            context = (DOCKER / build["context"]).resolve()
            assert (context / build["dockerfile"]).is_file(), f"{name}: no {build['dockerfile']} in {context}"
            assert build.get("target") in stages, f"{name}: target {build.get('target')!r} not in {sorted(stages)}"
            for arg in build.get("args", {}):
                assert f"ARG {arg}" in DOCKERFILE, f"{name}: build arg {arg} is not an ARG of the Dockerfile"


def test_the_files_the_dockerfile_copies_exist():
    for sources in re.findall(r"^COPY (?!--from)(.+) \S+$", DOCKERFILE, re.M):
        for src in sources.split():
            assert (ROOT / src).exists(), f"docker/Dockerfile copies {src}, which does not exist"


def test_depends_on_names_services_with_valid_conditions(compose):
    services = compose["services"]
    for name, svc in services.items():
        deps = svc.get("depends_on", [])
        items = {d: {"condition": "service_started"} for d in deps} if isinstance(deps, list) else deps
        for dep, spec in items.items():
            assert dep in services, f"{name} depends on {dep!r}, which is not a service"
            assert dep != name
            assert spec["condition"] in CONDITIONS, f"{name} -> {dep}: {spec['condition']!r}"
            if spec["condition"] == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep} healthy; it has no healthcheck"
            if spec["condition"] == "service_completed_successfully":
                assert services[dep].get("restart") == "no", f"{dep} is awaited to complete but restarts"


def test_named_volumes_are_declared(compose):
    declared = set(compose.get("volumes") or {})
    for name, svc in compose["services"].items():
        for vol in svc.get("volumes", []):
            source = vol.split(":", 1)[0]
            if not source.startswith((".", "/", "~")):
                assert source in declared, f"{name} mounts volume {source!r}, not declared under volumes:"


def test_published_ports_are_well_formed(compose):
    for name, svc in compose["services"].items():
        for port in svc.get("ports", []):
            assert re.fullmatch(r"(\d+:)?\d+(/tcp|/udp)?", str(port)), f"{name}: port {port!r}"


# --- versions agree with the pinned stack ---------------------------------------------------

def test_spark_images_are_pysparks_version():
    pyspark = constraint("pyspark")
    assert dockerfile_arg("SPARK_VERSION") == pyspark == pom_property("spark", "spark.version")
    assert dockerfile_stages()["spark"] == f"apache/spark:{pyspark}"


def test_compose_builds_spark_with_that_version(compose):
    for name in services_running(compose, "spark"):
        args = compose["services"][name]["build"].get("args", {})
        assert str(args.get("SPARK_VERSION", dockerfile_arg("SPARK_VERSION"))) == constraint("pyspark")
    assert len(services_running(compose, "spark")) == 2  # master and worker


def test_kafka_brokers_run_the_poms_kafka_version(compose):
    version = pom_property("kafka", "kafka.version")
    brokers = [s for s in compose["services"].values() if str(s.get("image", "")).startswith("apache/kafka:")]
    assert brokers and all(s["image"] == f"apache/kafka:{version}" for s in brokers)


def test_the_brain_image_is_built_from_the_pins():
    assert dockerfile_stages()["brain"] == f"python:{makefile_var('PYTHON').removeprefix('python')}-slim-bookworm"
    assert f"uv=={makefile_var('UV_VERSION')}" in DOCKERFILE
    assert "-c constraints.txt ." in DOCKERFILE
    # The PostgreSQL drivers Airflow needs are the package's own requirements, pinned.
    setup = (ROOT / "setup.cfg").read_text()
    for driver in ("psycopg2-binary", "asyncpg"):
        assert f"{driver}=={constraint(driver)}" in setup
    # Every jvm/ group the images use is resolved by the jars stage.
    for group in ("spark", "kafka", "s3a", "s3proxy"):
        assert (ROOT / "jvm" / group / "pom.xml").is_file() and group in re.search(
            r"for group in ([^;]+);", DOCKERFILE).group(1).split()


def test_s3a_jars_sit_where_the_driver_names_them_for_the_executors():
    # brain.storage.spark_conf puts <paths.jars>/s3a on spark.executor.extraClassPath by path.
    home = re.search(r"BRAIN_HOME=(\S+)", DOCKERFILE).group(1)
    cfg = config.load(env="cluster", environ={"BRAIN_HOME": home}, root=ROOT)
    assert str(cfg.path("paths.jars")).replace(str(ROOT), home) == f"{home}/.jars"
    assert f"COPY --from=jars {home}/.jars/s3a {home}/.jars/s3a" in DOCKERFILE


# --- the brain services and conf/env/cluster.yaml -------------------------------------------

def brain_services(compose: dict) -> list[str]:
    return services_running(compose, "brain")


AIRFLOW_COMPONENTS = {"api-server", "scheduler", "dag-processor", "triggerer"}
SHARED_SECRETS = ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY", "AIRFLOW__CORE__FERNET_KEY",
                  "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")


def test_every_brain_service_runs_in_the_cluster_environment_with_its_secrets(compose):
    names = brain_services(compose)
    assert names
    for name in names:
        env = compose["services"][name]["environment"]
        assert env["BRAIN_ENV"] == "cluster", name
        for var in ("BRAIN_S3_ACCESS_KEY", "BRAIN_S3_SECRET_KEY", "BRAIN_PSEUDONYM_KEY", *SHARED_SECRETS):
            assert env.get(var), f"{name} lacks {var}"
    assert "BRAIN_ENV=cluster" in DOCKERFILE  # and so does anything run from the image by hand


def test_airflow_runs_its_four_components_with_one_jwt_secret_and_fernet_key(compose):
    components = {}
    for name in brain_services(compose):
        cmd = compose["services"][name].get("command", [])
        if cmd[:1] == ["airflow"] and cmd[1] in AIRFLOW_COMPONENTS:
            components[cmd[1]] = compose["services"][name]["environment"]
    assert set(components) == AIRFLOW_COMPONENTS
    for var in SHARED_SECRETS + ("AIRFLOW__CORE__EXECUTOR", "AIRFLOW__CORE__EXECUTION_API_SERVER_URL"):
        assert len({env[var] for env in components.values()}) == 1, f"{var} differs between components"
    jwt = {RAW["services"][n]["environment"]["AIRFLOW__API_AUTH__JWT_SECRET"] for n in brain_services(compose)}
    assert len(jwt) == 1 and VAR.fullmatch(jwt.pop()), "the JWT secret must be one variable, not a value"
    url = next(iter(components.values()))["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert url.startswith("postgresql+psycopg2://") and "@postgres:5432/" in url
    assert f":{full_env()['POSTGRES_PASSWORD']}@" in url  # the password is the variable postgres starts with
    assert compose["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"] == full_env()["POSTGRES_PASSWORD"]
    api = next(n for n in brain_services(compose) if compose["services"][n]["command"][1] == "api-server")
    assert compose["services"][api]["environment"].get("AIRFLOW_ADMIN_PASSWORD")
    execution = next(iter(components.values()))["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]
    assert execution.startswith(f"http://{api}:")


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.split("://")[-1].rstrip("/").rpartition(":")
    return host, int(port)


def test_cluster_yaml_names_the_compose_services(compose):
    cfg = config.load(env="cluster", environ={})
    services = compose["services"]
    for address in cfg.get("kafka.bootstrap_servers").split(","):
        host, port = _host_port(address)
        assert host in services, f"kafka.bootstrap_servers names {host}, not a compose service"
        assert f"PLAINTEXT://{host}:{port}" == services[host]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    host, port = _host_port(cfg.get("spark.master"))
    assert host in services and str(port) in services[host]["command"]
    host, port = _host_port(cfg.get("object_store.endpoint"))
    assert host in services and services[host]["build"]["target"] == "object-store"
    assert f"0.0.0.0:{port}" in DOCKERFILE
    s3 = services[host]["environment"]
    brain_env = services[brain_services(compose)[0]]["environment"]
    assert (s3["S3PROXY_IDENTITY"], s3["S3PROXY_CREDENTIAL"]) == (brain_env["BRAIN_S3_ACCESS_KEY"],
                                                                  brain_env["BRAIN_S3_SECRET_KEY"])
    assert cfg.get("lake.root").startswith(f"s3a://{cfg.get('object_store.bucket')}/")


def test_three_kraft_brokers_replicate_as_cluster_yaml_says(compose):
    cfg = config.load(env="cluster", environ={})
    brokers = {n: s["environment"] for n, s in compose["services"].items()
               if str(s.get("image", "")).startswith("apache/kafka:")}
    assert len(brokers) == 3
    assert sorted(env["KAFKA_NODE_ID"] for env in brokers.values()) == [1, 2, 3]
    voters = {f"{env['KAFKA_NODE_ID']}@{name}:9093" for name, env in brokers.items()}
    for env in brokers.values():
        assert set(env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")) == voters
        assert "broker" in env["KAFKA_PROCESS_ROLES"] and "controller" in env["KAFKA_PROCESS_ROLES"]
        assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == cfg.get("kafka.topics.replication_factor")
        assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == cfg.get("kafka.topics.replication_factor")
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == cfg.get("kafka.topics.min_insync_replicas")
    ids = {env["CLUSTER_ID"] for env in brokers.values()}
    assert len(ids) == 1
    cluster_id = ids.pop()
    assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16, "a KRaft cluster id is a base64 UUID"
