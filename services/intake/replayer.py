"""The replay producer: recorded files -> exact books and bars -> md.* streams.

Each dataset (the Binance capture, the FXCM bars) is replayed on its own timeline, paced from
its own first event, because they are years apart. Outputs are published in pipelined
batches; a bad line goes to the dead-letter stream with `file:line: reason`, and the replay
goes on.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

from libs.common.bus import Output, Publisher, dead_letter_fields, maxlen_for
from libs.common.clock import LiveClock
from libs.common.events import BarClosed, BookGapDetected, OrderBookUpdated, TradeTick
from libs.common.streams import DLQ, MD_BARS, MD_BOOKS, MD_TRADES
from services.intake.adapters.recorded import recorded_sources
from services.intake.config import IntakeSettings
from services.intake.domain.instruments import BINANCE_INSTRUMENTS, FXCM_GBPUSD, InstrumentSpec
from services.intake.domain.pipeline import IntakePipeline, replay_key
from services.intake.domain.records import BadLine
from services.intake.domain.replay import merge_ordered, pacing_delay

logger = logging.getLogger(__name__)

DATASETS: dict[str, tuple[InstrumentSpec, ...]] = {
    "binance": tuple(BINANCE_INSTRUMENTS),
    "fxcm": (FXCM_GBPUSD,),
}


def stream_for(out: OrderBookUpdated | BookGapDetected | BarClosed | TradeTick) -> str:
    """The md.* stream an intake output is published on."""
    if isinstance(out, BarClosed):
        return MD_BARS
    if isinstance(out, TradeTick):
        return MD_TRADES
    return MD_BOOKS


class Replayer:
    def __init__(self, settings: IntakeSettings) -> None:
        unknown = set(settings.intake_datasets) - set(DATASETS)
        if unknown:
            raise ValueError(f"unknown datasets {sorted(unknown)}; known: {sorted(DATASETS)}")
        self.settings = settings
        self.clock = LiveClock()
        self.pipelines = {name: IntakePipeline(self.clock, DATASETS[name],
                                               depth=settings.intake_depth)
                          for name in settings.intake_datasets}
        self.done: dict[str, bool] = {name: False for name in self.pipelines}
        self.bad_lines = 0

    @property
    def published(self) -> int:
        return sum(p.published for p in self.pipelines.values())

    @property
    def replay_done(self) -> bool:
        return all(self.done.values())

    def health(self) -> dict[str, Any]:
        return {
            "replay_done": self.replay_done,
            "published": self.published,
            "bad_lines": self.bad_lines,
            "speed": self.settings.intake_speed,
            "datasets": {name: {"done": self.done[name],
                                "sources": {k: v.as_dict() for k, v in p.stats.items()}}
                         for name, p in self.pipelines.items()},
        }

    async def run(self, publisher: Publisher, stop: asyncio.Event) -> None:
        await asyncio.gather(*(self._run_one(name, publisher, stop) for name in self.pipelines))
        logger.info("replay finished: %d events published, %d bad lines", self.published,
                    self.bad_lines)

    async def _run_one(self, name: str, publisher: Publisher, stop: asyncio.Event) -> None:
        s = self.settings
        pipeline = self.pipelines[name]
        sources = recorded_sources(s.intake_data_dir, clock=self.clock, specs=DATASETS[name])
        batch: list[Output] = []
        first_ts: int | None = None
        start_wall = time.time_ns()
        limit = s.intake_max_events
        for out in pipeline.run(merge_ordered(sources, replay_key)):
            if stop.is_set():
                return
            if isinstance(out, BadLine):
                self.bad_lines += 1
                await self._flush(publisher, batch)
                await publisher.redis.xadd(
                    DLQ, dead_letter_fields(out.source, str(out.line_no), "intake",
                                            out.text.encode(), out.describe()),
                    maxlen=maxlen_for(DLQ), approximate=True)
                continue
            if s.intake_speed > 0:
                if first_ts is None:
                    first_ts, start_wall = out.ts_event, time.time_ns()
                delay = pacing_delay(s.intake_speed, first_ts, start_wall, out.ts_event,
                                     time.time_ns())
                if delay > 0:
                    await self._flush(publisher, batch)
                    await asyncio.sleep(delay)
            assert isinstance(out, OrderBookUpdated | BookGapDetected | BarClosed | TradeTick)
            batch.append((stream_for(out), out))
            if len(batch) >= s.intake_publish_batch:
                await self._flush(publisher, batch)
            if limit and pipeline.published >= limit:
                break
        await self._flush(publisher, batch)
        marker = pipeline.finished(name)
        # Binance ends both its streams: execution closes book orders on md.books and resting
        # limit orders once the tape (md.trades) is over too.
        streams: Sequence[str] = (MD_BARS,) if name == "fxcm" else (MD_BOOKS, MD_TRADES)
        await publisher.publish_many([(st, marker) for st in streams])
        self.done[name] = True
        logger.info("dataset %s replayed: %d events", name, pipeline.published)

    @staticmethod
    async def _flush(publisher: Publisher, batch: list[Output]) -> None:
        if batch:
            await publisher.publish_many(batch)
            batch.clear()
