from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from libs.common.enums import InstrumentKind
from libs.common.errors import ValidationFailed
from libs.common.events import BarClosed, QuoteTick, decode, encode
from services.intake.adapters.base import BadMessage
from services.intake.adapters.mt5.parsing import (
    SymbolMeta,
    TickCursor,
    forming_bar_close_msc,
    parse_rate,
    parse_rates,
    parse_symbol_info,
    parse_tick,
    parse_ticks,
    select_new_ticks,
    server_ms_to_utc_ns,
    server_zone,
    utc_ms_to_server_datetime,
)
from services.intake.simulators.fake_mt5.MetaTrader5._data import RATES_DTYPE, TICK_DTYPE
from services.intake.simulators.fake_mt5.MetaTrader5._types import SymbolInfo

D = Decimal
EURUSD = SymbolMeta("EURUSD", "EUR/USD.MT5", "EUR", "USD", 5, D("0.00001"))
USDJPY = SymbolMeta("USDJPY", "USD/JPY.MT5", "USD", "JPY", 3, D("0.001"))
T0_MS = 1_577_916_000_065  # 2020-01-01 22:00:00.065 UTC


def symbol_info(**over: Any) -> Any:
    fields: dict[str, Any] = dict.fromkeys(SymbolInfo._fields, 0)
    fields.update(name="EURUSD", digits=5, point=1e-05, trade_tick_size=1e-05,
                  trade_contract_size=100000.0, volume_min=0.01, volume_step=0.01,
                  currency_base="EUR", currency_profit="USD", trade_calc_mode=0, trade_mode=4)
    fields.update(over)
    return SymbolInfo(**fields)


