"""OMS crash and restart against a real Redis: nothing lost, nothing doubled.

The scripted inputs (tests/unit/oms/scenario.py) are published to the OMS's input streams; a
first OMS instance handles about half of them through the real bus consumer and "crashes" in the
middle of a batch (its task is cancelled while the batch is handled in memory, before the
commit: those entries stay pending under its consumer name). A second instance, with a new
consumer name, rebuilds from the snapshot and the streams, takes over the pending entries and
finishes. Its state and everything published must equal one clean run of the same inputs.
"""
from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from decimal import Decimal

import pytest
from redis.asyncio import Redis

from libs.common.bus import FIELD, Handler, Output, Publisher, ensure_groups, group_backlog
from libs.common.clock import TestClock
from libs.common.enums import CloseCause, Engine, OrderStatus
from libs.common.events import (
    Event,
    OrderIntentApproved,
    PositionUpdated,
    TradeClosed,
    decode,
)
from libs.common.metrics import BusMetrics
from libs.common.streams import DLQ
from libs.common.testing import eventually
from services.oms.domain.oms import Oms
from services.oms.handlers import make_handler
from services.oms.recovery import OmsConsumer, RebuildReport, rebuild
from tests.unit.oms.factories import closed, filled, intent, submitted
from tests.unit.oms.scenario import script

pytestmark = pytest.mark.integration

GROUP = "oms"
# With batches of 2 per stream and a snapshot every 5 handled events, the first instance
# snapshots after its 2nd batch, acks two more batches (replayed on restart) and dies on its 13th
# handler call, in the batch holding the forex entry fill: that fill's PositionUpdated must
# still be published exactly once (a rebuild that replayed pending entries would lose it).
CRASH_AT = 13


class Topology:
    """Per-test stream names, so tests sharing one Redis never meet."""

    def __init__(self, uid: str) -> None:
        self.intents, self.reports = f"orders.intents-{uid}", f"orders.reports-{uid}"
        self.bars = f"md.bars-{uid}"
        self.trades, self.positions = f"oms.trades-{uid}", f"oms.positions-{uid}"
        self.snapshot_key = f"oms:snapshot:{uid}"
        self.streams = (self.intents, self.reports, self.bars)


def new_oms() -> Oms:
    return Oms(TestClock(1), dust={Engine.ARBITRAGE: Decimal("0.00001")})


def clean_run() -> tuple[Oms, list[Event]]:
    oms, out = new_oms(), []
    for e in script():
        out += (oms.on_intent(e) if isinstance(e, OrderIntentApproved)
                else oms.on_report(e).events)  # type: ignore[arg-type]
    return oms, out


async def publish_script(redis: Redis, t: Topology) -> None:
    await ensure_groups(redis, {GROUP: t.streams})
    pub = Publisher(redis, "test")
    for e in script():
        await pub.publish(t.intents if isinstance(e, OrderIntentApproved) else t.reports, e)


def consumer(redis: Redis, t: Topology, oms: Oms, name: str, handler: Handler | None = None,
             snapshot_every: int = 5) -> OmsConsumer:
    metrics = BusMetrics(GROUP)
    return OmsConsumer(
        redis, group=GROUP, consumer=name, streams=t.streams,
        handler=handler or make_handler(oms, trades_stream=t.trades,
                                        positions_stream=t.positions),
        publisher=Publisher(redis, GROUP, metrics), metrics=metrics, batch_size=2, block_ms=20,
        claim_idle_ms=60_000, oms=oms, snapshot_key=t.snapshot_key,
        snapshot_every=snapshot_every)


async def start(redis: Redis, t: Topology, name: str) -> tuple[Oms, RebuildReport]:
    oms = new_oms()
    report = await rebuild(redis, oms, group=GROUP, consumer=name, streams=t.streams,
                           replay_streams=(t.intents, t.reports), snapshot_key=t.snapshot_key)
    return oms, report


async def run_to_the_end(redis: Redis, t: Topology, c: OmsConsumer) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(c.run(stop))

    async def drained() -> bool:
        for s in t.streams:
            assert await group_backlog(redis, s, GROUP) == (0, 0)
        return True

    try:
        await eventually(drained, 10)
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


