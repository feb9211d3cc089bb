"""Ingest: Kafka's side of the lake, bronze being the raw and replayable record.

The Kafka client (``kafka_io``) and what the industry's pass
(brain.clean.industry_pass) needs from Kafka (``bronze``): the bronze row
shape, where a lost checkpoint resumes, whether a source has anything new (a
query whose checkpoint already holds everything Kafka has is not started),
and what a data-loss error tells the operator to do.
"""
