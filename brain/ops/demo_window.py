"""Which window of simulated time `brain demo` fills next, so a rerun adds fresh data.

The simulator is reproducible: the same seed and start give the same records,
event_ids included, and the pipeline counts a second copy as duplicates. So
each run takes a window of ``demo.window_hours`` the lake does not hold yet,
newest first (the latest whole window before now, then the one before it, ...),
and a seed derived from the window's start: rerunning the same day fills
earlier windows, rerunning a day later fills the new ones first.

"Holds" is read from the lake itself (silver rows per window, by event time),
not from a file of past runs, so a wiped lake starts again from the newest
window. Late events of one window land in earlier ones; a window counts as
held once it has ``demo.taken_share`` of a window's records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from brain.config import Config, ConfigError


@dataclass(frozen=True)
class Window:
    start: datetime   # naive UTC
    end: datetime
    seed: int
    held: int         # windows of the lookback the lake already holds

    def label(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M}-{self.end:%H:%M} UTC"


class NoFreeWindow(RuntimeError):
    pass


def window_hours(cfg: Config) -> int:
    hours = int(cfg.get("demo.window_hours"))
    if hours < 1 or 24 % hours:
        raise ConfigError(f"demo.window_hours ({cfg.source_of('demo.window_hours')}) must divide 24, got {hours}")
    return hours


def window_seed(base: int, start: datetime) -> int:
    """``base`` then the window's start as YYYYMMDDHH: seed 1, 2026-12-03 12:00 -> 12026120312."""
    return int(f"{base}{start:%Y%m%d%H}")


def free_window(now: datetime, held: set[datetime], hours: int, lookback_days: int) -> datetime | None:
    """The start of the newest whole ``hours`` window that ended by ``now`` and is not in ``held``
    (window starts, naive UTC), within ``lookback_days``; None when every one is held."""
    step = timedelta(hours=hours)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    start = midnight + (now - midnight) // step * step - step
    earliest = start - timedelta(days=lookback_days) + step
    while start >= earliest:
        if start not in held:
            return start
        start -= step
    return None


def rows_per_window(cfg: Config, hours: int) -> dict[datetime, int]:
    """Silver rows of every industry per window start (naive UTC), by event time; read without Spark."""
    from brain.lake.ledger_reads import column_names, select
    from brain.lake.tables import silver_table

    seconds = hours * 3600
    counts: dict[datetime, int] = {}
    for ind in cfg.industry_names():
        for rt in cfg.get(f"industries.{ind}.record_types"):
            name = silver_table(ind, rt)
            if "event_ts_utc" not in column_names(cfg, name):
                continue
            sql = (f"SELECT to_timestamp(floor(epoch(event_ts_utc) / {seconds}) * {seconds}) AS w, count(*) "
                   f"FROM _ledger WHERE event_ts_utc IS NOT NULL GROUP BY w")
            for start, n in select(cfg, name, sql, scan=["event_ts_utc"]) or []:
                counts[start] = counts.get(start, 0) + int(n)
    return counts


def choose(cfg: Config, now: datetime | None = None) -> Window:
    """The window this run simulates, or NoFreeWindow saying why there is none."""
    hours = window_hours(cfg)
    lookback = int(cfg.get("demo.lookback_days"))
    threshold = float(cfg.get("demo.taken_share")) * int(cfg.get("demo.records"))
    now = (now or datetime.now(UTC)).replace(tzinfo=None)
    held = {w for w, n in rows_per_window(cfg, hours).items() if n >= threshold}
    start = free_window(now, held, hours, lookback)
    if start is None:
        raise NoFreeWindow(f"the lake already holds every {hours}-hour window of the last {lookback} days "
                           f"(demo.lookback_days); `make clean` starts over with an empty lake, or raise "
                           f"BRAIN__DEMO__LOOKBACK_DAYS")
    return Window(start, start + timedelta(hours=hours), window_seed(int(cfg.get("demo.seed")), start),
                  held=sum(1 for w in held if w > now - timedelta(days=lookback)))