async def crash_midway(redis: Redis, t: Topology) -> Oms:
    """Run a first instance until its CRASH_AT-th handler call, then kill it there."""
    oms, _ = await start(redis, t, "oms-a")
    inner = make_handler(oms, trades_stream=t.trades, positions_stream=t.positions)
    calls, dying = 0, asyncio.Event()

    async def handler(stream: str, event: Event) -> Sequence[Output]:
        nonlocal calls
        calls += 1
        if calls == CRASH_AT:
            dying.set()
            await asyncio.Event().wait()  # the process dies here, mid-batch
        return await inner(stream, event)

    task = asyncio.create_task(consumer(redis, t, oms, "oms-a", handler).run(asyncio.Event()))
    await asyncio.wait_for(dying.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return oms


async def published(redis: Redis, stream: str) -> list[Event]:
    return [decode(f[FIELD]) for _id, f in await redis.xrange(stream)]


def essence(e: Event) -> dict[str, object]:
    """An output without its creation time (the only field a rerun may change)."""
    return e.model_dump(mode="json", exclude={"ts_init"})


async def test_a_crash_mid_batch_then_restart_equals_one_clean_run(redis: Redis,
                                                                   uid: str) -> None:
    t = Topology(uid)
    await publish_script(redis, t)
    await crash_midway(redis, t)
    pending = {s: (await group_backlog(redis, s, GROUP))[1] for s in t.streams}
    assert sum(pending.values()) > 0  # the batch it died in was never acked

    oms, report = await start(redis, t, "oms-b")
    assert report.snapshot_used and report.snapshot_problem == ""
    assert report.replayed > 0  # entries acked after the snapshot were replayed
    assert report.claimed == sum(pending.values())  # the dead consumer's batch is ours now
    await run_to_the_end(redis, t, consumer(redis, t, oms, "oms-b"))

    reference, expected = clean_run()
    assert oms.to_state() == reference.to_state()
    assert oms.totals() == reference.totals()

    trades = await published(redis, t.trades)
    positions = await published(redis, t.positions)
    for events in (trades, positions):
        ids = [e.event_id for e in events]
        assert len(ids) == len(set(ids))  # nothing published twice
    assert sorted(map(essence, trades + positions), key=lambda d: d["event_id"]) == sorted(
        map(essence, expected), key=lambda d: d["event_id"])
    # arbitrage: 501 - 500.06 - 0.75 fees; TP: 1000 x 0.01 - 0.1; SL: 2000 x -0.0052 - 0.2
    assert [(e.cause, e.realized_pnl) for e in trades if isinstance(e, TradeClosed)] == [
        (CloseCause.HEDGED, Decimal("0.19")), (CloseCause.TAKE_PROFIT, Decimal("9.9")),
        (CloseCause.STOP_LOSS, Decimal("-10.6"))]
    assert all(isinstance(e, PositionUpdated) for e in positions)
    dead = [json.loads(f[FIELD]) for _i, f in await redis.xrange(DLQ)]
    assert [d for d in dead if d["stream"] in t.streams] == []

    # A corrupt snapshot is ignored: a full replay of the (now all acked) streams gives the same.
    await redis.set(t.snapshot_key, b"\x00garbage")
    again, report = await start(redis, t, "oms-c")
    assert (report.snapshot_used, report.claimed) == (False, 0)
    assert report.snapshot_problem.startswith("not JSON")
    assert report.replayed == len(script())
    assert again.to_state() == reference.to_state()


async def test_an_illegal_transition_is_dead_lettered_with_its_reason(redis: Redis,
                                                                      uid: str) -> None:
    t = Topology(uid)
    await ensure_groups(redis, {GROUP: t.streams})
    pub = Publisher(redis, "test")
    await pub.publish(t.intents, intent())
    for e in (submitted("ord-1"), closed("ord-1", status=OrderStatus.CANCELLED),
              filled("ord-1")):
        await pub.publish(t.reports, e)
    oms, _ = await start(redis, t, "oms-a")
    await run_to_the_end(redis, t, consumer(redis, t, oms, "oms-a"))
    dead = [json.loads(f[FIELD]) for _i, f in await redis.xrange(DLQ)]
    (letter,) = [d for d in dead if d["stream"] == t.reports]
    assert "IllegalOrderTransition" in letter["reason"]
    assert "CANCELLED" in letter["reason"] and "FILL_FULL" in letter["reason"]
    assert oms.order_status("ord-1") is OrderStatus.CANCELLED
    assert oms.open_positions() == []
