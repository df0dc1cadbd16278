"""The DEMO paper venue: configured assets, recorded quotes in time order, option bookkeeping."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from libs.common.clock import TestClock
from libs.common.errors import ConfigurationError, InvalidOrder
from libs.common.events import QuoteTick
from services.intake.adapters.base import BadMessage
from services.intake.adapters.pocketoption.config import PaperAsset, PaperPocketOptionConfig
from services.intake.adapters.pocketoption.paper import PaperPocketOption
from services.intake.adapters.pocketoption.settlement import (
    Direction,
    NoPriceAtOpen,
    Outcome,
    SettlementUnavailable,
)
from services.intake.adapters.pocketoption.ticks import TickFormat

S = 1_000_000_000
T0 = 1546383660 * S  # 2019-01-01T23:01:00Z, inside both default files
EURUSD_ONLY = PaperPocketOptionConfig(assets=PaperPocketOptionConfig().assets[:1])


async def started(config: PaperPocketOptionConfig | None = None, *, clock: TestClock | None = None,
                  data_dir: Path | None = None) -> PaperPocketOption:
    kwargs = {"data_dir": data_dir} if data_dir else {}
    paper = PaperPocketOption(config, clock=clock or TestClock(T0), **kwargs)
    await paper.start()
    return paper


async def test_stream_merges_both_assets_in_time_order() -> None:
    paper = await started()
    seen: list[QuoteTick] = []
    async for item in paper.stream(["USD/JPY.POCKET_OPTION", "EUR/USD.POCKET_OPTION"]):
        assert isinstance(item, QuoteTick)
        seen.append(item)
        if len(seen) == 3000:
            break
    assert [q.ts_event for q in seen] == sorted(q.ts_event for q in seen)
    assert {q.symbol for q in seen} == {"EURUSD", "USDJPY"}
    first = next(q for q in seen if q.symbol == "EURUSD")
    # Row 2 of the EURUSD file, as recorded: bid and ask, not the settlement mid.
    assert (first.ts_event, first.bid, first.ask) == (1546383600078000128, Decimal("1.14605"),
                                                      Decimal("1.14643"))
    assert paper.stats.events == 3000


async def test_stream_yields_bad_rows_as_bad_messages_in_place(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("timestamp,bid,ask\n"
                                    "2013-01-01 22:00:00.295000+00:00,86.655,86.728\n"
                                    "2013-01-01 22:00:01+00:00,oops,86.728\n"
                                    "2013-01-01 22:00:02+00:00,86.657,86.728\n")
    config = PaperPocketOptionConfig(assets=(PaperAsset(
        symbol="USDJPY", name="USD/JPY", payout_pct=Decimal("80"), tick_file="t.csv",
        tick_format=TickFormat.TRUEFX),))
    paper = await started(config, data_dir=tmp_path)
    items = [i async for i in paper.stream(["USD/JPY.POCKET_OPTION"])]
    assert [type(i) for i in items] == [QuoteTick, BadMessage, QuoteTick]
    bad = items[1]
    assert isinstance(bad, BadMessage)
    assert bad.reason.startswith("t.csv:3: unparseable row: price not a number")
    assert bad.payload == "2013-01-01 22:00:01+00:00,oops,86.728"
    assert (paper.stats.bad_messages, paper.stats.events) == (1, 2)


async def test_unknown_instrument_is_a_configuration_error() -> None:
    paper = await started()
    with pytest.raises(ConfigurationError, match="GBP/USD.POCKET_OPTION"):
        async for _ in paper.stream(["GBP/USD.POCKET_OPTION"]):
            pass


async def test_assets_and_instruments_come_from_configuration() -> None:
    paper = await started()
    assets = await paper.assets()
    assert [(a.symbol, a.payout_pct, a.expiries_s, a.active, a.is_otc) for a in assets.assets] \
        == [("EURUSD", Decimal("92"), (60, 300, 900), True, False),
            ("USDJPY", Decimal("92"), (60, 300, 900), True, False)]
    info = await paper.instruments()
    assert [(i.instrument_id, i.base, i.quote) for i in info.instruments] == [
        ("EUR/USD.POCKET_OPTION", "EUR", "USD"), ("USD/JPY.POCKET_OPTION", "USD", "JPY")]
    assert info.ts_event == T0


@pytest.mark.parametrize(("symbol", "expiry", "why"), [
    ("GBPUSD", 60, "unknown Pocket Option paper asset 'GBPUSD'"),
    ("EURUSD", 120, r"offers expiries \[60, 300, 900\] s, not 120"),
])
async def test_orders_the_venue_does_not_offer_are_refused(symbol: str, expiry: int,
                                                          why: str) -> None:
    paper = await started(EURUSD_ONLY)
    with pytest.raises(InvalidOrder, match=why):
        paper.open_option(symbol, Direction.CALL, Decimal("1"), expiry)


async def test_inactive_asset_and_time_before_the_data_are_refused() -> None:
    config = PaperPocketOptionConfig(assets=(
        PaperPocketOptionConfig().assets[0].model_copy(update={"active": False}),))
    paper = await started(config)
    with pytest.raises(InvalidOrder, match="EURUSD is not active"):
        paper.open_option("EURUSD", Direction.CALL, Decimal("1"), 60)
    paper = await started(EURUSD_ONLY)
    with pytest.raises(NoPriceAtOpen):
        paper.open_option("EURUSD", Direction.CALL, Decimal("1"), 60, requested_ts_ns=S)


async def test_option_ids_are_deterministic_and_unique() -> None:
    a, b = await started(EURUSD_ONLY), await started(EURUSD_ONLY)
    ids_a = [a.open_option("EURUSD", Direction.PUT, Decimal("1"), 60).request.option_id
             for _ in range(2)]
    ids_b = [b.open_option("EURUSD", Direction.PUT, Decimal("1"), 60).request.option_id
             for _ in range(2)]
    assert ids_a == ids_b and ids_a[0] != ids_a[1]
    with pytest.raises(InvalidOrder, match="already used"):
        a.open_option("EURUSD", Direction.PUT, Decimal("1"), 60, option_id=ids_a[0])


async def test_settle_due_follows_the_clock_and_settlement_is_stable() -> None:
    clock = TestClock(T0)
    paper = await started(EURUSD_ONLY, clock=clock)
    short = paper.open_option("EURUSD", Direction.CALL, Decimal("5"), 60)
    long = paper.open_option("EURUSD", Direction.CALL, Decimal("5"), 300)
    clock.advance(59 * S)
    assert paper.settle_due() == []
    clock.advance(1 * S)
    [done] = paper.settle_due()
    assert done.opened == short
    assert paper.open_options == (long,)
    assert paper.settle(short.request.option_id) is done  # same result every time
    clock.advance(240 * S)
    [later] = paper.settle_due()
    assert later.opened == long and later.outcome in set(Outcome)


async def test_option_past_the_end_of_the_data_stays_open() -> None:
    paper = await started(EURUSD_ONLY)
    last = paper.price_path("EURUSD").last_ts
    assert last is not None
    opened = paper.open_option("EURUSD", Direction.CALL, Decimal("1"), 60,
                               requested_ts_ns=last - 10 * S)
    assert paper.settle_due(last + 3600 * S) == []
    with pytest.raises(SettlementUnavailable):
        paper.settle(opened.request.option_id)
