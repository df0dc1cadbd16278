"""Detection by content and the readers, on the real recorded files and on broken copies.

Expected counts are computed here from the raw files (the Python equivalent of `zcat | grep -c`),
never typed in.
"""
from __future__ import annotations

import gzip
import re
import shutil
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from libs.common.clock import TestClock
from services.intake.domain.records import BadLine
from services.intake.recording.detect import Format, detect
from services.intake.recording.readers import CryptofeedReader, Reader, plan
from services.intake.recording.records import RawMessage, TickRow
from services.intake.recording.writer import Recorder
from tests.unit.intake.recording.helpers import CRYPTOFEED, DATA, FOREX

CF_FILES = sorted(CRYPTOFEED.glob("*.gz"))


def expected_format(rel: str) -> Format:
    if rel.startswith("binance/") and rel.endswith(".gz"):
        return Format.HFTBACKTEST
    if rel.startswith("cryptofeed/master_format1/") and rel.endswith(".gz"):
        return Format.CRYPTOFEED
    if rel.startswith("fxcm/") and rel.endswith(".csv"):
        return Format.FXCM_BARS
    if rel.startswith("forex/truefx/") and rel.endswith(".csv"):
        return Format.TRUEFX_TICKS
    if rel.startswith("forex/histdata/"):
        return Format.HISTDATA_TICKS
    if rel.startswith("forex/nautilus_sim_2019/") and rel.endswith("_decoded.csv"):
        return Format.DECODED_TICKS
    return Format.UNKNOWN


def test_every_file_in_data_recorded_is_told_apart_by_content() -> None:
    for path in sorted(p for p in DATA.rglob("*") if p.is_file()):
        rel = path.relative_to(DATA).as_posix()
        d = detect(path)
        assert d.format is expected_format(rel), rel
        if d.format is Format.CRYPTOFEED:
            assert d.venue == path.name.split(".")[0], rel
        if d.format is Format.UNKNOWN:
            assert d.reason, rel


def test_detection_does_not_need_the_file_names(tmp_path: Path) -> None:
    copies = {
        "a.gz": (DATA / "binance" / "binance_spot_btcusdt_20240808.gz", Format.HFTBACKTEST, ""),
        "b.gz": (CRYPTOFEED / "POLONIEX.ws.1.0.gz", Format.CRYPTOFEED, "POLONIEX"),
        "c.gz": (CRYPTOFEED / "BITSTAMP.http.0.0.gz", Format.CRYPTOFEED, "BITSTAMP"),
        "d.gz": (CRYPTOFEED / "KRAKEN.ws.49.0.gz", Format.CRYPTOFEED, "KRAKEN"),
        "eurusd_e.dat": (FOREX / "histdata" / "eurusd_ticks_2020-01-01_quote_tick_data.csv",
                         Format.HISTDATA_TICKS, "HISTDATA"),
    }
    for name, (src, fmt, venue) in copies.items():
        shutil.copy(src, tmp_path / name)
        d = detect(tmp_path / name)
        assert d.format is fmt, name
        if venue:
            assert d.venue == venue, name
    with Recorder(tmp_path / "rec", "OKX", clock=TestClock(1)) as rec:
        rec.write(2, "ws", "{}")
    moved = tmp_path / "looks_like.csv"
    rec.paths[0].rename(moved)
    d = detect(moved)
    assert (d.format, d.venue) == (Format.TRIFECTA, "OKX")


def independent_counts(path: Path) -> Counter[str]:
    """Line kinds of a cryptofeed file, counted from the text."""
    c: Counter[str] = Counter()
    for line in gzip.open(path, "rt", encoding="utf-8"):
        line = line.rstrip("\n")
        head = line.split(": ", 1)[0]
        if not line.strip():
            c["blank"] += 1
        elif line.startswith("configuration: "):
            c["config"] += 1
        elif re.fullmatch(r"[0-9.]+", head):
            c["ws"] += 1
        elif " -> " in head:
            c["rest"] += 1
        elif " <- " in head:
            c["sent"] += 1
        elif " <-> " in line:
            c["connect"] += 1
        else:
            c["other"] += 1
    return c


def cf_reader(path: Path, name: str | None = None) -> Reader:
    d = detect(path)
    return CryptofeedReader(name or path.name, d.format, d.venue, "cf", (path,))


