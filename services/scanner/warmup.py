"""Warm start: a restarted scanner rebuilds its books, throttle and indicator state from the
entries its group already handled, so it finds the same opportunities a scanner that never
died would have found (tests/chaos found the gap this closes).

Only the recent past matters: each book event is a full top-N snapshot, the emit throttle
looks back `min_interval` (1 s), and the forex indicators need their warm-up bars. Outputs of
the warm-up are discarded: they were published by the scanner that handled those entries.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis

from libs.common.bus import FIELD, NO_POSITION, group_position, pending_entries
from libs.common.errors import ValidationFailed
from libs.common.events import BarClosed, Event, InstrumentsUpdated, OrderBookUpdated, decode
from libs.common.streams import MD_BARS, MD_BOOKS, MD_INSTRUMENTS
from services.scanner.handlers import Scanners

logger = logging.getLogger(__name__)


async def _handled(redis: Redis, stream: str, group: str, count: int,
                   keep: Callable[[Event, Event | None], bool]) -> list[Event]:
    """Up to `count` events the group has handled (given and acked), oldest first, taken
    newest first while `keep` holds."""
    last = await group_position(redis, stream, group)
    if last == NO_POSITION:
        return []
    # Entries delivered but never acked are handled again (claimed) after the restart, with
    # their outputs published then: replaying them here would throttle those outputs away.
    pending = {entry_id.encode() for entry_id, _ in await pending_entries(redis, stream, group)}
    out: list[Event] = []
    newest: Event | None = None
    for entry_id, fields in await redis.xrevrange(stream, max=last, count=count):
        if entry_id in pending:
            continue
        try:
            event = decode(fields[FIELD])
        except (ValidationFailed, KeyError):
            continue
        if not keep(event, newest):
            break
        newest = newest or event
        out.append(event)
    out.reverse()
    return out


def make_warm_up(scanners: Scanners, stats: dict[str, Any], group: str = "scanner",
                 window_ns: int = 5_000_000_000, max_books: int = 5_000,
                 max_bars: int = 500) -> Callable[[Redis], Any]:
    async def warm_up(redis: Redis) -> None:
        meta = await _handled(redis, MD_INSTRUMENTS, group, 1_000, lambda e, n: True)
        for e in meta:
            if isinstance(e, InstrumentsUpdated):
                scanners.arb.on_instruments(e)
                scanners.cycles.on_instruments(e)
        books = await _handled(
            redis, MD_BOOKS, group, max_books,
            lambda e, n: n is None or n.ts_event - e.ts_event <= window_ns)
        for e in books:
            if isinstance(e, OrderBookUpdated):
                try:
                    scanners.arb.on_book(e)
                    scanners.cycles.on_book(e)
                except ValidationFailed:
                    pass  # dead-lettered when it was first handled
        bars = await _handled(redis, MD_BARS, group, max_bars, lambda e, n: True)
        for e in bars:
            if isinstance(e, BarClosed):
                scanners.fx.on_bar(e)
                if scanners.fib is not None:
                    scanners.fib.on_bar(e)
        stats.update(instruments=len(meta), books=len(books), bars=len(bars))
        if books or bars:
            logger.info("warm start: %d books, %d bars, %d metadata events replayed",
                        len(books), len(bars), len(meta))

    return warm_up
