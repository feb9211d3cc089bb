def test_kraft_format_accepts_a_cluster_id_starting_with_a_dash(tmp_path, monkeypatch):
    """A random base64 id starts with '-' one time in 64; the storage tool must still take it."""
    import os

    from brain import config
    from brain.ops import broker as kafka_broker

    env = {**os.environ, "BRAIN__PATHS__STATE": str(tmp_path)}
    cfg = config.load(environ=env)
    monkeypatch.setattr(kafka_broker, "_cluster_id", lambda: "-AbCdEfGhIjKlMnOpQrStU")
    bp = kafka_broker.paths(cfg)
    bp.home.mkdir(parents=True)
    bp.config.write_text(kafka_broker.server_properties(cfg, bp.data))
    bp.log4j.write_text(kafka_broker.LOG4J2.format(logs=bp.logs))
    kafka_broker._format_storage(cfg, bp)
    assert "cluster.id=-AbCdEfGhIjKlMnOpQrStU" in (bp.data / "meta.properties").read_text()


def test_a_pidfile_naming_another_process_is_not_the_broker(tmp_path):
    """A broker killed hard leaves its pidfile; the pid may be reused by anything: never stop that."""
    import os

    from brain.ops import broker as kafka_broker

    bp = kafka_broker.BrokerPaths(tmp_path / "kafka-3")
    bp.home.mkdir(parents=True)
    bp.pidfile.write_text(str(os.getpid()))      # alive, but pytest, not kafka.Kafka with this config
    assert kafka_broker.read_pid(bp) is None