@pytest.mark.parametrize("path", CF_FILES, ids=lambda p: p.name)
def test_cryptofeed_reader_reads_every_line_of_the_real_file(path: Path) -> None:
    reader = cf_reader(path)
    records = list(reader.records())
    assert not [r for r in records if isinstance(r, BadLine)]
    got = Counter(r.kind for r in records if isinstance(r, RawMessage))
    want = independent_counts(path)
    assert want["other"] == 0
    assert reader.blank == want.pop("blank", 0)
    assert got == want
    assert reader.progress() == 1.0
    keys = [r.ts_recv for r in records]
    assert keys == sorted(keys)
    assert all(r.venue == path.name.split(".")[0] for r in records)  # type: ignore[union-attr]


def test_cryptofeed_receive_times_are_exact_ns_from_the_text() -> None:
    records = list(cf_reader(CRYPTOFEED / "POLONIEX.ws.1.0.gz").records())
    first_ws = next(r for r in records if isinstance(r, RawMessage) and r.kind == "ws")
    assert first_ws.ts_recv == 1_661_123_517_853_288_000  # line 4 reads 1661123517.853288
    assert first_ws.line_no == 4


def forex_rows(reader: Reader) -> list[TickRow]:
    out = list(reader.records())
    assert not [r for r in out if isinstance(r, BadLine)]
    return out  # type: ignore[return-value]


def the_reader(path: Path) -> Reader:
    (reader,) = plan([path], clock=TestClock(1)).readers
    return reader


def test_truefx_reader_gives_every_row_in_utc() -> None:
    path = FOREX / "truefx" / "usdjpy-ticks.csv"
    rows = forex_rows(the_reader(path))
    lines = path.read_text().splitlines()
    assert len(rows) == len(lines) - 1
    first = lines[1].split(",")
    assert rows[0].ts_recv == int(datetime.fromisoformat(first[0]).timestamp() * 1e6) * 1000
    assert (str(rows[0].bid), str(rows[0].ask)) == (first[1], first[2])
    assert rows[0].instrument.instrument_id == "USD/JPY.TRUEFX"


def test_histdata_reader_converts_est_to_utc() -> None:
    path = FOREX / "histdata" / "eurusd_ticks_2020-01-01_quote_tick_data.csv"
    rows = forex_rows(the_reader(path))
    lines = path.read_text().splitlines()
    assert len(rows) == len(lines)
    stamp, bid, ask, _ = lines[0].split(",")
    est = datetime.strptime(stamp, "%Y%m%d %H%M%S%f")
    utc = datetime(est.year, est.month, est.day, est.hour + 5, est.minute, est.second,
                   est.microsecond, tzinfo=UTC)
    assert rows[0].ts_recv == int(utc.timestamp()) * 10**9 + est.microsecond * 1000
    assert datetime.fromtimestamp(rows[0].ts_recv / 1e9, UTC).hour == 22  # 17:00 EST
    assert (str(rows[0].bid), str(rows[0].ask)) == (bid, ask)
    assert rows[0].instrument.instrument_id == "EUR/USD.HISTDATA"


@pytest.mark.parametrize("name, iid", [("eurusd_ticks_2019-01-01T23_decoded.csv", "EUR/USD.SIM"),
                                       ("usdjpy_ticks_2019-01-01T23_decoded.csv", "USD/JPY.SIM")])
def test_decoded_2019_reader_uses_the_original_ns_column(name: str, iid: str) -> None:
    path = FOREX / "nautilus_sim_2019" / name
    rows = forex_rows(the_reader(path))
    lines = path.read_text().splitlines()[1:]
    assert len(rows) == len(lines)
    assert [r.ts_recv for r in rows] == [int(x.split(",")[1]) for x in lines]
    assert {r.instrument.instrument_id for r in rows} == {iid}


