"""The live producer: venue adapters -> md.* streams (PAPER, SHADOW and LIVE modes).

Each adapter runs in its own task: its markets metadata is published to `md.instruments` at
start (and again whenever it changes), then its stream of events is published in pipelined
batches; a `BadMessage` goes to the dead-letter stream with the venue's payload and the reason.
An adapter that fails is restarted with backoff; the others keep flowing.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from libs.common.bus import Output, Publisher, dead_letter_fields, maxlen_for
from libs.common.events import (
    BarClosed,
    BinaryAssetsUpdated,
    BookGapDetected,
    Event,
    InstrumentsUpdated,
    OrderBookUpdated,
    PoolStateUpdated,
    QuoteTick,
)
from libs.common.streams import DLQ, MD_BARS, MD_BOOKS, MD_INSTRUMENTS, MD_POOLS, MD_QUOTES
from services.intake.adapters.base import BadMessage, VenueAdapter

logger = logging.getLogger(__name__)

STREAM_OF: dict[type[Event], str] = {
    OrderBookUpdated: MD_BOOKS, BookGapDetected: MD_BOOKS, BarClosed: MD_BARS,
    QuoteTick: MD_QUOTES, PoolStateUpdated: MD_POOLS, InstrumentsUpdated: MD_INSTRUMENTS,
    BinaryAssetsUpdated: MD_INSTRUMENTS,
}


def stream_for(event: Event) -> str:
    try:
        return STREAM_OF[type(event)]
    except KeyError:
        raise TypeError(f"intake does not publish {event.kind}") from None


class LiveFeed:
    """Runs adapters until stopped; `health()` reports each one's counters."""

    def __init__(self, adapters: Sequence[tuple[VenueAdapter, list[str]]],
                 batch: int = 100, flush_interval_s: float = 0.05,
                 metadata_interval_s: float = 300.0) -> None:
        self.adapters = list(adapters)
        self.metadata_interval_s = metadata_interval_s
        self.batch = batch
        self.flush_interval_s = flush_interval_s
        self.published = 0
        self.errors: dict[str, str] = {}

    def health(self) -> dict[str, Any]:
        return {
            "replay_done": False,
            "published": self.published,
            "venues": {a.venue: {**vars(a.stats), "error": self.errors.get(a.venue, "")}
                       for a, _ in self.adapters},
        }

    async def run(self, publisher: Publisher, stop: asyncio.Event) -> None:
        await asyncio.gather(*(self._run_one(a, ids, publisher, stop)
                               for a, ids in self.adapters))

    async def _run_one(self, adapter: VenueAdapter, ids: list[str], publisher: Publisher,
                       stop: asyncio.Event) -> None:
        delay = 1.0
        while not stop.is_set():
            try:
                await adapter.start()
                await publisher.publish(MD_INSTRUMENTS, await adapter.instruments())
                self.published += 1
                await self._pump(adapter, ids, publisher, stop)
                delay = 1.0
            except asyncio.CancelledError:
                raise
            except Exception as e:  # keep the other venues flowing; retry this one
                self.errors[adapter.venue] = f"{type(e).__name__}: {e}"
                logger.warning("%s feed failed (%s); restarting in %.0f s", adapter.venue,
                               self.errors[adapter.venue], delay)
                try:
                    await asyncio.wait_for(stop.wait(), delay)
                except TimeoutError:
                    pass
                delay = min(delay * 2, 60.0)
            finally:
                await adapter.close()

    async def _pump(self, adapter: VenueAdapter, ids: list[str], publisher: Publisher,
                    stop: asyncio.Event) -> None:
        """Buffer the adapter's events and publish them in pipelined batches: when a batch is
        full, and every `flush_interval_s` whatever the rate, so a quiet venue never waits."""
        batch: list[Output] = []

        async def flush() -> None:
            if batch:
                out = batch[:]
                batch.clear()
                await publisher.publish_many(out)
                self.published += len(out)

        async def ticker() -> None:
            while True:
                await asyncio.sleep(self.flush_interval_s)
                await flush()

        async def metadata() -> None:
            # Markets metadata again whenever it changed (adapters that can tell).
            changed = getattr(adapter, "instruments_if_changed", None)
            if changed is None:
                return
            while True:
                await asyncio.sleep(self.metadata_interval_s)
                info = await changed()
                if info is not None:
                    batch.append((MD_INSTRUMENTS, info))

        flusher = asyncio.create_task(ticker())
        watcher = asyncio.create_task(metadata())
        try:
            async for item in adapter.stream(ids):
                if isinstance(item, BadMessage):
                    await publisher.redis.xadd(
                        DLQ, dead_letter_fields(f"venue:{item.venue}", "-", "intake",
                                                item.payload.encode(), item.reason),
                        maxlen=maxlen_for(DLQ), approximate=True)
                    continue
                batch.append((stream_for(item), item))
                if len(batch) >= self.batch:
                    await flush()
                if stop.is_set():
                    break
        finally:
            flusher.cancel()
            watcher.cancel()
            await flush()
