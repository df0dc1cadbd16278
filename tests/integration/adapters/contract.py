"""The contract suite every venue adapter passes against its local protocol server.

Use: subclass `AdapterContract` in `tests/integration/adapters/test_<venue>.py` and provide
two fixtures, `adapter` (a started adapter pointed at the local server, closed afterwards) and
`contract` (a `ContractCase`: which instruments to stream, how many events at least, which
event kinds are expected). Venue-specific tests go beside it in the same module.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal

import pytest

from libs.common.events import (
    Event,
    InstrumentsUpdated,
    OrderBookUpdated,
    QuoteTick,
    decode,
    encode,
)
from services.intake.adapters.base import BadMessage, VenueAdapter


@dataclass(frozen=True)
class ContractCase:
    instrument_ids: list[str]
    min_events: int
    kinds: frozenset[str]  # event kinds the stream must produce
    timeout_s: float = 20.0


async def take(adapter: VenueAdapter, case: ContractCase) -> tuple[list[Event], list[BadMessage]]:
    events: list[Event] = []
    bad: list[BadMessage] = []

    async def collect() -> None:
        async for item in adapter.stream(case.instrument_ids):
            if isinstance(item, BadMessage):
                bad.append(item)
            else:
                events.append(item)
            if len(events) >= case.min_events and case.kinds <= {e.kind for e in events}:
                return

    await asyncio.wait_for(collect(), case.timeout_s)
    return events, bad


class AdapterContract:
    """Shared tests; every adapter module subclasses this."""

    async def test_is_a_venue_adapter(self, adapter: VenueAdapter) -> None:
        assert isinstance(adapter, VenueAdapter)
        assert adapter.venue and adapter.venue == adapter.venue.upper()

    async def test_instruments_are_valid_and_name_the_venue(self, adapter: VenueAdapter,
                                                           contract: ContractCase) -> None:
        info = await adapter.instruments()
        assert isinstance(info, InstrumentsUpdated)
        assert info.venue == adapter.venue
        ids = {i.instrument_id for i in info.instruments}
        assert set(contract.instrument_ids) <= ids
        for i in info.instruments:
            assert i.instrument_id.endswith(f".{adapter.venue}") or "." in i.instrument_id
            for value in (i.tick_size, i.lot_size, i.min_notional):
                assert value is None or value > 0

    async def test_stream_yields_valid_events_that_round_trip(self, adapter: VenueAdapter,
                                                             contract: ContractCase) -> None:
        events, bad = await take(adapter, contract)
        assert len(events) >= contract.min_events
        assert contract.kinds <= {e.kind for e in events}
        for e in events:
            assert decode(encode(e)) == e
            assert e.ts_event > 1_000_000_000 * 10**9  # ns since epoch, after 2001
        assert adapter.stats.events >= len(events)
        assert all(b.reason for b in bad)

    async def test_books_and_quotes_are_sane(self, adapter: VenueAdapter,
                                            contract: ContractCase) -> None:
        events, _ = await take(adapter, contract)
        last_ts: dict[str, int] = {}
        for e in events:
            if isinstance(e, OrderBookUpdated):
                prices = [p for p, _ in e.bids]
                assert prices == sorted(prices, reverse=True)
                assert [p for p, _ in e.asks] == sorted(p for p, _ in e.asks)
                if e.bids and e.asks:
                    assert e.bids[0][0] < e.asks[0][0], e.instrument_id
                assert all(s > 0 for _, s in e.bids + e.asks)
            if isinstance(e, QuoteTick):
                assert e.bid > Decimal(0) and e.ask > Decimal(0)
            iid = getattr(e, "instrument_id", None)
            if iid:
                assert e.ts_event >= last_ts.get(iid, 0), iid
                last_ts[iid] = e.ts_event

    async def test_close_is_idempotent(self, adapter: VenueAdapter) -> None:
        await adapter.close()
        await adapter.close()


__all__ = ["AdapterContract", "ContractCase", "pytest", "take"]
