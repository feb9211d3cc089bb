"""A new table's grades written from the columns it was created with, in one commit with its other properties."""

from __future__ import annotations

import json

from brain.contracts.classification import PROPERTY, property_value
from brain.lake.classified import stamp_created, stamp_grades


def _properties(spark, path) -> dict:
    return spark.sql(f"DESCRIBE DETAIL delta.`{path}`").first()["properties"]


def _versions(spark, path) -> int:
    return spark.sql(f"DESCRIBE HISTORY delta.`{path}`").count()


def test_stamp_created_sets_grades_and_other_properties_in_one_commit(spark, tmp_path):
    path = str(tmp_path / "gold" / "data_quality_daily")
    df = spark.createDataFrame([("energy", "site-01", 0.5)], "industry string, site string, completeness double")
    df.write.format("delta").save(path)
    stamp_created(spark, path, df.columns, also={"brain.layer": "gold", "brain.owner": "o'brien"})
    props = _properties(spark, path)
    assert props[PROPERTY] == property_value("gold.data_quality_daily", df.columns)
    assert json.loads(props[PROPERTY])  # compact JSON, readable back
    assert props["brain.layer"] == "gold" and props["brain.owner"] == "obrien"  # quotes cannot break the SQL
    assert _versions(spark, path) == 2  # the write, then one property commit
    # What `brain catalog --stamp` would write is already there: it commits nothing more.
    assert stamp_grades(spark, path) is False and _versions(spark, path) == 2
