import pytest

from brain.lake.tables import QUARANTINE, UnknownTable, bronze_table, silver_table, split_name, table_path


def test_table_names_map_to_layer_folders(base_cfg):
    assert table_path(base_cfg, "silver.energy_meter") == base_cfg.path("lake.root") / "silver" / "energy_meter"
    assert silver_table("energy", "energy_meter") == "silver.energy_meter"
    assert bronze_table("consumer_goods", "production") == "bronze.consumer_goods_production"
    assert split_name(QUARANTINE) == ("silver", "quarantine")


@pytest.mark.parametrize("bad", ["silver", "platinum.x", "silver.../etc", "silver.Energy", "gold.a;drop"])
def test_bad_table_names_are_refused(bad):
    with pytest.raises(UnknownTable):
        split_name(bad)


def test_a_delta_log_without_a_commit_is_not_a_table(tmp_path):
    from brain.lake.tables import is_delta

    log = tmp_path / "t" / "_delta_log"
    log.mkdir(parents=True)
    (log / "00000000000000000000.json.tmp").write_text("")  # a writer killed mid-commit
    assert not is_delta(tmp_path / "t")
    (log / "00000000000000000000.json").write_text("{}")
    assert is_delta(tmp_path / "t") and is_delta(str(tmp_path / "t"))
