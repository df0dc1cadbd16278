"""Decision risk state shared by replicas through a real Redis: the last exposure slot goes
to exactly one replica, losses and the kill switch seen by one replica bind the others, and
the kill switch takes effect from the `control` stream within the measured latency."""
from __future__ import annotations

import asyncio
import time
from decimal import Decimal as D

import pytest
from redis.asyncio import Redis

from libs.common.bus import FIELD, Consumer, Publisher
from libs.common.enums import DenialReason, Mode
from libs.common.events import (
    KillSwitchSet,
    OrderDenied,
    OrderIntentApproved,
    decode,
    encode,
)
from libs.common.metrics import BusMetrics
from libs.common.streams import CONTROL, DECISIONS_REJECTED, OPPORTUNITIES, SUBSCRIPTIONS
from libs.common.testing.factories import forex_signal, trade
from services.decision.adapters.control_watch import ControlWatcher
from services.decision.adapters.risk_state import RedisRiskState
from services.decision.app import build_gate
from services.decision.config import DecisionSettings
from services.decision.domain.risk import RiskGate, RiskLimits
from services.decision.handlers import make_handler

pytestmark = pytest.mark.integration

T0 = 1_700_000_000_000_000_000


def replica(redis_url: str, prefix: str, **limits: object) -> tuple[RiskGate, Redis]:
    client = Redis.from_url(redis_url)
    gate = RiskGate(RiskLimits(**limits), RedisRiskState(client, prefix))  # type: ignore[arg-type]
    return gate, client


@pytest.mark.parametrize("limit", ["exposure", "open_positions"])
async def test_two_replicas_racing_for_the_last_slot_exactly_one_is_approved(
        redis_url: str, uid: str, limit: str) -> None:
    kw: dict[str, object] = (
        {"max_asset_exposure": D("40000")} if limit == "exposure"
        else {"max_open_positions": 2})
    for round_ in range(15):  # many rounds: the race is real, so give it chances to be lost
        prefix = f"risk-{uid}-{limit}-{round_}"
        (a, ca), (b, cb) = replica(redis_url, prefix, **kw), replica(redis_url, prefix, **kw)
        # one position already open (15760 GBP): room for exactly one more 15760 entry
        first = await a.decide(forex_signal(opportunity_id=f"{prefix}-0", ts_event=T0))
        assert isinstance(first, OrderIntentApproved)
        outs = await asyncio.gather(
            a.decide(forex_signal(opportunity_id=f"{prefix}-a", ts_event=T0 + 1)),
            b.decide(forex_signal(opportunity_id=f"{prefix}-b", ts_event=T0 + 1)))
        approved = [o for o in outs if isinstance(o, OrderIntentApproved)]
        denied = [o for o in outs if isinstance(o, OrderDenied)]
        assert len(approved) == 1 and len(denied) == 1, outs
        if limit == "exposure":
            assert denied[0].reason is DenialReason.EXPOSURE
            assert denied[0].detail == "GBP exposure 31520.00 + 15760.00 > limit 40000.00"
        else:
            assert denied[0].reason is DenialReason.MAX_OPEN_POSITIONS
            assert denied[0].detail == "2 open >= 2"
        await ca.aclose()
        await cb.aclose()


async def test_losses_and_the_kill_switch_seen_by_one_replica_bind_the_other(
        redis_url: str, uid: str) -> None:
    prefix = f"risk-{uid}-shared"
    (a, ca), (b, cb) = (replica(redis_url, prefix, max_daily_loss=D("500")),
                        replica(redis_url, prefix, max_daily_loss=D("500")))
    await a.on_trade(trade(trade_id=f"{uid}-1", realized_pnl=D("-300.10"), closed_ts=T0))
    await a.on_trade(trade(trade_id=f"{uid}-2", realized_pnl=D("-212.20"), closed_ts=T0 + 1))
    await b.on_trade(trade(trade_id=f"{uid}-2", realized_pnl=D("-212.20"), closed_ts=T0 + 1))
    out = await b.decide(forex_signal(opportunity_id=f"{uid}-x", ts_event=T0 + 2))
    assert isinstance(out, OrderDenied) and out.reason is DenialReason.DAILY_LOSS
    assert out.detail == "daily loss 512.30 >= limit 500.00"
    # the next UTC day starts from zero, until the kill switch (seen by a) halts b
    next_day = T0 + 86_400 * 1_000_000_000
    assert isinstance(await b.decide(forex_signal(opportunity_id=f"{uid}-y", ts_event=next_day)),
                      OrderIntentApproved)
    await a.on_kill_switch(KillSwitchSet(ts_event=next_day, active=True))
    out = await b.decide(forex_signal(opportunity_id=f"{uid}-z", ts_event=next_day + 1))
    assert isinstance(out, OrderDenied) and out.reason is DenialReason.KILL_SWITCH
    await ca.aclose()
    await cb.aclose()


