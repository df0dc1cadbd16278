from __future__ import annotations

import gzip
from decimal import Decimal
from pathlib import Path

import pytest

from services.intake.adapters.hftbacktest_file import MalformedLine, parse_line, read_hftbacktest
from services.intake.domain.records import (
    BadLine,
    RawBookTicker,
    RawDepthUpdate,
    RawSnapshot,
    RawTrade,
)

D = Decimal
SNAPSHOT = '{"lastUpdateId":100,"E":1700,"bids":[["10.5","1.0"]],"asks":[["11.0","2"]]}'
SPOT_DIFF = ('{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161255208,'
             '"s":"BTCUSDT","U":95,"u":105,"b":[["10.40","0.000"]],"a":[]}}')
FUT_DIFF = ('{"stream":"btcusdt@depth@0ms","data":{"e":"depthUpdate","E":5,"T":4,"s":"BTCUSDT",'
            '"U":106,"u":110,"pu":105,"b":[],"a":[["11.1","3"]]}}')
SPOT_TICKER = ('{"stream":"btcusdt@bookTicker","data":{"u":7,"s":"BTCUSDT","b":"10.5",'
               '"B":"1","a":"11.0","A":"2"}}')
TRADE = ('{"stream":"btcusdt@trade","data":{"e":"trade","E":9,"s":"BTCUSDT","t":3,"p":"10.6",'
         '"q":"0.02","T":8,"m":true}}')


def write_gz(tmp_path: Path, lines: list[str], name: str = "cap.gz") -> Path:
    path = tmp_path / name
    with gzip.open(path, "wt") as fh:
        fh.write("".join(line + "\n" for line in lines))
    return path


def test_snapshot_line_becomes_typed_snapshot() -> None:
    rec = parse_line(f"123 {SNAPSHOT}\n".encode(), "f.gz", 1)
    assert rec == RawSnapshot("f.gz", 1, 123, 100, 1700, None, ((D("10.5"), D("1.0")),),
                              ((D("11.0"), D("2")),))


def test_spot_diff_has_no_pu_and_futures_diff_has_one() -> None:
    spot = parse_line(f"1 {SPOT_DIFF}", "s.gz", 2)
    fut = parse_line(f"2 {FUT_DIFF}", "f.gz", 3)
    assert isinstance(spot, RawDepthUpdate) and isinstance(fut, RawDepthUpdate)
    assert (spot.first_update_id, spot.final_update_id, spot.prev_final_update_id) == (95, 105,
                                                                                       None)
    assert spot.event_time_ms == 1723161255208
    assert spot.bids == ((D("10.40"), D("0")),)
    assert (fut.prev_final_update_id, fut.asks) == (105, ((D("11.1"), D("3")),))


def test_book_ticker_and_trade_are_typed() -> None:
    ticker = parse_line(f"3 {SPOT_TICKER}", "s.gz", 4)
    trade = parse_line(f"4 {TRADE}", "s.gz", 5)
    assert ticker == RawBookTicker("s.gz", 4, 3, "BTCUSDT", 7, D("10.5"), D("1"), D("11.0"),
                                   D("2"))
    assert trade == RawTrade("s.gz", 5, 4, "BTCUSDT", 9, 3, D("10.6"), D("0.02"), True)


@pytest.mark.parametrize("line, reason_part", [
    ("not-a-number {}", "receive timestamp"),
    ("123", "expected '<receive_ts_ns> <json>'"),
    ("123 {bad json", "invalid JSON"),
    ("123 [1, 2]", "not an object"),
    ('123 {"hello": 1}', "neither"),
    ('123 {"stream":"x@depth","data":{"e":"depthUpdate","E":1,"s":"X","U":1,"b":[],"a":[]}}',
     "'u'"),
    ('123 {"lastUpdateId":1,"bids":[["1.0"]],"asks":[]}', "'bids'"),
    ('123 {"lastUpdateId":1,"bids":[["-1.0","1"]],"asks":[]}', "out of range"),
    ('123 {"lastUpdateId":1,"bids":[["NaN","1"]],"asks":[]}', "NaN"),
    ('123 {"stream":"x@kline_1m","data":{"e":"kline"}}', "unknown stream"),
])
def test_malformed_line_error_names_file_line_and_reason(line: str, reason_part: str) -> None:
    with pytest.raises(MalformedLine) as info:
        parse_line(line, "cap.gz", 17)
    assert info.value.source == "cap.gz"
    assert info.value.line_no == 17
    assert reason_part in info.value.reason
    assert str(info.value).startswith("cap.gz:17: ")


def test_bad_line_is_yielded_and_reading_goes_on(tmp_path: Path) -> None:
    path = write_gz(tmp_path, [f"10 {SNAPSHOT}", "20 {oops", f"30 {SPOT_DIFF}"])
    records = list(read_hftbacktest(path))
    assert [type(r) for r in records] == [RawSnapshot, BadLine, RawDepthUpdate]
    bad = records[1]
    assert isinstance(bad, BadLine)
    assert (bad.source, bad.line_no, bad.ts_recv, bad.text) == ("cap.gz", 2, 20, "20 {oops")
    assert bad.describe().startswith("cap.gz:2: invalid JSON")


def test_unreadable_timestamp_takes_previous_line_time(tmp_path: Path) -> None:
    path = write_gz(tmp_path, [f"10 {SNAPSHOT}", f"x {SPOT_DIFF}"])
    bad = list(read_hftbacktest(path))[1]
    assert isinstance(bad, BadLine) and bad.ts_recv == 10


def test_truncated_gzip_ends_with_one_bad_line(tmp_path: Path) -> None:
    full = write_gz(tmp_path, [f"{i} {SPOT_DIFF}" for i in range(2000)])
    cut = tmp_path / "cut.gz"
    cut.write_bytes(full.read_bytes()[: len(full.read_bytes()) // 2])
    records = list(read_hftbacktest(cut))
    assert all(isinstance(r, RawDepthUpdate) for r in records[:-1])
    last = records[-1]
    assert isinstance(last, BadLine) and "unreadable gzip" in last.reason
    assert last.line_no == len(records)


def test_missing_capture_raises_at_once(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        next(read_hftbacktest(tmp_path / "nope.gz"))


def test_source_name_defaults_to_file_name_and_can_be_set(tmp_path: Path) -> None:
    path = write_gz(tmp_path, [f"10 {SNAPSHOT}"], name="a.gz")
    assert next(read_hftbacktest(path)).source == "a.gz"
    assert next(read_hftbacktest(path, source="other")).source == "other"
