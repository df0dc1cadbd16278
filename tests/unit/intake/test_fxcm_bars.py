from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from libs.common.clock import TestClock
from libs.common.errors import ValidationFailed
from libs.common.events import BarClosed, decode, encode
from services.intake.adapters.fxcm_bars import parse_timestamp, read_fxcm_bars
from services.intake.domain.bars import BarInvalid, OhlcRow, check_ohlc, is_crossed, make_bar
from services.intake.domain.instruments import FXCM_GBPUSD
from services.intake.domain.records import BadLine

D = Decimal
HEADER = "timestamp,open,high,low,close"
T0 = 1328054400 * 10**9  # 2012-02-01 00:00:00 UTC
MIN = 60 * 10**9


def write_pair(tmp_path: Path, bid_rows: list[str], ask_rows: list[str]) -> tuple[Path, Path]:
    bid, ask = tmp_path / "bid.csv", tmp_path / "ask.csv"
    bid.write_text("\n".join([HEADER, *bid_rows]) + "\n")
    ask.write_text("\n".join([HEADER, *ask_rows]) + "\n")
    return bid, ask


def row(minute: int, o: str, h: str, low: str, c: str) -> str:
    return f"2012-02-01 00:{minute:02d}:00+00:00,{o},{h},{low},{c}"


def read(bid: Path, ask: Path) -> list[BarClosed | BadLine]:
    return list(read_fxcm_bars(bid, ask, clock=TestClock(99)))


def test_bid_and_ask_rows_join_into_one_bar_known_at_its_close(tmp_path: Path) -> None:
    bid, ask = write_pair(tmp_path, [row(0, "1.5", "1.6", "1.4", "1.55")],
                          [row(0, "1.51", "1.61", "1.41", "1.56")])
    [bar] = read(bid, ask)
    assert isinstance(bar, BarClosed)
    assert (bar.instrument_id, bar.venue, bar.symbol, bar.base, bar.quote) == (
        "GBP/USD.FXCM", "FXCM", "GBPUSD", "GBP", "USD")
    assert (bar.timeframe_s, bar.ts_open, bar.ts_event, bar.ts_init) == (60, T0, T0 + MIN, 99)
    assert (bar.bid_open, bar.bid_high, bar.bid_low, bar.bid_close) == (
        D("1.5"), D("1.6"), D("1.4"), D("1.55"))
    assert (bar.ask_open, bar.ask_close) == (D("1.51"), D("1.56"))
    assert decode(encode(bar)) == bar


def test_timestamp_in_one_file_only_is_reported_not_dropped(tmp_path: Path) -> None:
    bid, ask = write_pair(
        tmp_path,
        [row(0, "1.5", "1.6", "1.4", "1.5"), row(1, "1.5", "1.6", "1.4", "1.5"),
         row(2, "1.5", "1.6", "1.4", "1.5")],
        [row(0, "1.5", "1.6", "1.4", "1.5"), row(2, "1.5", "1.6", "1.4", "1.5")],
    )
    out = read(bid, ask)
    assert [type(o) for o in out] == [BarClosed, BadLine, BarClosed]
    bad = out[1]
    assert isinstance(bad, BadLine)
    assert (bad.source, bad.line_no, bad.ts_recv) == ("bid.csv", 3, T0 + 2 * MIN)
    assert "no row for it in ask.csv" in bad.reason


def test_high_below_low_is_a_bad_row_and_other_bars_still_come(tmp_path: Path) -> None:
    bid, ask = write_pair(
        tmp_path,
        [row(0, "1.5", "1.6", "1.4", "1.5"), row(1, "1.5", "1.6", "1.4", "1.5")],
        [row(0, "1.5", "1.3", "1.4", "1.5"), row(1, "1.5", "1.6", "1.4", "1.5")],
    )
    out = read(bid, ask)
    kinds = [(type(o).__name__, getattr(o, "source", None)) for o in out]
    assert kinds == [("BadLine", "ask.csv"), ("BadLine", "bid.csv"), ("BarClosed", None)]
    assert "high < low" in out[0].reason  # type: ignore[union-attr]
    assert "ask.csv was rejected (line 2)" in out[1].reason  # type: ignore[union-attr]


@pytest.mark.parametrize("values, rule", [
    (("0", "1.6", "0", "1.5"), "non-positive"),
    (("1.7", "1.6", "1.4", "1.5"), "outside"),
    (("1.5", "1.6", "1.4", "Infinity"), "non-finite"),
])
def test_ohlc_rules_name_what_is_broken(values: tuple[str, str, str, str], rule: str) -> None:
    o, h, low, c = (D(v) for v in values)
    with pytest.raises(BarInvalid, match=rule):
        check_ohlc(OhlcRow(T0, o, h, low, c))


def test_unparseable_and_duplicate_rows_are_bad_lines(tmp_path: Path) -> None:
    bid, ask = write_pair(
        tmp_path,
        [row(0, "1.5", "1.6", "1.4", "1.5"), row(0, "1.5", "1.6", "1.4", "1.5"),
         "2012-02-01 00:01:00+00:00,abc,1,1,1"],
        [row(0, "1.5", "1.6", "1.4", "1.5")],
    )
    out = read(bid, ask)
    bad = sorted((o.line_no, o.reason.split(" ")[0]) for o in out if isinstance(o, BadLine))
    assert bad == [(3, "duplicate"), (4, "unparseable")]
    assert sum(isinstance(o, BarClosed) for o in out) == 1


def test_crossed_close_is_kept_as_the_vendor_gave_it(tmp_path: Path) -> None:
    bid, ask = write_pair(tmp_path, [row(0, "1.5", "1.6", "1.4", "1.55")],
                          [row(0, "1.5", "1.6", "1.4", "1.54")])
    [bar] = read(bid, ask)
    assert isinstance(bar, BarClosed) and is_crossed(bar)


def test_wrong_header_stops_with_a_clear_error(tmp_path: Path) -> None:
    bid, ask = write_pair(tmp_path, [], [])
    bid.write_text("time,o,h,l,c\n")
    with pytest.raises(ValidationFailed, match="bid.csv:1: header"):
        read(bid, ask)


def test_timestamp_needs_an_offset_and_converts_exactly() -> None:
    assert parse_timestamp("2012-02-01 00:00:00+00:00") == T0
    assert parse_timestamp("2012-02-01 01:00:00+01:00") == T0
    with pytest.raises(ValueError):
        parse_timestamp("2012-02-01 00:00:00")


def test_make_bar_refuses_rows_of_different_minutes() -> None:
    a = OhlcRow(T0, D(1), D(1), D(1), D(1))
    b = OhlcRow(T0 + MIN, D(1), D(1), D(1), D(1))
    with pytest.raises(BarInvalid):
        make_bar(FXCM_GBPUSD, a, b, ts_init=0)
