"""Recorded forex tick readers: the three file formats, exact times, bad rows in place."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from libs.common.errors import ValidationFailed
from services.intake.adapters.pocketoption.ticks import (
    PriceSource,
    RecordedTick,
    TickFormat,
    parse_histdata_row,
    parse_nautilus_decoded_row,
    parse_truefx_row,
    read_ticks,
)
from services.intake.adapters.recorded import DEFAULT_DATA_DIR
from services.intake.domain.records import BadLine

FOREX = DEFAULT_DATA_DIR / "forex"


def ns(text: str) -> int:
    dt = datetime.fromisoformat(text).replace(tzinfo=UTC)
    return int(dt.timestamp()) * 10**9 + dt.microsecond * 1000


def test_truefx_row_is_utc_to_the_microsecond() -> None:
    assert parse_truefx_row(["2013-01-01 22:00:00.295000+00:00", "86.655", "86.728"]) == (
        ns("2013-01-01 22:00:00.295000"), Decimal("86.655"), Decimal("86.728"))


def test_histdata_row_is_est_shifted_to_utc() -> None:
    # 17:00:00.065 EST (UTC-5, no DST) is 22:00:00.065 UTC.
    assert parse_histdata_row(["20200101 170000065", "1.121200", "1.121720", "0"]) == (
        ns("2020-01-01 22:00:00.065"), Decimal("1.121200"), Decimal("1.121720"))


def test_nautilus_row_keeps_the_original_integer_time() -> None:
    assert parse_nautilus_decoded_row(["2019-01-01T23:00:00.078000Z", "1546383600078000128",
                                       "1.14605", "1.14643"]) == (
        1546383600078000128, Decimal("1.14605"), Decimal("1.14643"))


@pytest.mark.parametrize(("parse", "fields", "why"), [
    (parse_truefx_row, ["2013-01-01 22:00:00", "1", "2"], "has no UTC offset"),
    (parse_truefx_row, ["2013-01-01 22:00:00+00:00", "1"], "2 fields, expected 3"),
    (parse_truefx_row, ["2013-01-01 22:00:00+00:00", "x", "2"], "price not a number"),
    (parse_truefx_row, ["2013-01-01 22:00:00+00:00", "0", "2"], "must be positive"),
    (parse_histdata_row, ["2020-01-01 17:00", "1", "2", "0"], "is not 'YYYYMMDD HHMMSSmmm'"),
    (parse_nautilus_decoded_row, ["2019-01-01T23:00:00.078000Z", "1546383600079000000", "1",
                                  "2"], "is not the time"),
    (parse_nautilus_decoded_row, ["2019-01-01T23:00:00.078000", "1546383600078000000", "1",
                                  "2"], "does not end in Z"),
    (parse_nautilus_decoded_row, ["2019-01-01T23:00:00.078000Z", "1.5e18", "1", "2"],
     "is not an integer"),
])
def test_bad_rows_name_the_problem(parse: object, fields: list[str], why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse(fields)  # type: ignore[operator]


def test_mid_bid_and_ask_prices_of_a_tick() -> None:
    tick = RecordedTick("f", 2, 1, Decimal("1.14605"), Decimal("1.14643"))
    assert tick.price() == Decimal("1.14624")
    assert tick.price(PriceSource.BID) == Decimal("1.14605")
    assert tick.price(PriceSource.ASK) == Decimal("1.14643")


def test_bad_rows_and_time_going_back_become_bad_lines_in_place(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("timestamp,bid,ask\n"
                    "2013-01-01 22:00:01+00:00,86.6,86.7\n"
                    "2013-01-01 22:00:02+00:00,abc,86.7\n"
                    "2013-01-01 22:00:00+00:00,86.6,86.7\n"
                    "2013-01-01 22:00:02+00:00,86.5,86.6\n")
    items = list(read_ticks(path, TickFormat.TRUEFX))
    assert [type(i) for i in items] == [RecordedTick, BadLine, BadLine, RecordedTick]
    assert isinstance(items[1], BadLine) and items[1].line_no == 3
    assert items[1].reason.startswith("unparseable row: price not a number")
    assert isinstance(items[2], BadLine) and items[2].reason == (
        "time goes back 1000000000 ns; row skipped")
    assert items[2].ts_recv == ns("2013-01-01 22:00:01")  # sorts after the last good row


def test_wrong_header_and_missing_file_raise(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("time,bid,ask\n")
    with pytest.raises(ValidationFailed, match="header"):
        list(read_ticks(path, TickFormat.TRUEFX))
    with pytest.raises(FileNotFoundError):
        list(read_ticks(tmp_path / "none.csv", TickFormat.TRUEFX))


@pytest.mark.parametrize(("name", "fmt", "rows", "first", "last"), [
    ("truefx/usdjpy-ticks.csv", TickFormat.TRUEFX, 1000,
     ns("2013-01-01 22:00:00.295"), ns("2013-01-01 22:35:13.494")),
    ("histdata/eurusd_ticks_2020-01-01_quote_tick_data.csv", TickFormat.HISTDATA, 9500,
     ns("2020-01-01 22:00:00.065"), ns("2020-01-02 04:00:52.125")),
    ("nautilus_sim_2019/eurusd_ticks_2019-01-01T23_decoded.csv", TickFormat.NAUTILUS_DECODED,
     10000, 1546383600078000128, 1546392969581000192),
    ("nautilus_sim_2019/usdjpy_ticks_2019-01-01T23_decoded.csv", TickFormat.NAUTILUS_DECODED,
     10000, 1546383600071000064, 1546394443513999872),
])
def test_recorded_files_read_whole_and_clean(name: str, fmt: TickFormat, rows: int, first: int,
                                             last: int) -> None:
    read = list(read_ticks(FOREX / name, fmt))
    items = [i for i in read if isinstance(i, RecordedTick)]
    assert len(items) == len(read) == rows  # no BadLine in the recorded files
    assert (items[0].ts_ns, items[-1].ts_ns) == (first, last)
