"""Where the pipeline's Spark runs: in this process, or on a Spark Connect server named by spark.remote."""

from __future__ import annotations

import os
import socket

import pytest

from brain import config
from brain.spark import SparkServiceUnreachable, get_session, remote_url


def _cfg(tmp_path, **env):
    return config.load(environ={**os.environ, "BRAIN__PATHS__STATE": str(tmp_path), **env})


def test_empty_remote_means_in_process(tmp_path):
    assert remote_url(_cfg(tmp_path, BRAIN__SPARK__REMOTE="")) == ""


def test_service_means_the_brain_spark_server_port(tmp_path):
    cfg = _cfg(tmp_path, BRAIN__SPARK__REMOTE="service", BRAIN__SPARK_CONNECT__PORT="15123")
    assert remote_url(cfg) == "sc://localhost:15123"  # no token: it is fit to print


def test_a_connect_url_is_used_as_given(tmp_path):
    assert remote_url(_cfg(tmp_path, BRAIN__SPARK__REMOTE="sc://10.0.0.5:15002")) == "sc://10.0.0.5:15002"


def test_anything_else_is_refused_with_the_accepted_forms(tmp_path):
    with pytest.raises(ValueError, match="service.*sc://"):
        remote_url(_cfg(tmp_path, BRAIN__SPARK__REMOTE="localhost:15002"))


def test_no_server_listening_says_to_run_brain_spark_start(tmp_path, monkeypatch):
    monkeypatch.delenv("SPARK_CONNECT_MODE_ENABLED", raising=False)
    with socket.socket() as s:  # a port nothing listens on: bound, never listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        cfg = _cfg(tmp_path, BRAIN__SPARK__REMOTE="service", BRAIN__SPARK_CONNECT__PORT=str(port))
        with pytest.raises(SparkServiceUnreachable, match=f"sc://localhost:{port}.*brain spark start"):
            get_session(cfg)
    # A failed attach leaves this process's pyspark in classic mode (the flag is process-wide).
    assert "SPARK_CONNECT_MODE_ENABLED" not in os.environ


def test_a_token_in_a_given_url_is_never_printed(tmp_path, monkeypatch):
    from brain.spark import shown

    assert shown("sc://db.example:443/;use_ssl=true;token=s3cret;user_id=a") == (
        "sc://db.example:443/;use_ssl=true;token=***;user_id=a")
    monkeypatch.delenv("SPARK_CONNECT_MODE_ENABLED", raising=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"sc://127.0.0.1:{s.getsockname()[1]}/;token=s3cret"
        with pytest.raises(SparkServiceUnreachable) as refused:
            get_session(_cfg(tmp_path, BRAIN__SPARK__REMOTE=url))
    assert "s3cret" not in str(refused.value) and "token=***" in str(refused.value)


def test_doctor_fails_the_connect_check_only_when_the_pipeline_attaches_to_the_stopped_server(tmp_path):
    from brain.ops.doctor import _spark_connect
    from tests.ports import free_port

    port = str(free_port())
    attached = _cfg(tmp_path, BRAIN__SPARK__REMOTE="service", BRAIN__SPARK_CONNECT__PORT=port)
    with pytest.raises(RuntimeError, match="brain spark start"):
        _spark_connect(attached)
    detail, hint = _spark_connect(_cfg(tmp_path, BRAIN__SPARK__REMOTE="", BRAIN__SPARK_CONNECT__PORT=port))
    assert "optional" in detail and "brain spark start" in hint


def test_auto_attaches_only_to_a_running_service_with_its_token(tmp_path, capsys):
    from brain.spark import attach_url, service_token_file

    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        cfg = _cfg(tmp_path, BRAIN__SPARK__REMOTE="auto", BRAIN__SPARK_CONNECT__PORT=str(port))
        # The port answers, but no token was ever generated: not our server, or not started by us.
        assert attach_url(cfg) == ""
        assert f"no Spark service at sc://localhost:{port}" in capsys.readouterr().err
        service_token_file(cfg).parent.mkdir(parents=True, exist_ok=True)
        service_token_file(cfg).write_text("t0ken")
        assert attach_url(cfg) == f"sc://localhost:{port}"
    # Stopped: the next command runs in its own process, and says so once, not per session request.
    assert attach_url(cfg) == ""
    assert capsys.readouterr().err == ""


def test_the_shipped_default_is_auto_and_service_still_insists(tmp_path):
    from brain.spark import attach_url, remote_mode
    from tests.ports import free_port

    assert remote_mode(config.load(environ={"BRAIN__PATHS__STATE": str(tmp_path)})) == "auto"
    strict = _cfg(tmp_path, BRAIN__SPARK__REMOTE="service", BRAIN__SPARK_CONNECT__PORT=str(free_port()))
    assert attach_url(strict).startswith("sc://localhost:")  # get_session then fails, naming brain spark start


def test_doctor_warns_under_auto_that_commands_start_their_own_spark(tmp_path):
    from brain.ops.doctor import _spark_connect
    from tests.ports import free_port

    cfg = _cfg(tmp_path, BRAIN__SPARK__REMOTE="auto", BRAIN__SPARK_CONNECT__PORT=str(free_port()))
    detail, hint = _spark_connect(cfg)
    assert "own process" in detail and "brain spark start" in hint
