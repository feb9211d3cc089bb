"""Finding and rewriting lake table names in analyst SQL (brain.serve.sql_names): pure string work."""

import pytest

from brain.serve.sql_names import SqlError, check_read_only, find_tables, mask, rewrite


def test_finds_tables_with_and_without_time_travel():
    sql = ("SELECT e.site FROM gold.enterprise_brain VERSION AS OF 3 e "
           "JOIN silver.quarantine q ON q.site = e.site "
           "JOIN Gold.Enterprise_Brain TIMESTAMP AS OF '2026-03-01 12:00:00' f ON f.site = e.site")
    refs = find_tables(sql)
    assert [(r.name, r.version, r.timestamp) for r in refs] == [
        ("gold.enterprise_brain", 3, None), ("silver.quarantine", None, None),
        ("gold.enterprise_brain", None, "2026-03-01 12:00:00")]
    assert sql[refs[0].start:refs[0].end] == "gold.enterprise_brain VERSION AS OF 3"


def test_names_inside_literals_comments_and_quoted_identifiers_are_left_alone():
    sql = ("SELECT 'gold.a' AS s, \"gold.b\", `gold.c` -- gold.d\n"
           "FROM quality.runs /* bronze.e */ WHERE reason = 'it''s gold.f'")
    assert [r.name for r in find_tables(sql)] == ["quality.runs"]
    assert len(mask(sql)) == len(sql)


def test_column_references_and_functions_are_not_tables():
    # t.gold.x (three parts) and a function called like a table are not lake tables.
    assert find_tables("SELECT t.gold.x, gold.f(1) FROM t") == []


def test_rewrite_replaces_each_reference_span():
    sql = "SELECT * FROM gold.a VERSION AS OF 1 x JOIN gold.b ON x.k = gold_b_k WHERE s = 'gold.a'"
    refs = find_tables(sql)
    out = rewrite(sql, refs, {r.key: f"<{r.name}@{r.version}>" for r in refs})
    assert out == "SELECT * FROM <gold.a@1> x JOIN <gold.b@None> ON x.k = gold_b_k WHERE s = 'gold.a'"


@pytest.mark.parametrize("sql", ["DELETE FROM gold.a", "DROP TABLE gold.a", "INSERT INTO gold.a VALUES (1)",
                                 "SELECT 1; DELETE FROM gold.a", "  ", "UPDATE gold.a SET x = 1"])
def test_only_single_read_only_statements_pass(sql):
    with pytest.raises(SqlError):
        check_read_only(sql)


def test_read_only_statements_keep_their_text_without_the_trailing_semicolon():
    assert check_read_only("WITH x AS (SELECT 1) SELECT * FROM x;  ") == "WITH x AS (SELECT 1) SELECT * FROM x"
    assert check_read_only("select ';' as semi") == "select ';' as semi"


def test_bad_time_travel_clauses_say_what_to_write():
    with pytest.raises(SqlError, match="quoted timestamp"):
        find_tables("SELECT * FROM gold.a TIMESTAMP AS OF now()")
