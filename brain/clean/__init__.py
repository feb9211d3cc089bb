"""Clean: bronze -> silver | silver.quarantine | quality.duplicates.

Where a record's fate is decided and written; every bronze row ends in
exactly one of the three tables.

- ``fate``: the pure transforms (decode, parse, the check table that gives a
  rejected record its one reason, to silver / to quarantine rows);
- ``dedupe``: which valid rows are duplicates, within a batch and against
  the recent days of silver;
- ``writes``: idempotent appends for stream batches, keyed merges for
  everyone else, and the touched days gold recomputes;
- ``silver``: a batch's fates decided (``judge``) and written
  (``write_judged``), backfill, and ``reclassify`` for records replayed
  from quarantine;
- ``industry_pass``: the hot path, one streaming query per industry: each
  Kafka micro-batch written to bronze and judged into silver, quarantine
  and duplicates from the same materialised rows;
- ``quarantine``: rows a quarantine expectation fails, moved out of silver;
- ``shared_tables``: the tables every record type writes, created up front.
"""
