"""What a simulation sent: records per topic and per kind, exactly, so consumers can reconcile."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

from brain.simulator.inject import DETECTABLE, INVALID, KINDS, VALID


def kind_category(kind: str) -> str:
    if kind == "clean":
        return "valid"
    if kind in INVALID:
        return "invalid"
    if kind in DETECTABLE:
        return "detectable"
    return "valid-special" if kind in VALID else "?"


@dataclass
class Summary:
    total: int = 0
    topics: dict[str, int] = field(default_factory=dict)
    kinds: dict[str, int] = field(default_factory=dict)           # clean + every KIND, zeros included
    by_topic: dict[str, dict[str, int]] = field(default_factory=dict)
    sink: str = ""
    out: str | None = None
    seed: int = 0
    first_event_ts: str | None = None
    last_event_ts: str | None = None
    telemetry_period_scale: float = 1.0
    report_interval_scale: float = 1.0
    fleet: dict[str, int] = field(default_factory=dict)
    days_requested: float | None = None
    interrupted: bool = False
    elapsed_s: float = 0.0
    records_per_s: float = 0.0

    @property
    def bad_total(self) -> int:
        """Messages a consumer must not accept as they are (invalid or detectably wrong)."""
        return sum(n for k, n in self.kinds.items() if k in INVALID or k in DETECTABLE)

    def to_dict(self, timing: bool = True) -> dict:
        d = asdict(self)
        d["bad_total"] = self.bad_total
        d["categories"] = {k: kind_category(k) for k in self.kinds}
        if not timing:
            for k in ("elapsed_s", "records_per_s"):
                d.pop(k)
        return d

    def table(self) -> str:
        width = max([len(t) for t in self.topics] + [len("total")])
        bad_kinds = [k for k in KINDS if self.kinds.get(k)]
        lines = [f"{'topic':<{width}}  {'records':>10}  {'clean':>10}  {'injected':>9}"]
        for t in sorted(self.topics):
            clean = self.by_topic.get(t, {}).get("clean", 0)
            lines.append(f"{t:<{width}}  {self.topics[t]:>10,}  {clean:>10,}  {self.topics[t] - clean:>9,}")
        clean = self.kinds.get("clean", 0)
        lines.append(f"{'total':<{width}}  {self.total:>10,}  {clean:>10,}  {self.total - clean:>9,}")
        if bad_kinds:
            lines += ["", f"{'kind':<18} {'records':>10}  what a consumer should do"]
            advice = {"invalid": "quarantine (fails the contract)", "detectable": "quarantine (registry/clock check)",
                      "valid-special": "accept: convert, accept late, or deduplicate"}
            for k in bad_kinds:
                lines.append(f"{k:<18} {self.kinds[k]:>10,}  {advice[kind_category(k)]}")
        lines.append("")
        lines += self._coverage_note()
        rate = f", {self.records_per_s:,.0f} records/s" if self.elapsed_s else ""
        span = f"{self.first_event_ts or '-'} .. {self.last_event_ts or '-'}"
        lines.append(f"sink {self.sink}{' ' + self.out if self.out else ''}; seed {self.seed}; "
                     f"event time {span}; {self.elapsed_s:.2f} s{rate}"
                     + ("; interrupted" if self.interrupted else ""))
        return "\n".join(lines)

    def _coverage_note(self) -> list[str]:
        # Unscheduled records (state changes, batches, genealogy) cannot be thinned out; a big
        # fleet over many days can use up the record budget before the last day.
        if not (self.days_requested and self.first_event_ts and self.last_event_ts):
            return []
        first, last = (datetime.fromisoformat(t) for t in (self.first_event_ts, self.last_event_ts))
        covered = (last - first).total_seconds() / 86400
        if covered >= 0.9 * self.days_requested:
            return []
        return [(f"note: {self.total:,} records covered {covered:.1f} of {self.days_requested:g} days; the fleet's "
                "state changes and batch records alone need more: raise --records or lower --sites/--lines"), ""]
