"""Simulated history that starts on a known weekday.

The simulator's shift calendars stop lines at weekends, so a test that
simulates from `today - N days` sees a different plant depending on the day it
runs (a Sunday start left every line without planned time and every roll-up
empty). Tests start their history on a Monday instead, still recent enough to
be inside the late horizon.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

MONDAY = 0


def recent_monday(at_least_days_ago: int) -> date:
    """The latest Monday that lies at least `at_least_days_ago` days before today (UTC)."""
    day = datetime.now(timezone.utc).date() - timedelta(days=at_least_days_ago)
    return day - timedelta(days=(day.weekday() - MONDAY) % 7)
