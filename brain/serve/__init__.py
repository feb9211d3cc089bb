"""Serve: what analysts and other systems read: SQL over the lake, genealogy, the metrics topic, the dashboard.

Read-only on the lake; nothing here writes a table.
"""
