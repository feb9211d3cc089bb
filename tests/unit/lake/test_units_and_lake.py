import pytest

from brain.contracts.units import to_standard
from brain.lake.tables import QUARANTINE, UnknownTable, bronze_table, silver_table, split_name, table_path


@pytest.mark.parametrize("value,unit,expected,std", [
    (212.0, "degF", 100.0, "degC"),
    (32.0, "degF", 0.0, "degC"),
    (1.5, "MWh", 1500.0, "kWh"),
    (250.0, "Wh", 0.25, "kWh"),
    (14.5037738, "psi", 100.0, "kPa"),
    (2.0, "bar", 200.0, "kPa"),
    (500.0, "kg", 0.5, "t"),
    (0.0, "K", -273.15, "degC"),
])
def test_conversions(value, unit, expected, std):
    got, unit_std = to_standard(value, unit)
    assert unit_std == std
    assert got == pytest.approx(expected, abs=1e-6)


def test_table_names_map_to_layer_folders(base_cfg):
    assert table_path(base_cfg, "silver.energy_meter") == base_cfg.path("lake.root") / "silver" / "energy_meter"
    assert silver_table("energy", "energy_meter") == "silver.energy_meter"
    assert bronze_table("consumer_goods", "production") == "bronze.consumer_goods_production"
    assert split_name(QUARANTINE) == ("silver", "quarantine")


@pytest.mark.parametrize("bad", ["silver", "platinum.x", "silver.../etc", "silver.Energy", "gold.a;drop"])
def test_bad_table_names_are_refused(bad):
    with pytest.raises(UnknownTable):
        split_name(bad)


def test_lost_kafka_offsets_become_an_operator_message():
    from brain.ingest.bronze import explain_data_loss

    spark_error = RuntimeError(
        "[STREAM_FAILED] Query terminated with exception: Partition energy.energy_meter-0's offset was changed "
        "from 120 to 80, Some data may have been lost because they are not available in Kafka any more; either "
        "the data was aged out by Kafka or the topic may have been deleted before all the data in the topic was "
        "processed. If you don't want your streaming query to fail on such cases, set the source option "
        '"failOnDataLoss" to "false".')
    lost = explain_data_loss("energy.energy_meter", spark_error)
    assert lost is not None
    assert "energy.energy_meter" in str(lost) and "--recover-from-bronze" in str(lost)
    assert explain_data_loss("energy.energy_meter", RuntimeError("disk full")) is None


def test_a_delta_log_without_a_commit_is_not_a_table(tmp_path):
    from brain.lake.tables import is_delta

    log = tmp_path / "t" / "_delta_log"
    log.mkdir(parents=True)
    (log / "00000000000000000000.json.tmp").write_text("")  # a writer killed mid-commit
    assert not is_delta(tmp_path / "t")
    (log / "00000000000000000000.json").write_text("{}")
    assert is_delta(tmp_path / "t") and is_delta(str(tmp_path / "t"))


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