def test_malformed_cryptofeed_lines_become_bad_lines_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "POLONIEX.ws.9.0.gz"
    src = gzip.open(CRYPTOFEED / "POLONIEX.ws.1.0.gz", "rt").read().splitlines()
    broken = src[:5] + ["garbage without a timestamp", "12x.5: {}"] + src[5:10]
    path.write_bytes(gzip.compress(("\n".join(broken) + "\n").encode()))
    records = list(cf_reader(path, "cf/POLONIEX.ws.9.0.gz").records())
    bad = [r for r in records if isinstance(r, BadLine)]
    assert [b.describe().split(": ")[0] for b in bad] == ["cf/POLONIEX.ws.9.0.gz:6",
                                                          "cf/POLONIEX.ws.9.0.gz:7"]
    assert all("not a cryptofeed format-1 line" in b.reason for b in bad)
    assert bad[0].ts_recv == records[4].ts_recv  # sorts where it was
    assert len([r for r in records if isinstance(r, RawMessage)]) == 10


def test_a_truncated_gzip_keeps_its_complete_lines(tmp_path: Path) -> None:
    raw = (CRYPTOFEED / "POLONIEX.ws.1.0.gz").read_bytes()
    path = tmp_path / "POLONIEX.ws.1.0.gz"
    path.write_bytes(raw[: len(raw) // 2])
    records = list(cf_reader(path).records())
    *good, last = records
    assert isinstance(last, BadLine) and "truncated" in last.reason
    full = gzip.open(CRYPTOFEED / "POLONIEX.ws.1.0.gz", "rt").read().splitlines()
    assert 0 < len(good) < len(full)
    assert [r.line_no for r in good] == list(range(1, len(good) + 1))
    assert good[-1].payload == full[len(good) - 1].split(": ", 1)[1]  # type: ignore[union-attr]


def test_bad_tick_rows_are_reported_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "usdjpy-ticks.csv"
    path.write_text("timestamp,bid,ask\n"
                    "2013-01-01 22:00:00.295000+00:00,86.655,86.728\n"
                    "2013-01-01 22:00:01+00:00,86.9,86.7\n"          # crossed
                    "2013-01-01 22:00:02,86.6,86.7\n"                 # no offset
                    "2013-01-01 22:00:03+00:00,-1,86.7\n"             # negative
                    "2013-01-01 22:00:04+00:00,86.6\n"                # short
                    "2013-01-01 22:00:05+00:00,86.6,86.8\n")
    records = list(the_reader(path).records())
    bad = {b.line_no: b.reason for b in records if isinstance(b, BadLine)}
    assert sorted(bad) == [3, 4, 5, 6]
    assert "bid 86.9 above ask 86.7" in bad[3]
    assert "no UTC offset" in bad[4]
    assert "out of range" in bad[5]
    assert "2 fields" in bad[6]
    assert [r.line_no for r in records if isinstance(r, TickRow)] == [2, 7]


def test_a_recording_with_a_bad_header_is_reported_not_replayed(tmp_path: Path) -> None:
    path = tmp_path / "x.rec.gz"
    path.write_bytes(gzip.compress(b'{"format":"trifecta-rec","version":9,"venue":"OKX",'
                                   b'"recorded_at_ns":1}\n1 ws {}\n'))
    (reader,) = plan([path], clock=TestClock(1)).readers
    (only,) = list(reader.records())
    assert isinstance(only, BadLine) and only.line_no == 1 and "version 9" in only.reason


def test_plan_pairs_fxcm_files_and_lists_what_it_leaves_out() -> None:
    p = plan([DATA / "fxcm", DATA / "forex"], clock=TestClock(1))
    names = [r.name for r in p.readers]
    assert "fxcm/gbpusd-m1-bid-2012.csv" in names
    assert not any("ask" in n for n in names)
    fx = next(r for r in p.readers if r.name == "fxcm/gbpusd-m1-bid-2012.csv")
    assert [q.name for q in fx.paths] == ["gbpusd-m1-bid-2012.csv", "gbpusd-m1-ask-2012.csv"]
    left_out = dict(p.skipped)
    assert "parquet" in left_out["forex/nautilus_sim_2019/quote_tick_eurusd_2019_sim_rust.parquet"]
    assert names == sorted(names)


def test_appended_gzip_members_read_as_one_text(tmp_path: Path) -> None:
    path = tmp_path / "OKX.ws.1.0.gz"
    first = "wss://ws.okx.com:8443/ws/v5/public <-> 1652459224.5\n"
    second = '1652459225.5: {"event":"subscribe"}\n'
    path.write_bytes(gzip.compress(first.encode()) + gzip.compress(second.encode()))
    records = list(cf_reader(path).records())
    assert [r.kind for r in records] == ["connect", "ws"]  # type: ignore[union-attr]
