"""intake's live producer against a real Redis, with a hand-written adapter."""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from libs.common.bus import FIELD, Publisher
from libs.common.events import Event, InstrumentsUpdated, decode
from libs.common.testing import eventually
from libs.common.testing.factories import book, instruments, quote
from services.intake.adapters.base import AdapterStats, BadMessage, VenueAdapter
from services.intake.live import LiveFeed

pytestmark = pytest.mark.integration


class ScriptedAdapter:
    """Plays a fixed script of events; fails once mid-stream if told to."""

    def __init__(self, script: list[Event | BadMessage], fail_after: int | None = None) -> None:
        self.venue = "SCRIPTED"
        self.stats = AdapterStats()
        self.script = script
        self.fail_after = fail_after
        self.starts = 0
        self.closed = 0

    async def start(self) -> None:
        self.starts += 1

    async def instruments(self) -> InstrumentsUpdated:
        return instruments(venue=self.venue)

    async def stream(self, instrument_ids: list[str]) -> AsyncIterator[Event | BadMessage]:
        for n, item in enumerate(self.script):
            if self.fail_after is not None and n == self.fail_after and self.starts == 1:
                raise ConnectionError("venue dropped the socket")
            self.stats.events += 1
            yield item
        await asyncio.Event().wait()  # a live feed does not end by itself

    async def close(self) -> None:
        self.closed += 1


async def _stream_kinds(redis: Redis, stream: str) -> list[str]:
    return [decode(f[FIELD]).kind for _, f in await redis.xrange(stream)]


async def test_live_feed_publishes_metadata_events_and_dead_letters_bad_payloads(
        redis: Redis) -> None:
    await redis.flushdb()
    script: list[Event | BadMessage] = [
        quote(), book(), BadMessage("SCRIPTED", "bid is not a number", '{"b": "x"}'), quote()]
    adapter = ScriptedAdapter(script, fail_after=2)
    assert isinstance(adapter, VenueAdapter)
    feed = LiveFeed([(adapter, ["USD/JPY.TRUEFX"])], flush_interval_s=0.01)
    stop = asyncio.Event()
    task = asyncio.create_task(feed.run(Publisher(redis, "intake"), stop))

    async def all_there() -> bool:
        return len(await _stream_kinds(redis, "md.quotes")) >= 3

    try:
        await eventually(all_there, timeout=10)
    finally:
        stop.set()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    # the first session died after two items and was restarted: metadata published twice
    assert await _stream_kinds(redis, "md.instruments") == ["md.instruments"] * 2
    assert (await _stream_kinds(redis, "md.books")) == ["md.book"] * 2
    dead = [json.loads(f[FIELD]) for _, f in await redis.xrange("dlq")]
    assert [d["reason"] for d in dead] == ["bid is not a number"]
    assert dead[0]["stream"] == "venue:SCRIPTED"
    assert adapter.starts == 2 and adapter.closed >= 1
    assert "ConnectionError" in feed.health()["venues"]["SCRIPTED"]["error"]
