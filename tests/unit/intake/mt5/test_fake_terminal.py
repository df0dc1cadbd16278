"""The fake terminal behaves like the MetaTrader5 package, on the recorded data."""
from __future__ import annotations

import csv
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from services.intake.adapters.mt5 import schemas
from services.intake.simulators.fake_mt5 import FAKE_MT5_DIR
from services.intake.simulators.fake_mt5.MetaTrader5._data import DEFAULT_DATA_DIR, histdata_ms

TRUEFX = DEFAULT_DATA_DIR / "forex/truefx/usdjpy-ticks.csv"
FXCM_BID = DEFAULT_DATA_DIR / "fxcm/gbpusd-m1-bid-2012.csv"
FXCM_ASK = DEFAULT_DATA_DIR / "fxcm/gbpusd-m1-ask-2012.csv"
EURUSD_T0_MS = 1_577_916_000_065  # 2020-01-01 17:00:00.065 EST = 22:00:00.065 UTC
FAR = datetime(2100, 1, 1, tzinfo=UTC)
START = datetime(2000, 1, 1, tzinfo=UTC)


def utc_ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def truefx_rows() -> list[tuple[int, float, float]]:
    with TRUEFX.open() as fh:
        return [(utc_ms(t), float(b), float(a)) for t, b, a in list(csv.reader(fh))[1:]]


# -- API shape --------------------------------------------------------------------------------

def test_constants_have_the_real_values(mt5: ModuleType) -> None:
    assert (mt5.TIMEFRAME_M1, mt5.TIMEFRAME_H1, mt5.TIMEFRAME_D1, mt5.TIMEFRAME_MN1) == (
        1, 0x4001, 0x4018, 0xC001)
    assert (mt5.COPY_TICKS_ALL, mt5.TRADE_RETCODE_DONE, mt5.RES_E_INTERNAL_FAIL_CONNECT) == (
        -1, 10009, -10004)


def test_adapter_constants_agree_with_the_module(mt5: ModuleType) -> None:
    names = [n for n in dir(schemas) if n.isupper() and hasattr(mt5, n)]
    assert len(names) >= 20
    assert {n: getattr(schemas, n) for n in names} == {n: getattr(mt5, n) for n in names}
    for name, (value, _) in schemas.TIMEFRAMES.items():
        assert getattr(mt5, f"TIMEFRAME_{name}") == value


def test_arrays_have_the_real_dtypes(mt5: ModuleType) -> None:
    assert mt5.initialize()
    mt5.simulator.advance(300)
    r = mt5.copy_rates_from_pos("GBPUSD", mt5.TIMEFRAME_M1, 0, 3)
    t = mt5.copy_ticks_range("USDJPY", START, FAR, mt5.COPY_TICKS_ALL)
    assert r.dtype == np.dtype([("time", "<i8"), ("open", "<f8"), ("high", "<f8"),
                                ("low", "<f8"), ("close", "<f8"), ("tick_volume", "<u8"),
                                ("spread", "<i4"), ("real_volume", "<u8")])
    assert t.dtype == np.dtype([("time", "<i8"), ("bid", "<f8"), ("ask", "<f8"),
                                ("last", "<f8"), ("volume", "<u8"), ("time_msc", "<i8"),
                                ("flags", "<u4"), ("volume_real", "<f8")])
    assert schemas.RATES_FIELDS == r.dtype.names and schemas.TICK_FIELDS == t.dtype.names


def test_named_tuples_carry_the_real_fields(mt5: ModuleType) -> None:
    assert mt5.initialize()
    info = mt5.symbol_info("EURUSD")
    tick = mt5.symbol_info_tick("EURUSD")
    assert len(info._asdict()) == 96 and type(info).__name__ == "SymbolInfo"
    assert tick._fields == schemas.TICK_FIELDS
    assert (info.digits, info.point, info.currency_base, info.currency_profit) == (
        5, 1e-05, "EUR", "USD")
    assert mt5.account_info().login == 5_000_001
    assert mt5.terminal_info().connected is True


