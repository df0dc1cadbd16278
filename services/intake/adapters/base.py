"""The contract every venue adapter meets (crypto exchanges, MT5, binary options, DEX pools).

An adapter is the only code that talks to a venue. It turns the venue's payloads into our
events at the edge (venue ms -> ns, venue symbols -> instrument ids, strings -> Decimal) and
sorts the venue's errors into `libs.common.errors` (TemporaryError, RateLimited,
OperationalError, ConfigurationError). The same class runs live and in the tests, where it is
pointed at a local server that speaks the venue's real protocol with recorded payloads.

`tests/integration/adapters/contract.py` is the shared contract suite every adapter passes.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from libs.common.events import Event, InstrumentsUpdated


@dataclass
class AdapterStats:
    """Counters an adapter keeps; intake exports them in /health and /metrics."""

    messages: int = 0  # venue messages received
    events: int = 0  # events produced
    bad_messages: int = 0  # payloads that failed validation (dead-lettered by the caller)
    resyncs: int = 0  # book rebuilt after a gap or a checksum failure
    gaps: int = 0
    checksum_failures: int = 0
    reconnects: int = 0
    rate_limited: int = 0
    extra: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class BadMessage:
    """A venue payload that could not be used: the caller dead-letters it with `reason`."""

    venue: str
    reason: str
    payload: str


@runtime_checkable
class VenueAdapter(Protocol):
    """What intake needs from a venue.

    - `venue`: our venue name (`BINANCE`, `KRAKEN`, `MT5`, `POCKET_OPTION`, `DEX_ARBITRUM`...).
    - `start()`: connect and authenticate where needed; idempotent.
    - `instruments()`: the venue's markets metadata as one event (published on change).
    - `stream(instrument_ids)`: market-data events (books, quotes, bars, pools...) and
      `BadMessage`s, until `close()`; reconnects with backoff on its own.
    - `close()`: release connections; idempotent.
    """

    venue: str
    stats: AdapterStats

    async def start(self) -> None: ...

    async def instruments(self) -> InstrumentsUpdated: ...

    def stream(self, instrument_ids: list[str]) -> AsyncIterator[Event | BadMessage]: ...

    async def close(self) -> None: ...
