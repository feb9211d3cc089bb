"""Ingest: Kafka -> bronze, the raw and replayable record.

Config and plain values in, a plain report out (topics, rows, offsets);
idempotent on replay: a streaming checkpoint decides what is new, and a
query whose checkpoint already holds everything Kafka has is not started.
"""