def test_calls_before_initialize_fail_with_no_ipc_connection(mt5: ModuleType) -> None:
    assert mt5.symbol_info("EURUSD") is None
    assert mt5.last_error() == (-10004, "No IPC connection")
    assert mt5.initialize() is True and mt5.last_error() == (1, "Success")


def test_failures_set_last_error(mt5: ModuleType) -> None:
    assert mt5.initialize()
    assert mt5.symbol_info("XAUUSD") is None
    assert mt5.last_error()[0] == mt5.RES_E_NOT_FOUND
    assert mt5.copy_rates_from_pos("EURUSD", mt5.TIMEFRAME_W1, 0, 5) is None
    assert mt5.last_error()[0] == mt5.RES_E_INVALID_PARAMS
    assert mt5.order_send({"action": mt5.TRADE_ACTION_DEAL}) is None
    assert mt5.last_error()[0] == mt5.RES_E_UNSUPPORTED


def test_group_mask_filters_symbols(mt5: ModuleType) -> None:
    assert mt5.initialize()
    assert [s.name for s in mt5.symbols_get(group="*USD*,!EUR*")] == ["USDJPY", "GBPUSD"]
    assert mt5.symbols_total() == 3


def test_importable_as_MetaTrader5_from_its_folder() -> None:
    env = {**os.environ, "PYTHONPATH": str(FAKE_MT5_DIR)}
    out = subprocess.run([sys.executable, "-c", "import MetaTrader5 as m; print(m.__fake__, "
                          "m.__file__)"], env=env, cwd="/", capture_output=True, text=True,
                         check=True, timeout=30)
    assert out.stdout.split()[0] == "True"
    assert Path(out.stdout.split()[1]).parent == FAKE_MT5_DIR / "MetaTrader5"


# -- data -------------------------------------------------------------------------------------

def test_histdata_est_is_utc_minus_5_all_year() -> None:
    assert histdata_ms("20200101 170000065") == EURUSD_T0_MS
    assert histdata_ms("20200101 235959999") == utc_ms("2020-01-02T04:59:59.999+00:00")
    assert histdata_ms("20200701 120000000") == utc_ms("2020-07-01T17:00:00+00:00")  # no DST


