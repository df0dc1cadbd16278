"""Learning restart against a real Redis: a second instance rebuilds the ledger, the statistics
and the policy version from the input streams, and the version keeps rising.

The scripted trail (tests/unit/learning/scenario.py) is published to per-test copies of
learning's input streams; instance A consumes the first part (up to the arbitrage trade) and
stops; the rest is published; instance B, with a new consumer name, rebuilds and consumes it.
"""
from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from redis.asyncio import Redis

from libs.common.bus import (
    FIELD,
    Consumer,
    Handler,
    Output,
    Publisher,
    ensure_groups,
    group_backlog,
)
from libs.common.events import (
    ArbitrageOpportunityDetected,
    Event,
    ForexSignalDetected,
    OrderDenied,
    OrderIntentApproved,
    PolicyUpdated,
    TradeClosed,
    decode,
)
from libs.common.metrics import BusMetrics
from libs.common.testing import eventually
from services.learning.domain.learner import Learner, LearnerConfig
from services.learning.domain.ledger import Ledger
from services.learning.domain.stats import strategy_stats
from services.learning.handlers import make_handler
from services.learning.recovery import RebuildReport, rebuild
from tests.unit.learning.scenario import script

pytestmark = pytest.mark.integration

GROUP = "learning"
SPLIT = 9  # script()[:9] ends with the denial of opp-b, after trade trd-a


class Topology:
    def __init__(self, uid: str) -> None:
        self.opps, self.intents = f"opportunities-{uid}", f"orders.intents-{uid}"
        self.rejected, self.reports = f"decisions.rejected-{uid}", f"orders.reports-{uid}"
        self.trades, self.policies = f"oms.trades-{uid}", f"learning.policies-{uid}"
        self.streams = (self.trades, self.rejected, self.opps, self.intents, self.reports)

    def stream_of(self, e: Event) -> str:
        if isinstance(e, ArbitrageOpportunityDetected | ForexSignalDetected):
            return self.opps
        if isinstance(e, OrderIntentApproved):
            return self.intents
        if isinstance(e, OrderDenied):
            return self.rejected
        if isinstance(e, TradeClosed):
            return self.trades
        return self.reports


class Instance:
    def __init__(self, redis: Redis, t: Topology, name: str) -> None:
        self.redis, self.t, self.name = redis, t, name
        self.learner, self.ledger = Learner(LearnerConfig(min_trades=1)), Ledger()

    async def start(self) -> RebuildReport:
        return await rebuild(self.redis, self.learner, self.ledger, group=GROUP,
                             streams=self.t.streams, policies=self.t.policies)

    def consumer(self, handler: Handler | None = None) -> Consumer:
        metrics = BusMetrics(GROUP)
        return Consumer(
            self.redis, group=GROUP, consumer=self.name, streams=self.t.streams,
            handler=handler or make_handler(self.learner, self.ledger, self.t.policies),
            publisher=Publisher(self.redis, GROUP, metrics), metrics=metrics, batch_size=3,
            block_ms=20, claim_idle_ms=100, claim_interval_ms=50)

    async def consume_all(self) -> None:
        c = self.consumer()
        stop = asyncio.Event()
        task = asyncio.create_task(c.run(stop))

        async def drained() -> bool:
            for s in self.t.streams:
                assert await group_backlog(self.redis, s, GROUP) == (0, 0)
            return True

        try:
            await eventually(drained, 10)
        finally:
            stop.set()
            await asyncio.wait_for(task, 5)

    def stats(self) -> dict:
        fills = [f for c in self.ledger.chains.values() for f in c.fills.values()]
        return strategy_stats(self.ledger.trades.values(), fills, self.ledger.rows())


async def publish(redis: Redis, t: Topology, events: list[Event]) -> None:
    pub = Publisher(redis, "test")
    for e in events:
        await pub.publish(t.stream_of(e), e)


async def test_restart_rebuilds_ledger_and_stats_and_policy_version_keeps_rising(
        redis: Redis, uid: str) -> None:
    t, events = Topology(uid), script()
    await ensure_groups(redis, {GROUP: t.streams})
    await publish(redis, t, events[:SPLIT])
    a = Instance(redis, t, "learning-a")
    assert (await a.start()).replayed == 0
    await a.consume_all()
    assert a.learner.version == 1
    await publish(redis, t, events[SPLIT:])

    b = Instance(redis, t, "learning-b")
    report = await b.start()
    assert (report.replayed, report.resumed_version) == (SPLIT, 1)
    assert b.ledger.rows() == a.ledger.rows() and b.stats() == a.stats()
    await b.consume_all()

    policies = [decode(f[FIELD]) for _id, f in await redis.xrange(t.policies)]
    assert all(isinstance(p, PolicyUpdated) for p in policies)
    assert [p.version for p in policies] == [1, 2]
    clean = Instance(redis, t, "unused")
    for e in events:
        clean.ledger.on_event(e)
    assert b.ledger.rows() == clean.ledger.rows() and b.stats() == clean.stats()
    assert b.stats()["ARBITRAGE:cross_venue_2leg"]["trades"] == 1


async def test_restart_resumes_version_from_published_policies_when_trades_are_trimmed(
        redis: Redis, uid: str) -> None:
    t = Topology(uid)
    await ensure_groups(redis, {GROUP: t.streams})
    await Publisher(redis, "test").publish(t.policies, PolicyUpdated(
        ts_event=1, version=41, engine="FOREX", strategy="fx_rsi_reversion", enabled=True,
        size_multiplier=1, trades=41, wins=20, mean_pnl=0, ewma_pnl=0, total_pnl=0,
        reason="earlier"))
    events = script()
    await publish(redis, t, events)
    b = Instance(redis, t, "learning-b")
    assert (await b.start()).replayed == 0
    await b.consume_all()
    policies = [decode(f[FIELD]) for _id, f in await redis.xrange(t.policies)]
    assert [p.version for p in policies] == [41, 42, 43]


async def test_entries_pending_when_an_instance_died_are_handled_once_not_replayed(
        redis: Redis, uid: str) -> None:
    t, events = Topology(uid), script()
    await ensure_groups(redis, {GROUP: t.streams})
    await publish(redis, t, events)
    a = Instance(redis, t, "learning-a")
    await a.start()
    inner = make_handler(a.learner, a.ledger, t.policies)
    calls, dying = 0, asyncio.Event()

    async def handler(stream: str, event: Event) -> Sequence[Output]:
        nonlocal calls
        calls += 1
        if calls == 8:  # mid-batch: this batch's entries stay pending under learning-a
            dying.set()
            await asyncio.Event().wait()
        return await inner(stream, event)

    task = asyncio.create_task(a.consumer(handler).run(asyncio.Event()))
    await asyncio.wait_for(dying.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    b = Instance(redis, t, "learning-b")
    report = await b.start()
    assert report.skipped_pending > 0
    await b.consume_all()  # claims learning-a's pending entries after their idle time
    clean = Instance(redis, t, "unused")
    for e in events:
        clean.ledger.on_event(e)
    assert b.ledger.rows() == clean.ledger.rows()
    policies = [decode(f[FIELD]) for _id, f in await redis.xrange(t.policies)]
    assert sorted(p.version for p in policies) == [1, 2]
    assert sorted(p.strategy for p in policies) == ["cross_venue_2leg", "fx_rsi_reversion"]
