"""Shift calendars compiled to a minute-of-week table, so a lookup per step is one index."""

from __future__ import annotations

from dataclasses import dataclass

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEK_MIN = 7 * 24 * 60
NO_SHIFT = ("IDLE", "NO_SHIFT")
# 1970-01-01 was a Thursday: minute 0 of the epoch is minute 3*1440 of a Monday-based week.
_EPOCH_WEEK_OFFSET_MIN = 3 * 1440


@dataclass(frozen=True)
class Calendar:
    """Planned (state, reason) for each minute of a local week; None = production time."""

    slots: tuple[tuple[str, str] | None, ...]

    def planned(self, t_ms: int, utc_offset_s: int) -> tuple[str, str] | None:
        minute = ((t_ms // 1000 + utc_offset_s) // 60 + _EPOCH_WEEK_OFFSET_MIN) % WEEK_MIN
        return self.slots[minute]


def _minute(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def compile_calendar(spec: dict) -> Calendar:
    working = spec.get("working")
    slots: list[tuple[str, str] | None] = [None if not working else NO_SHIFT] * WEEK_MIN
    for window in working or ():
        for day in window["days"]:
            base = DAYS.index(day) * 1440
            for m in range(_minute(window["from"]), _minute(window["to"])):
                slots[(base + m) % WEEK_MIN] = None
    for stop in spec.get("stops", ()):
        for day in stop["days"]:
            start = DAYS.index(day) * 1440 + _minute(stop["at"])
            for m in range(start, start + int(stop["minutes"])):
                slots[m % WEEK_MIN] = (stop["state"], stop["reason"])
    return Calendar(tuple(slots))