def test_eurusd_first_tick_is_histdata_first_row_in_utc(mt5: ModuleType) -> None:
    assert mt5.initialize()
    tick = mt5.symbol_info_tick("EURUSD")
    assert (tick.time_msc, tick.time, tick.bid, tick.ask) == (
        EURUSD_T0_MS, EURUSD_T0_MS // 1000, 1.1212, 1.12172)


def test_advancing_the_clock_delivers_the_recorded_ticks(mt5: ModuleType) -> None:
    rows = truefx_rows()
    assert mt5.initialize()
    seen = mt5.copy_ticks_range("USDJPY", START, FAR, mt5.COPY_TICKS_ALL)
    assert [(int(t["time_msc"]), t["bid"], t["ask"]) for t in seen] == rows[:1]
    mt5.simulator.advance(160)
    seen = mt5.copy_ticks_range("USDJPY", START, FAR, mt5.COPY_TICKS_ALL)
    expected = [r for r in rows if r[0] <= rows[0][0] + 160_000]
    assert [(int(t["time_msc"]), t["bid"], t["ask"]) for t in seen] == expected
    mt5.simulator.advance(3600)
    assert len(mt5.copy_ticks_range("USDJPY", START, FAR, mt5.COPY_TICKS_ALL)) == len(rows)


def test_speed_moves_the_clock_with_wall_time(mt5: ModuleType) -> None:
    mt5.simulator.set_speed(1000)
    first = mt5.simulator.elapsed_s()
    while mt5.simulator.elapsed_s() < first + 5:
        pass
    mt5.simulator.set_speed(0)
    frozen = mt5.simulator.elapsed_s()
    assert frozen >= first + 5 and mt5.simulator.elapsed_s() == frozen


def test_ticks_from_and_range_bounds(mt5: ModuleType) -> None:
    rows = truefx_rows()
    assert mt5.initialize()
    mt5.simulator.advance(3600)
    second = datetime.fromtimestamp(rows[1][0] / 1000, UTC)
    got = mt5.copy_ticks_from("USDJPY", second, 3, mt5.COPY_TICKS_ALL)
    assert [int(t) for t in got["time_msc"]] == [r[0] for r in rows[1:4]]
    got = mt5.copy_ticks_range("USDJPY", second, second + timedelta(milliseconds=6),
                               mt5.COPY_TICKS_ALL)
    assert [int(t) for t in got["time_msc"]] == [r[0] for r in rows[1:3]]  # .907 and .913


def test_repeated_vendor_quotes_have_no_flags_and_are_not_info_ticks(mt5: ModuleType) -> None:
    assert mt5.initialize()
    mt5.simulator.advance(7 * 3600)
    every = mt5.copy_ticks_range("EURUSD", START, FAR, mt5.COPY_TICKS_ALL)
    info = mt5.copy_ticks_range("EURUSD", START, FAR, mt5.COPY_TICKS_INFO)
    trade = mt5.copy_ticks_range("EURUSD", START, FAR, mt5.COPY_TICKS_TRADE)
    assert len(every) == 9500
    unchanged = int(np.sum((every["bid"][1:] == every["bid"][:-1])
                           & (every["ask"][1:] == every["ask"][:-1])))
    assert unchanged == 164 and int(np.sum(every["flags"] == 0)) == 164
    assert len(info) == 9500 - 164 and len(trade) == 0


def test_m1_bars_from_ticks_use_bid_count_and_smallest_spread(mt5: ModuleType) -> None:
    rows = truefx_rows()
    assert mt5.initialize()
    mt5.simulator.advance(3600)
    bars = mt5.copy_rates_range("USDJPY", mt5.TIMEFRAME_M1, START, FAR)
    minute = [r for r in rows if r[0] // 60_000 == bars["time"][1] // 60]
    bar = bars[1]
    assert (bar["open"], bar["close"], bar["high"], bar["low"]) == (
        minute[0][1], minute[-1][1], max(r[1] for r in minute), min(r[1] for r in minute))
    assert bar["tick_volume"] == len(minute)
    assert bar["spread"] == min(round((a - b) * 1000) for _, b, a in minute)


def test_forming_bar_holds_only_the_ticks_that_arrived(mt5: ModuleType) -> None:
    assert mt5.initialize()
    [h1] = mt5.copy_rates_from_pos("USDJPY", mt5.TIMEFRAME_H1, 0, 1)
    assert h1["tick_volume"] == 1 and h1["high"] == h1["open"] == 86.655
    mt5.simulator.advance(3600)
    [h1] = mt5.copy_rates_from_pos("USDJPY", mt5.TIMEFRAME_H1, 0, 1)
    assert h1["tick_volume"] == 1000 and h1["high"] == 86.846


def test_fxcm_bars_take_the_smaller_non_negative_of_open_and_close_spread(
        mt5: ModuleType) -> None:
    with FXCM_BID.open() as b, FXCM_ASK.open() as a:
        bid, ask = list(csv.reader(b))[1:], list(csv.reader(a))[1:]
    assert mt5.initialize()
    mt5.simulator.advance(40 * 86400)
    bars = mt5.copy_rates_from_pos("GBPUSD", mt5.TIMEFRAME_M1, 0, 100_000)
    assert len(bars) == len(bid) == 30_117
    assert (bars["open"][0], bars["close"][0]) == (float(bid[0][1]), float(bid[0][4]))
    pts = [(round((float(x[1]) - float(y[1])) * 1e5), round((float(x[4]) - float(y[4])) * 1e5))
           for y, x in zip(bid, ask, strict=True)]
    expected = [min(s for s in p if s >= 0) if max(p) >= 0 else max(p) for p in pts]
    assert bars["spread"].tolist() == expected
    assert int(np.sum(bars["spread"] < 0)) == 18


def test_bar_only_symbol_quotes_its_last_closed_bar(mt5: ModuleType) -> None:
    assert mt5.initialize()
    assert mt5.symbol_info_tick("GBPUSD").time_msc == 0  # nothing closed yet
    mt5.simulator.advance(125)
    tick = mt5.symbol_info_tick("GBPUSD")
    assert (tick.time_msc, tick.bid, tick.ask) == (
        utc_ms("2012-02-01T00:02:00+00:00"), 1.57543, 1.57552)  # close of the 00:01 bar


def test_sim2019_dataset_serves_overlapping_pairs(mt5: ModuleType) -> None:
    mt5.simulator.configure(dataset="sim2019")
    assert mt5.initialize()
    assert mt5.symbol_info_tick("EURUSD").time_msc == utc_ms("2019-01-01T23:00:00.078+00:00")
    assert mt5.symbol_info_tick("USDJPY").time_msc == utc_ms("2019-01-01T23:00:00.071+00:00")


def test_data_dir_comes_from_the_environment(mt5: ModuleType, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIFECTA_FAKE_MT5_DATA_DIR", str(tmp_path))
    mt5.simulator.configure()
    assert mt5.initialize()
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        mt5.symbol_info("EURUSD")


# -- switches ---------------------------------------------------------------------------------

def test_dropped_terminal_fails_calls_until_initialize_succeeds(mt5: ModuleType) -> None:
    assert mt5.initialize()
    mt5.simulator.drop(refuse_initialize=1)
    assert mt5.symbol_info_tick("EURUSD") is None
    assert mt5.last_error()[0] == mt5.RES_E_INTERNAL_FAIL_CONNECT
    assert mt5.initialize() is False
    assert mt5.last_error()[0] == mt5.RES_E_INTERNAL_FAIL_INIT
    assert mt5.initialize() is True
    assert mt5.symbol_info_tick("EURUSD").time_msc == EURUSD_T0_MS
    assert mt5.simulator.calls("initialize") == 3


def test_injected_failure_hits_the_next_call_only(mt5: ModuleType) -> None:
    assert mt5.initialize()
    mt5.simulator.fail_next("copy_ticks_range", mt5.RES_E_INTERNAL_FAIL_TIMEOUT)
    assert mt5.copy_ticks_range("EURUSD", START, FAR, mt5.COPY_TICKS_ALL) is None
    assert mt5.last_error() == (-10005, "IPC timeout")
    assert len(mt5.copy_ticks_range("EURUSD", START, FAR, mt5.COPY_TICKS_ALL)) == 1


def test_login_must_match_the_account(mt5: ModuleType) -> None:
    mt5.simulator.set_account(123, "right", "Broker-Demo")
    assert mt5.initialize(login=123, password="wrong", server="Broker-Demo") is False
    assert mt5.last_error() == (-6, "Terminal: Authorization failed")
    assert mt5.initialize(login=123, password="right", server="Broker-Demo") is True
    assert mt5.account_info().login == 123


def test_server_offset_shifts_times_both_ways(mt5: ModuleType) -> None:
    mt5.simulator.configure(server_utc_offset_s=7200)
    assert mt5.initialize()
    assert mt5.symbol_info_tick("EURUSD").time_msc == EURUSD_T0_MS + 7_200_000
    server_t0 = datetime.fromtimestamp(EURUSD_T0_MS / 1000 + 7200, UTC)
    got = mt5.copy_ticks_range("EURUSD", server_t0, server_t0, mt5.COPY_TICKS_ALL)
    assert [int(t) for t in got["time_msc"]] == [EURUSD_T0_MS + 7_200_000]
