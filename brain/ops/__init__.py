"""Operator tools: the embedded broker, reconciliation, the doctor, quarantine list/show/replay."""
