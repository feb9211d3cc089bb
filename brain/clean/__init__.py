"""Clean: bronze -> silver | silver.quarantine | quality.duplicates.

Where a record's fate is decided: ``fate`` holds the pure transforms (parse,
classify with one reason per rejected record), ``silver`` writes each batch
(dedupe, appends with Delta txnAppId/txnVersion, keyed merges on replay).
Every bronze row ends in exactly one of the three tables.
"""