async def test_kill_switch_on_control_takes_effect_while_opportunities_flow(
        redis_url: str, uid: str) -> None:
    redis = Redis.from_url(redis_url)
    settings = DecisionSettings(redis_url=redis_url, mode=Mode.DEMO,
                                risk_state_prefix=f"risk-{uid}-kill",
                                max_open_positions=100_000)
    gate = build_gate(settings, redis)
    metrics = BusMetrics(f"decision-{uid}")
    # This test's group starts at the streams' current end: entries other tests left in the
    # shared Redis are not this measurement's backlog.
    for stream in SUBSCRIPTIONS["decision"]:
        await redis.xgroup_create(stream, f"decision-{uid}", id="$", mkstream=True)
    consumer = Consumer(redis, group=f"decision-{uid}", consumer="r1",
                        streams=SUBSCRIPTIONS["decision"],
                        handler=make_handler(gate), publisher=Publisher(redis, "decision"),
                        metrics=metrics, block_ms=settings.block_ms)
    start_id = (await redis.xinfo_stream(DECISIONS_REJECTED))["last-generated-id"] \
        if await redis.exists(DECISIONS_REJECTED) else b"0-0"
    stop, flowing = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    # as app.build wires it: every replica also watches `control` directly
    watcher = asyncio.create_task(ControlWatcher(redis, gate)(None, stop))

    async def flow() -> None:
        n = 0
        while not stop.is_set():
            opp = forex_signal(opportunity_id=f"{uid}-opp-{n}", ts_event=T0 + n)
            await redis.xadd(OPPORTUNITIES, {FIELD: encode(opp)})
            n += 1
            if n == 50:
                flowing.set()
            await asyncio.sleep(0.002)

    producer = asyncio.create_task(flow())
    await asyncio.wait_for(flowing.wait(), 5)
    t_xadd = time.time_ns()
    await redis.xadd(CONTROL, {FIELD: encode(KillSwitchSet(ts_event=T0, active=True,
                                                           reason=f"test {uid}"))})
    first: OrderDenied | None = None
    seen_ns = 0
    last = start_id
    deadline = time.monotonic() + 5
    while first is None and time.monotonic() < deadline:
        resp = await redis.xread({DECISIONS_REJECTED: last}, block=50, count=500)
        for _s, items in resp or []:
            for entry_id, fields in items:
                last = entry_id
                e = decode(fields[FIELD])
                if (first is None and isinstance(e, OrderDenied)
                        and e.opportunity_id.startswith(uid)
                        and e.reason is DenialReason.KILL_SWITCH):
                    first, seen_ns = e, time.time_ns()
    stop.set()
    await producer
    await asyncio.wait_for(task, 5)
    await asyncio.wait_for(watcher, 5)
    await redis.aclose()
    assert first is not None, "no KILL_SWITCH denial within 5 s of the control event"
    decided_ms = (first.ts_init - t_xadd) / 1e6
    observed_ms = (seen_ns - t_xadd) / 1e6
    print(f"\nkill switch: control XADD -> first KILL_SWITCH denial decided {decided_ms:.1f} ms, "
          f"on decisions.rejected {observed_ms:.1f} ms")
    assert gate.kill_switch == "HALTED"
    assert decided_ms < 1000  # generous; the figure that matters is printed