def ticks(rows: list[tuple[int, float, float]]) -> np.ndarray:
    out = np.zeros(len(rows), dtype=TICK_DTYPE)
    for i, (ms, bid, ask) in enumerate(rows):
        out[i] = (ms // 1000, bid, ask, 0.0, 0, ms, 6, 0.0)
    return out


def rates(rows: list[tuple[int, float, float, float, float, int]]) -> np.ndarray:
    out = np.zeros(len(rows), dtype=RATES_DTYPE)
    for i, (t, o, h, low, c, spread) in enumerate(rows):
        out[i] = (t, o, h, low, c, 10, spread, 0)
    return out


# -- symbols ------------------------------------------------------------------------------------

def test_forex_symbol_becomes_fx_instrument_in_base_units() -> None:
    inst, meta = parse_symbol_info(symbol_info(), "MT5")
    assert (inst.instrument_id, inst.symbol, inst.base, inst.quote) == (
        "EUR/USD.MT5", "EURUSD", "EUR", "USD")
    assert inst.instrument_kind is InstrumentKind.FX
    assert inst.tick_size == D("0.00001")
    assert inst.lot_size == D("1000")  # 0.01 lot x 100,000 EUR
    assert inst.min_quantity == D("1000")
    assert inst.contract_size == D("100000")
    assert meta == EURUSD


def test_broker_suffix_symbol_keeps_pair_id() -> None:
    inst, meta = parse_symbol_info(symbol_info(name="EURUSD.pro"), "MT5")
    assert (inst.instrument_id, inst.symbol, meta.symbol) == (
        "EUR/USD.MT5", "EURUSD.pro", "EURUSD.pro")


def test_non_forex_symbol_is_named_after_itself() -> None:
    inst, _ = parse_symbol_info(symbol_info(name="US30", trade_calc_mode=3, digits=1, point=0.1,
                                            trade_tick_size=0.1, trade_contract_size=1.0,
                                            currency_base="USD", currency_profit="USD"), "MT5")
    assert (inst.instrument_id, inst.instrument_kind) == ("US30.MT5", InstrumentKind.LINEAR)


def test_tick_size_falls_back_to_point_and_disabled_symbol_is_inactive() -> None:
    inst, _ = parse_symbol_info(symbol_info(trade_tick_size=0.0, trade_mode=0), "MT5")
    assert inst.tick_size == D("0.00001")
    assert inst.active is False


@pytest.mark.parametrize(("over", "why"), [
    ({"point": 0.0}, "point"),
    ({"volume_step": -0.01}, "volume_step"),
    ({"digits": 40}, "digits"),
    ({"trade_contract_size": float("nan")}, "non-finite"),
    ({"name": ""}, "not a symbol"),
])
def test_unusable_symbol_spec_is_refused_with_reason(over: dict[str, Any], why: str) -> None:
    with pytest.raises(ValidationFailed, match=why):
        parse_symbol_info(symbol_info(**over), "MT5")


def test_symbol_info_missing_a_field_is_refused() -> None:
    class Partial:
        name = "EURUSD"

    with pytest.raises(ValidationFailed, match="lacks a field"):
        parse_symbol_info(Partial(), "MT5")


# -- time ---------------------------------------------------------------------------------------

def test_utc_server_times_pass_through_as_ns() -> None:
    assert server_ms_to_utc_ns(T0_MS, server_zone("UTC")) == T0_MS * 1_000_000


def test_eet_server_times_become_utc_in_winter_and_summer() -> None:
    athens = ZoneInfo("Europe/Athens")
    winter_wall = int(datetime(2020, 1, 2, 0, 0, tzinfo=UTC).timestamp() * 1000)  # 00:00 EET
    summer_wall = int(datetime(2020, 7, 2, 0, 0, tzinfo=UTC).timestamp() * 1000)  # 00:00 EEST
    assert server_ms_to_utc_ns(winter_wall, athens) == (winter_wall - 2 * 3600_000) * 10**6
    assert server_ms_to_utc_ns(summer_wall, athens) == (summer_wall - 3 * 3600_000) * 10**6


def test_request_times_are_shifted_into_server_time_and_stay_aware() -> None:
    athens = ZoneInfo("Europe/Athens")
    dt = utc_ms_to_server_datetime(T0_MS, athens)
    assert dt.tzinfo is not None
    assert int(dt.timestamp() * 1000) == T0_MS + 2 * 3600_000
    assert server_ms_to_utc_ns(int(dt.timestamp() * 1000), athens) == T0_MS * 1_000_000


# -- ticks --------------------------------------------------------------------------------------

def test_tick_becomes_quote_with_ns_time_and_rounded_prices() -> None:
    q = parse_tick(EURUSD, time_msc=T0_MS, bid=1.1212000000000002, ask=1.12172, zone=None,
                   ts_init=7, venue="MT5")
    assert isinstance(q, QuoteTick)
    assert (q.ts_event, q.ts_init, q.bid, q.ask) == (T0_MS * 10**6, 7, D("1.12120"), D("1.12172"))
    assert (q.instrument_id, q.venue, q.symbol) == ("EUR/USD.MT5", "MT5", "EURUSD")
    assert decode(encode(q)) == q


@pytest.mark.parametrize(("msc", "bid", "ask", "why"), [
    (T0_MS, 0.0, 1.1, "without bid/ask"),
    (T0_MS, 1.1, float("inf"), "unreadable"),
    (0, 1.1, 1.2, "not a time"),
])
def test_unusable_tick_is_refused_with_reason(msc: int, bid: float, ask: float, why: str) -> None:
    with pytest.raises(ValidationFailed, match=why):
        parse_tick(EURUSD, time_msc=msc, bid=bid, ask=ask, zone=None, ts_init=0, venue="MT5")


def test_overlap_with_last_poll_is_skipped_including_ticks_sharing_a_ms() -> None:
    # last poll ended with two ticks at 1000; the range asked again from 1000
    new, bad, cur = select_new_ticks([1000, 1000, 1000, 1500], TickCursor(1000, 2), None)
    assert (new, bad, cur) == ([2, 3], [], TickCursor(1500, 1))


def test_ticks_at_or_after_the_forming_bar_close_wait_for_next_poll() -> None:
    new, _, cur = select_new_ticks([1000, 59_999, 60_000, 60_001], None, 60_000)
    assert (new, cur) == ([0, 1], TickCursor(59_999, 1))


def test_first_answer_without_cursor_takes_everything() -> None:
    new, _, cur = select_new_ticks([5, 5, 9], None, None)
    assert (new, cur) == ([0, 1, 2], TickCursor(9, 1))


def test_empty_answer_keeps_cursor() -> None:
    assert select_new_ticks([], TickCursor(9, 1), None) == ([], [], TickCursor(9, 1))


def test_tick_out_of_time_order_becomes_bad_message_and_rest_flows() -> None:
    arr = ticks([(T0_MS, 1.1, 1.2), (T0_MS + 5, 1.1, 1.2), (T0_MS + 1, 1.1, 1.2),
                 (T0_MS + 9, 1.1, 1.2)])
    out, cur = parse_ticks(arr, EURUSD, None, horizon_msc=None, zone=None, ts_init=0,
                           venue="MT5")
    quotes = [o for o in out if isinstance(o, QuoteTick)]
    bad = [o for o in out if isinstance(o, BadMessage)]
    assert [q.ts_event // 10**6 - T0_MS for q in quotes] == [0, 5, 9]
    assert len(bad) == 1 and "out of time order" in bad[0].reason
    assert cur == TickCursor(T0_MS + 9, 1)


def test_tick_with_zero_bid_becomes_bad_message() -> None:
    arr = ticks([(T0_MS, 0.0, 1.2), (T0_MS + 1, 1.1, 1.2)])
    out, _ = parse_ticks(arr, EURUSD, None, horizon_msc=None, zone=None, ts_init=0, venue="MT5")
    assert isinstance(out[0], BadMessage) and "bid/ask" in out[0].reason
    assert isinstance(out[1], QuoteTick)


def test_ticks_answer_without_the_tick_fields_is_one_bad_message() -> None:
    out, cur = parse_ticks(rates([(1, 1.0, 1.0, 1.0, 1.0, 1)]), EURUSD, TickCursor(3, 1),
                           horizon_msc=None, zone=None, ts_init=0, venue="MT5")
    assert len(out) == 1 and isinstance(out[0], BadMessage) and "time_msc" in out[0].reason
    assert cur == TickCursor(3, 1)


# -- bars ---------------------------------------------------------------------------------------

def test_bar_ask_is_bid_plus_spread_points_and_event_time_is_the_close() -> None:
    row = rates([(1_328_054_400, 1.57597, 1.57606, 1.57576, 1.57576, 9)])[0]
    bar = parse_rate(row, EURUSD, timeframe_s=60, zone=None, ts_init=3, venue="MT5")
    assert isinstance(bar, BarClosed)
    assert (bar.ts_open, bar.ts_event, bar.timeframe_s) == (
        1_328_054_400 * 10**9, 1_328_054_460 * 10**9, 60)
    assert (bar.bid_open, bar.bid_high, bar.bid_low, bar.bid_close) == (
        D("1.57597"), D("1.57606"), D("1.57576"), D("1.57576"))
    assert (bar.ask_open, bar.ask_high, bar.ask_low, bar.ask_close) == (
        D("1.57606"), D("1.57615"), D("1.57585"), D("1.57585"))
    assert decode(encode(bar)) == bar


def test_bar_with_negative_spread_is_published_crossed() -> None:
    row = rates([(60, 86.655, 86.7, 86.6, 86.65, -2)])[0]
    bar = parse_rate(row, USDJPY, timeframe_s=60, zone=None, ts_init=0, venue="MT5")
    assert bar.ask_close == D("86.648") < bar.bid_close


def test_bar_breaking_ohlc_is_refused() -> None:
    row = rates([(60, 1.2, 1.1, 1.15, 1.15, 1)])[0]  # high < low
    with pytest.raises(ValidationFailed, match="high < low"):
        parse_rate(row, EURUSD, timeframe_s=60, zone=None, ts_init=0, venue="MT5")


def _bars(n: int) -> np.ndarray:
    return rates([(60 * i, 1.1, 1.2, 1.0, 1.1, 3) for i in range(n)])


def test_forming_bar_is_never_published_and_first_answer_gives_initial_bars() -> None:
    out, newest, gap = parse_rates(_bars(5), EURUSD, None, initial=2, timeframe_s=60,
                                   zone=None, ts_init=0, venue="MT5")
    assert [b.ts_open // 10**9 for b in out if isinstance(b, BarClosed)] == [120, 180]
    assert (newest, gap) == (180, False)


def test_later_answers_give_only_bars_closed_since() -> None:
    out, newest, gap = parse_rates(_bars(6), EURUSD, 180, initial=1, timeframe_s=60,
                                   zone=None, ts_init=0, venue="MT5")
    assert [b.ts_open // 10**9 for b in out if isinstance(b, BarClosed)] == [240]
    assert (newest, gap) == (240, False)


def test_first_answer_with_only_a_forming_bar_publishes_every_later_close() -> None:
    _, newest, _ = parse_rates(_bars(1), EURUSD, None, initial=1, timeframe_s=60, zone=None,
                               ts_init=0, venue="MT5")
    out, _, _ = parse_rates(_bars(4), EURUSD, newest, initial=1, timeframe_s=60, zone=None,
                            ts_init=0, venue="MT5")
    assert [b.ts_open // 10**9 for b in out if isinstance(b, BarClosed)] == [0, 60, 120]


def test_answer_entirely_new_flags_a_possible_gap() -> None:
    _, _, gap = parse_rates(_bars(4), EURUSD, -100, initial=1, timeframe_s=60, zone=None,
                            ts_init=0, venue="MT5")
    assert gap is True


def test_forming_bar_close_is_its_open_plus_timeframe_in_ms() -> None:
    assert forming_bar_close_msc(_bars(3), 60) == 180_000
    assert forming_bar_close_msc(_bars(0), 60) is None
