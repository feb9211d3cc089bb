"""`brain demo` picks a window the lake does not hold, newest first, so a rerun adds fresh data."""

from __future__ import annotations

from datetime import datetime

import pytest

from brain import config
from brain.config import ConfigError
from brain.ops.demo_window import free_window, window_hours, window_seed

NOW = datetime(2026, 12, 4, 14, 37)


def test_the_first_window_is_the_newest_that_has_ended():
    assert free_window(NOW, set(), 6, 14) == datetime(2026, 12, 4, 6)
    assert free_window(datetime(2026, 12, 4, 12), set(), 6, 14) == datetime(2026, 12, 4, 6)
    assert free_window(datetime(2026, 12, 4, 0, 5), set(), 24, 14) == datetime(2026, 12, 3)


def test_a_rerun_the_same_day_takes_the_window_before_and_a_later_day_the_new_ones_first():
    held = {datetime(2026, 12, 4, 6)}
    assert free_window(NOW, held, 6, 14) == datetime(2026, 12, 4, 0)
    held |= {datetime(2026, 12, 4, 0)}
    assert free_window(NOW, held, 6, 14) == datetime(2026, 12, 3, 18)
    assert free_window(datetime(2026, 12, 5, 9), held, 6, 14) == datetime(2026, 12, 5, 0)


def test_no_window_left_in_the_lookback_is_none():
    held = {datetime(2026, 12, 4, 6)}
    assert free_window(NOW, held, 6, 0.25) is None
    assert free_window(NOW, set(), 6, 0.25) == datetime(2026, 12, 4, 6)


def test_each_window_has_its_own_seed_and_the_same_window_the_same_seed():
    a, b = datetime(2026, 12, 4, 6), datetime(2026, 12, 4, 12)
    assert window_seed(1, a) == 12026120406 and window_seed(1, a) != window_seed(1, b)


def test_window_hours_must_divide_a_day(monkeypatch):
    monkeypatch.setenv("BRAIN__DEMO__WINDOW_HOURS", "5")
    with pytest.raises(ConfigError, match="must divide 24"):
        window_hours(config.load())
