from decimal import Decimal as D
from typing import Any

import pytest

from libs.common.clock import TestClock
from libs.common.enums import OrderSide
from libs.common.errors import ConfigurationError
from libs.common.events import decode, encode
from libs.common.events.market import BarClosed
from libs.common.events.opportunity import ForexSignalDetected
from services.scanner.domain.forex import ForexSignalConfig, ForexSignalScanner

GBPUSD = "GBP/USD.FXCM"
T0 = 1_328_054_400_000_000_000  # 2012-02-01 00:00 UTC
MINUTE = 60_000_000_000
TICK = D("0.00001")

# Mid closes that make RSI(2) fall to 0, cross back up through 30 (bar 3: BUY), rise past 70
# and cross back down through it (bar 5: SELL).
PATTERN = ["1.3000", "1.2990", "1.2980", "1.3000", "1.3040", "1.3000"]


def bar(i: int, mid: str, *, start: int = T0, instrument_id: str = GBPUSD,
        half_spread: str = "0.0001", reach: str = "0.0005", **kw: Any) -> BarClosed:
    """Bar i of a series: bid/ask close straddle `mid`; highs/lows sit `reach` beyond closes."""
    m, hs, r = D(mid), D(half_spread), D(reach)
    bid, ask = m - hs, m + hs
    prices = dict(bid_open=bid, bid_high=bid + r, bid_low=bid - r, bid_close=bid,
                  ask_open=ask, ask_high=ask + r, ask_low=ask - r, ask_close=ask)
    fields: dict[str, Any] = dict(
        instrument_id=instrument_id, venue="FXCM", symbol="GBP/USD", base="GBP", quote="USD",
        timeframe_s=60, ts_open=start + i * MINUTE, ts_event=start + (i + 1) * MINUTE,
        ts_init=start + (i + 1) * MINUTE, **{k: v.quantize(TICK) for k, v in prices.items()})
    fields.update(kw)
    return BarClosed(**fields)


def small(**kw: Any) -> ForexSignalScanner:
    cfg = ForexSignalConfig(rsi_period=2, sma_period=3, atr_period=2, **kw)
    return ForexSignalScanner(TestClock(T0), cfg)


def feed(scan: ForexSignalScanner, bars: list[BarClosed]) -> list[tuple[int, ForexSignalDetected]]:
    return [(i, s) for i, b in enumerate(bars) for s in scan.on_bar(b)]


def test_long_when_rsi_crosses_back_above_30_with_atr_take_profit_and_stop() -> None:
    signals = feed(small(), [bar(i, m) for i, m in enumerate(PATTERN[:4])])
    [(i, sig)] = signals
    assert i == 3
    assert sig.side is OrderSide.BUY
    assert sig.entry_price == D("1.30010")  # the closing ask
    # true ranges 0.0015, 0.0015 -> ATR 0.0015; then 0.0025 -> ATR 0.0020
    assert sig.atr == D("0.0020")
    assert sig.take_profit == D("1.30410")  # entry + 2.0 x ATR
    assert sig.stop_loss == D("1.29710")  # entry - 1.5 x ATR
    assert sig.rsi == D(100) - D(100) / 3  # gain 0.001, loss 0.0005
    assert sig.sma == D("1.2990")
    assert sig.quantity == D(10_000)
    assert sig.notional == D("13001.0")
    assert sig.spread_bps == D("0.0002") * 10_000 / D("1.3000")
    assert sig.quote_age_ns == 0
    assert sig.strategy == "fx_rsi_reversion"


def test_short_when_rsi_crosses_back_below_70_with_rounded_stop() -> None:
    signals = feed(small(), [bar(i, m) for i, m in enumerate(PATTERN)])
    [(_, buy), (i, sell)] = signals
    assert (buy.side, i, sell.side) == (OrderSide.BUY, 5, OrderSide.SELL)
    assert sell.entry_price == D("1.29990")  # the closing bid
    assert sell.atr == D("0.003875")  # (0.0020 + 0.0045) / 2, then (0.00325 + 0.0045) / 2
    assert sell.take_profit == D("1.29215")  # 1.2999 - 0.00775
    assert sell.stop_loss == D("1.30571")  # 1.2999 + 0.0058125, to the 0.00001 tick
    assert sell.notional == D("12999.0")


def test_tick_size_and_multipliers_are_configurable() -> None:
    scan = small(tick_size=D("0.0001"), tp_atr=D(3), sl_atr=D(1), quantity=D(1000))
    [(_, sig)] = feed(scan, [bar(i, m) for i, m in enumerate(PATTERN[:4])])
    assert (sig.take_profit, sig.stop_loss) == (D("1.3061"), D("1.2981"))
    assert sig.notional == D("1300.10")


