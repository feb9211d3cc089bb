"""Which streamed batches are replays: the rule that lets a new batch skip the quarantine and duplicates look-ups."""

from brain.clean.industry_pass import first_new_batch


def test_a_checkpoint_without_history_vouches_for_no_batch(tmp_path):
    # A first run, or a lost checkpoint replaced: the lake may hold fates of what the query reads.
    assert first_new_batch(tmp_path / "pass.energy") is None


def test_batches_the_checkpoint_planned_are_replays(tmp_path):
    cp = tmp_path / "pass.energy"
    (cp / "offsets").mkdir(parents=True)
    (cp / "commits").mkdir()
    for i in (0, 1, 2):  # batch 2 planned, died before its commit: Spark runs it again
        (cp / "offsets" / str(i)).write_text("v1")
    for i in (0, 1):
        (cp / "commits" / str(i)).write_text("v1")
    (cp / "offsets" / ".3.tmp").write_text("")  # a half-written offsets file is not a planned batch
    assert first_new_batch(cp) == 3
