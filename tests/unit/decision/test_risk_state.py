"""The in-memory risk state: the same semantics the Redis one has (tested in integration)."""
from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

from libs.common.enums import DenialReason, Engine
from services.decision.adapters.risk_state import InMemoryRiskState
from services.decision.domain.gates import Denial, OpenPosition, RiskSnapshot

DAY = 86_400 * 1_000_000_000


def p(key: str, notional: str = "100", unreal: str = "0") -> OpenPosition:
    return OpenPosition(key=key, engine=Engine.FOREX, asset="GBP", quote="USD",
                        subject="GBP/USD.FXCM", quantity=D("1"), notional=D(notional),
                        unrealized_pnl=D(unreal))


async def test_trades_count_once_per_utc_day_and_build_the_loss_streak() -> None:
    s = InMemoryRiskState()
    assert await s.record_trade("t1", D("50"), 10 * DAY + 5)
    assert await s.record_trade("t2", D("-20"), 10 * DAY + 6)
    assert not await s.record_trade("t2", D("-20"), 10 * DAY + 6)  # redelivered
    assert await s.record_trade("t3", D("-30"), 11 * DAY + 1)
    day10 = await s.snapshot(10 * DAY + 100, 60)
    day11 = await s.snapshot(11 * DAY + 100, 60)
    assert (day10.day_pnl, day11.day_pnl) == (D("30"), D("-30"))
    assert (day11.realized_pnl, day11.pnl_peak) == (D("0"), D("50"))
    assert (day11.loss_streak, day11.last_loss_ts) == (2, 11 * DAY + 1)
    await s.record_trade("t4", D("1"), 11 * DAY + 2)
    assert (await s.snapshot(0, 60)).loss_streak == 0


async def test_reserve_takes_the_slot_only_when_the_check_passes() -> None:
    s = InMemoryRiskState()

    def at_most_one(snap: RiskSnapshot) -> Denial | None:
        return Denial(DenialReason.MAX_OPEN_POSITIONS, "full") if snap.positions else None

    assert await s.reserve(p("a"), "int-a", 100, 60, at_most_one) is None
    d = await s.reserve(p("b"), "int-b", 101, 60, at_most_one)
    assert d is not None and d.reason is DenialReason.MAX_OPEN_POSITIONS
    snap = await s.snapshot(101, 60)
    assert [x.key for x in snap.positions] == ["a"] and snap.intents_in_window == 1
    assert (await s.snapshot(200, 60)).intents_in_window == 0  # out of the window


async def test_position_updates_keep_the_reservation_asset_and_raise_the_peak() -> None:
    s = InMemoryRiskState()
    await s.reserve(p("a"), "int-a", 1, 60, lambda _s: None)
    await s.update_position(OpenPosition(key="a", engine=Engine.FOREX, asset="?", quote="",
                                         subject="?", quantity=D("2"), notional=D("300"),
                                         unrealized_pnl=D("40")))
    snap = await s.snapshot(1, 60)
    assert snap.positions[0].asset == "GBP" and snap.positions[0].notional == D("300")
    assert snap.pnl_peak == D("40")
    await s.update_position(replace(p("a"), quantity=D(0)))
    assert (await s.snapshot(1, 60)).positions == ()