def test_signal_is_caused_by_its_bar_and_has_a_deterministic_id() -> None:
    bars = [bar(i, m) for i, m in enumerate(PATTERN[:4])]
    [(_, a)] = feed(small(), bars)
    [(_, b)] = feed(small(), bars)
    assert a.opportunity_id == b.opportunity_id
    assert a.ts_event == bars[3].ts_event
    assert a.ts_init == T0  # the injected clock
    assert (a.correlation_id, a.causation_id) == (bars[3].correlation_id, bars[3].event_id)
    assert decode(encode(a)) == a


def test_weekend_gap_restarts_warm_up_as_if_fresh() -> None:
    friday = [bar(i, m) for i, m in enumerate(["1.2500", "1.2600", "1.2400", "1.2700",
                                                "1.2300", "1.2800"])]
    sunday_start = friday[-1].ts_event + 48 * 60 * MINUTE
    sunday = [bar(i, m, start=sunday_start) for i, m in enumerate(PATTERN)]
    scan = small()
    feed(scan, friday)
    after_gap = feed(scan, sunday)
    fresh = feed(small(), sunday)
    assert [i for i, _ in after_gap] == [3, 5]

    def key(s: ForexSignalDetected) -> tuple[Any, ...]:
        return s.side, s.entry_price, s.take_profit, s.stop_loss, s.atr, s.rsi, s.sma

    assert [key(s) for _, s in after_gap] == [key(s) for _, s in fresh]


def test_short_intraday_hole_does_not_reset() -> None:
    bars = [bar(i, m) for i, m in enumerate(PATTERN[:3])]
    bars.append(bar(3 + 5, PATTERN[3]))  # five missing minutes
    assert [i for i, _ in feed(small(), bars)] == [3]


def test_no_signal_until_every_indicator_is_warm() -> None:
    # Saw-tooth: 8 bars down 10 pips, 2 up 15; RSI(14) crosses back above 30 every 10 bars
    # from bar 19 on.
    mids, m = [], D("1.5000")
    for k in range(120):
        m += D("-0.0010") if k % 10 < 8 else D("0.0015")
        mids.append(str(m))
    bars = [bar(i, x) for i, x in enumerate(mids)]
    default = feed(ForexSignalScanner(TestClock(T0)), bars)
    quick = feed(ForexSignalScanner(TestClock(T0), ForexSignalConfig(sma_period=2)), bars)
    assert any(i < 49 for i, _ in quick)  # RSI and ATR alone would have fired
    assert [i for i, _ in default] == [49, 59, 69, 79, 89, 99, 109, 119]  # SMA(50) warm at 49
    for _, s in default:
        assert s.side is OrderSide.BUY
        assert s.take_profit == (s.entry_price + 2 * s.atr).quantize(TICK)
        assert s.stop_loss == (s.entry_price - D("1.5") * s.atr).quantize(TICK)


def test_repeated_or_older_bar_is_ignored() -> None:
    bars = [bar(i, m) for i, m in enumerate(PATTERN[:4])]
    scan = small()
    feed(scan, bars[:3])
    assert scan.on_bar(bars[2]) == []  # redelivered: must not feed the indicators twice
    [sig] = scan.on_bar(bars[3])
    assert sig.atr == D("0.0020")


def test_bar_with_ask_below_bid_is_ignored() -> None:
    bars = [bar(i, m) for i, m in enumerate(PATTERN[:4])]
    bad = bar(3, "1.3500", half_spread="-0.0010")
    scan = small()
    feed(scan, bars[:3])
    assert scan.on_bar(bad) == []
    assert len(scan.on_bar(bars[3])) == 1


def test_instruments_are_scanned_independently() -> None:
    scan = small()
    eur = [bar(i, "1.1000", instrument_id="EUR/USD.FXCM") for i in range(4)]
    gbp = [bar(i, m) for i, m in enumerate(PATTERN[:4])]
    mixed = [b for pair in zip(eur, gbp, strict=True) for b in pair]
    assert [s.instrument_id for _, s in feed(scan, mixed)] == [GBPUSD]


@pytest.mark.parametrize("bad", [
    dict(oversold=D(70), overbought=D(30)), dict(tp_atr=D(0)), dict(sl_atr=D(-1)),
    dict(quantity=D(0)), dict(max_gap_ns=0), dict(tick_size=D(0)),
])
def test_inconsistent_settings_fail_at_start_up(bad: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        ForexSignalConfig(**bad)
