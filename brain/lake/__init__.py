"""The lake: table locations and names (``tables``), safe writers (locks, conflict retries),
streaming checkpoints, and maintenance (OPTIMIZE, VACUUM). Every stage reaches storage through here."""
