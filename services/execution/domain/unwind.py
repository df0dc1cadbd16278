"""What to do when the legs of a multi-leg intent end unevenly filled. Pure.

An arbitrage is only hedged when every leg filled the same fraction of its size. When the
legs are all done (filled, cancelled or expired) and the fractions differ, a named policy
places ordinary MARKET orders:

- UNWIND_AT_MARKET (default): close each leg's excess over the least-filled fraction, on the
  instrument it filled on (opposite side);
- HEDGE: take each leg's shortfall below the most-filled fraction at market on that leg's
  own instrument (the "other venue"), once; what is still uneven after it is unwound;
- RETRY_UNTIL: like HEDGE, repeated every `retry_interval_ns` while the legs are still
  uneven, up to `retry_window_ns` after the legs ended; then what is uneven is unwound.

Follow-up order times are event time (the legs' end + k * interval + latency), so the
outcome does not depend on when the reports are handled.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from libs.common.errors import ConfigurationError

ZERO = Decimal(0)


class ImbalancePolicy(StrEnum):
    UNWIND_AT_MARKET = "UNWIND_AT_MARKET"
    HEDGE = "HEDGE"
    RETRY_UNTIL = "RETRY_UNTIL"


class FollowUp(StrEnum):
    """Why a follow-up order was placed: its id and the OMS's reading of it derive from this."""

    UNWIND = "unwind"  # opposite side of its leg: reduces an excess
    HEDGE = "hedge"  # same side as its leg: completes a shortfall
    RETRY = "retry"  # same side as its leg, one of several attempts


@dataclass(frozen=True)
class ImbalanceConfig:
    policy: ImbalancePolicy = ImbalancePolicy.UNWIND_AT_MARKET
    retry_interval_ns: int = 1_000_000_000
    retry_window_ns: int = 5_000_000_000

    def __post_init__(self) -> None:
        if self.retry_interval_ns <= 0 or self.retry_window_ns < 0:
            raise ConfigurationError(
                f"retry interval must be > 0 and window >= 0 ns, got "
                f"{self.retry_interval_ns} / {self.retry_window_ns}")

    def retry_times(self, legs_end_ns: int) -> list[int]:
        """Event times of the RETRY_UNTIL attempts after legs ending at `legs_end_ns`."""
        n = self.retry_window_ns // self.retry_interval_ns
        return [legs_end_ns + k * self.retry_interval_ns for k in range(n + 1)]


def fractions(net_filled: Sequence[Decimal], sizes: Sequence[Decimal]) -> list[Decimal]:
    """Filled fraction of each leg (native net filled / native size)."""
    return [f / s for f, s in zip(net_filled, sizes, strict=True)]


def excess(net_filled: Sequence[Decimal], sizes: Sequence[Decimal]) -> list[Decimal]:
    """Native quantity of each leg above the least-filled fraction (what an unwind closes)."""
    low = min(fractions(net_filled, sizes))
    return [max(ZERO, f - low * s) for f, s in zip(net_filled, sizes, strict=True)]


def shortfall(net_filled: Sequence[Decimal], sizes: Sequence[Decimal]) -> list[Decimal]:
    """Native quantity each leg misses to reach the most-filled fraction (what a hedge takes)."""
    high = max(fractions(net_filled, sizes))
    return [max(ZERO, high * s - f) for f, s in zip(net_filled, sizes, strict=True)]


def balanced(net_filled: Sequence[Decimal], sizes: Sequence[Decimal]) -> bool:
    """Every leg filled the same fraction of its size."""
    return len(set(fractions(net_filled, sizes))) <= 1
