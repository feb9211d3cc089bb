"""The Spark Connect server's command line, environment and status, without starting a JVM."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from brain import config
from brain.ops import spark_service as svc
from brain.spark import session_conf

LAUNCHER = Path("/opt/pyspark/bin/spark-submit")


@pytest.fixture
def cfg(tmp_path):
    return config.load(environ={**os.environ, "BRAIN__PATHS__STATE": str(tmp_path / "state"),
                                "BRAIN__SPARK_CONNECT__PORT": "15123"})


def _confs(cmd: list[str]) -> dict[str, str]:
    pairs = [cmd[i + 1] for i, arg in enumerate(cmd) if arg == "--conf"]
    return dict(p.split("=", 1) for p in pairs)


def _option(cmd: list[str], name: str) -> str:
    return cmd[cmd.index(name) + 1]


def test_command_runs_the_connect_server_class_with_pyspark_launcher(cfg):
    cmd = svc.command(cfg, LAUNCHER)
    assert cmd[:3] == [str(LAUNCHER), "--class", "org.apache.spark.sql.connect.service.SparkConnectServer"]
    # No application jar: spark-submit knows the class (its jar is in pyspark/jars).
    # Jars named in --conf values (spark.jars, the driver's class path for jvm/localfs) are not one.
    assert not any(a.endswith(".jar") for a in cmd if not a.startswith(("spark.jars=", "spark.driver.extraClassPath=")))


def test_command_carries_every_in_process_session_setting(cfg):
    cmd = svc.command(cfg, LAUNCHER)
    confs = _confs(cmd)
    session = session_conf(cfg)
    assert _option(cmd, "--master") == session["spark.master"]
    assert _option(cmd, "--name") == f"{session['spark.app.name']}-connect"
    for key, value in session.items():
        if key not in ("spark.master", "spark.app.name"):
            assert confs[key] == value, key
    assert "spark.master" not in confs and "spark.app.name" not in confs  # given once, as options


def test_server_binds_to_loopback_on_the_configured_port(cfg):
    confs = _confs(svc.command(cfg, LAUNCHER))
    assert confs["spark.connect.grpc.binding.address"] == "127.0.0.1"
    assert confs["spark.connect.grpc.binding.port"] == "15123"
    # Clients name "localhost": pyspark sends the token in plaintext to that host only.
    assert svc.url(cfg) == "sc://localhost:15123"


def test_clients_attach_with_the_generated_token_and_it_is_not_on_the_command_line(cfg):
    token = svc.token(cfg)
    assert len(token) >= 40 and svc.token(cfg) == token  # generated once, then read back
    assert svc.client_url(cfg) == f"sc://localhost:15123/;token={token}"
    assert (svc.secret_file(cfg).stat().st_mode & 0o077) == 0  # readable by its owner only
    assert not any(token in arg for arg in svc.command(cfg, LAUNCHER))
    assert svc.launch_env({}, LAUNCHER, "/venv/bin/python", token)["SPARK_CONNECT_AUTHENTICATE_TOKEN"] == token


def test_extra_conf_is_passed_but_cannot_move_the_binding(tmp_path):
    cfg = config.load(environ={**os.environ, "BRAIN__PATHS__STATE": str(tmp_path),
                               "BRAIN__SPARK_CONNECT__EXTRA_CONF": "{spark.connect.grpc.binding.address: 0.0.0.0, "
                                                                   "spark.sql.ansi.enabled: 'true'}"})
    confs = _confs(svc.command(cfg, LAUNCHER))
    assert confs["spark.sql.ansi.enabled"] == "true"
    assert confs["spark.connect.grpc.binding.address"] == "127.0.0.1"


def test_launch_env_pins_spark_home_and_python_and_is_not_a_connect_client():
    env = svc.launch_env({"SPARK_HOME": "/elsewhere/spark", "SPARK_REMOTE": "sc://x", "PATH": "/bin",
                          "SPARK_CONNECT_MODE_ENABLED": "1"}, LAUNCHER, "/venv/bin/python", "t0ken")
    assert env["SPARK_HOME"] == "/opt/pyspark"
    assert env["SPARK_CONNECT_MODE"] == "0"
    assert "SPARK_REMOTE" not in env and "SPARK_CONNECT_MODE_ENABLED" not in env
    # foreachBatch workers are started with $PYSPARK_PYTHON, not spark.pyspark.python.
    assert env["PYSPARK_PYTHON"] == env["PYSPARK_DRIVER_PYTHON"] == "/venv/bin/python"
    assert env["PATH"] == "/bin"


def test_the_real_launcher_is_pysparks_own():
    import pyspark

    assert svc.spark_submit() == Path(pyspark.__file__).parent / "bin" / "spark-submit"
    assert os.access(svc.spark_submit(), os.X_OK)


def test_status_without_a_server_says_how_to_start_it(cfg):
    st = svc.status(cfg)
    assert not st.running and not st.reachable and st.pid is None
    assert "brain spark start" in st.detail
    assert st.as_dict()["url"] == "sc://localhost:15123"


def test_a_pidfile_naming_another_process_is_ignored(cfg):
    """A reused pid must not be reported as the server, nor be killed by stop."""
    import subprocess

    other = subprocess.Popen(["sleep", "30"])
    try:
        sp = svc.paths(cfg)
        sp.home.mkdir(parents=True)
        sp.pidfile.write_text(str(other.pid))
        assert svc.status(cfg).pid is None
        assert svc.stop(cfg, log=lambda m: None).running is False
        assert other.poll() is None  # still alive
        assert not sp.pidfile.exists()
    finally:
        other.kill()
        other.wait()


def test_cli_registers_spark_start_stop_status():
    from brain.cli.main import build_parser

    args = build_parser().parse_args(["spark", "status", "--json"])
    assert args.action == "status" and args.json
    with pytest.raises(SystemExit):
        build_parser().parse_args(["spark", "restart"])


def test_start_refuses_a_port_another_process_holds(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cfg = config.load(environ={**os.environ, "BRAIN__PATHS__STATE": str(tmp_path),
                                   "BRAIN__SPARK_CONNECT__PORT": str(port)})
        assert "did not start" in svc.status(cfg).detail
        with pytest.raises(svc.SparkServiceError, match="BRAIN__SPARK_CONNECT__PORT"):
            svc.start(cfg, log=lambda m: None)
    assert not svc.paths(cfg).pidfile.exists()


def test_the_servers_logs_are_private_they_can_hold_its_token(tmp_path):
    from brain.ops.spark_service import _private_log

    log = tmp_path / "server.out"
    log.write_text("old\n")
    log.chmod(0o644)
    with _private_log(log) as out:
        out.write(b"url sc://localhost:1/;token=x\n")
    assert log.stat().st_mode & 0o777 == 0o600 and log.read_text().startswith("old\n")
