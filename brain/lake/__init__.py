"""The lake: table names and locations (``tables``), safe writers (locks, conflict retries),
streaming checkpoints and triggers, and maintenance (OPTIMIZE, VACUUM). Every stage reaches storage through here."""
