"""Signal-to-venue latency as configuration. Pure.

A paper order is priced against the market as of `signal_ts + latency`: the time the order
would have reached the venue. A fixed delay per venue (not a random draw) keeps replays
reproducible; tune it per venue from measured round trips.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from libs.common.errors import ConfigurationError

MS = 1_000_000  # ns

DEFAULT_LATENCY_NS = 50 * MS

# FXCM bars: the entry already waits for the next bar's open, so no extra delay.
DEFAULT_VENUE_LATENCY_NS: Mapping[str, int] = MappingProxyType({
    "BINANCE": 50 * MS,
    "BINANCE_USDM": 50 * MS,
    "BINANCE_COINM": 50 * MS,
    "FXCM": 0,
})


@dataclass(frozen=True)
class LatencyModel:
    """Fixed latency per venue in ns; venues not listed get `default_ns`."""

    per_venue_ns: Mapping[str, int] = field(
        default_factory=lambda: dict(DEFAULT_VENUE_LATENCY_NS))
    default_ns: int = DEFAULT_LATENCY_NS

    def __post_init__(self) -> None:
        bad = {v: ns for v, ns in self.per_venue_ns.items() if ns < 0}
        if self.default_ns < 0 or bad:
            raise ConfigurationError(
                f"latency must be >= 0 ns (default {self.default_ns}, venues {bad})")
        object.__setattr__(self, "per_venue_ns", MappingProxyType(dict(self.per_venue_ns)))

    def latency_ns(self, venue: str) -> int:
        """Delay between a signal and its order reaching `venue`."""
        return self.per_venue_ns.get(venue, self.default_ns)

    def due_ns(self, signal_ts: int, venue: str) -> int:
        """Event time at which an order for a signal at `signal_ts` reaches `venue`."""
        return signal_ts + self.latency_ns(venue)
