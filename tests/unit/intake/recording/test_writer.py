"""The Recorder: files readable back exactly, rotation, crash safety, counters."""
from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from libs.common.clock import TestClock
from libs.common.errors import ConfigurationError
from services.intake.domain.records import BadLine
from services.intake.recording.detect import Format, detect
from services.intake.recording.format import parse_header
from services.intake.recording.readers import TrifectaReader
from services.intake.recording.records import RawMessage
from services.intake.recording.writer import Recorder

T0 = 1_700_000_000_000_000_000
MESSAGES = [
    (T0 + 1, "connect", "wss://127.0.0.1:1/ws"),
    (T0 + 2, "sent", '{"event":"subscribe","channel":["book_lv2"]}'),
    (T0 + 3, "ws", '{"channel":"book_lv2","action":"update"}'),
    (T0 + 4, "rest:https://127.0.0.1/depth?symbol=BTC_USDT", '{"bids":[],\n"asks":[]}'),
    (T0 + 5, "ws", b"\x00\xffbinary frame"),
]


def read_back(path: Path) -> list[RawMessage | BadLine]:
    d = detect(path)
    assert d.format is Format.TRIFECTA
    reader = TrifectaReader(path.name, d.format, d.venue, "x", (path,))
    return list(reader.records())  # type: ignore[arg-type]


def test_recorded_messages_read_back_exactly(tmp_path: Path) -> None:
    with Recorder(tmp_path, "POLONIEX", ("book_lv2",), clock=TestClock(T0)) as rec:
        for ts, source, payload in MESSAGES:
            rec.write(ts, source, payload)
    (path,) = rec.paths
    header = parse_header(gzip.open(path).readline())
    assert (header.venue, header.channels, header.part) == ("POLONIEX", ("book_lv2",), 0)
    got = read_back(path)
    assert all(isinstance(m, RawMessage) for m in got)
    assert [(m.ts_recv, m.channel, m.payload) for m in got] == MESSAGES  # type: ignore[union-attr]
    assert [m.line_no for m in got] == [2, 3, 4, 5, 6]
    assert {m.venue for m in got} == {"POLONIEX"}  # type: ignore[union-attr]


def test_files_rotate_by_size_and_every_part_is_a_complete_recording(tmp_path: Path) -> None:
    rec = Recorder(tmp_path, "KRAKEN", clock=TestClock(T0), rotate_bytes=400, session="rec-abc")
    for i in range(20):
        rec.write(T0 + i, "ws", f'{{"n":{i},"pad":"{"x" * 40}"}}')
    rec.close()
    assert len(rec.paths) >= 3 and rec.stats.rotations == len(rec.paths) - 1
    seen = []
    for part, path in enumerate(rec.paths):
        header = parse_header(gzip.open(path).readline())
        assert (header.session, header.part) == ("rec-abc", part)
        seen += [m.payload for m in read_back(path)]  # type: ignore[union-attr]
        assert gzip.open(path).read().count(b"\n") <= 1 + 400 // 50
    assert seen == [f'{{"n":{i},"pad":"{"x" * 40}"}}' for i in range(20)]


def test_files_rotate_by_receive_time(tmp_path: Path) -> None:
    rec = Recorder(tmp_path, "OKX", clock=TestClock(T0), rotate_s=10)
    for s in (0, 4, 9, 10, 15, 25):
        rec.write(T0 + s * 1_000_000_000, "ws", str(s))
    rec.close()
    per_file = [[m.payload for m in read_back(p)] for p in rec.paths]  # type: ignore[union-attr]
    assert per_file == [["0", "4", "9"], ["10", "15"], ["25"]]


def test_a_crash_loses_at_most_the_unflushed_buffer(tmp_path: Path) -> None:
    clock = TestClock(T0)
    rec = Recorder(tmp_path / "rec", "BITSTAMP", clock=clock, flush_interval_s=1.0)
    for i in range(5):
        rec.write(T0 + i, "ws", f"flushed-{i}")
    clock.advance(1_000_000_000)
    assert rec.maybe_flush() is True
    for i in range(3):
        rec.write(T0 + 10 + i, "ws", f"buffered-{i}")
    assert rec.stats.buffered == 3
    # The process dies here: copy the file as it is on disk, never closed.
    crashed = tmp_path / "crashed.rec.gz"
    shutil.copy(rec.paths[0], crashed)
    got = read_back(crashed)
    assert [m.payload for m in got[:-1]] == [f"flushed-{i}" for i in range(5)]  # type: ignore[union-attr]
    last = got[-1]
    assert isinstance(last, BadLine) and "truncated" in last.reason
    assert last.describe().startswith("crashed.rec.gz:7: ")
    rec.close()
    assert [m.payload for m in read_back(rec.paths[0])] == (  # type: ignore[union-attr]
        [f"flushed-{i}" for i in range(5)] + [f"buffered-{i}" for i in range(3)])


def test_the_buffer_flushes_when_full(tmp_path: Path) -> None:
    rec = Recorder(tmp_path, "GEMINI", clock=TestClock(T0), buffer_bytes=100)
    rec.write(T0, "ws", "a" * 200)
    assert rec.stats.buffered == 0 and rec.stats.flushes >= 2  # header, then the big line
    rec.close()


def test_counters_and_view_say_what_was_written(tmp_path: Path) -> None:
    with Recorder(tmp_path, "POLONIEX", clock=TestClock(T0)) as rec:
        for ts, source, payload in MESSAGES:
            rec.write(ts, source, payload)
        s = rec.stats
        assert s.messages == 5
        assert dict(s.by_source) == {"connect": 1, "sent": 1, "ws": 2, "rest": 1}
        assert (s.first_ts_recv, s.last_ts_recv) == (T0 + 1, T0 + 5)
        assert rec.view().startswith("5 msgs (connect 1, rest 1, sent 1, ws 2)")
    assert s.bytes_text == len(gzip.open(rec.paths[0]).read())


def test_recordings_are_never_overwritten(tmp_path: Path) -> None:
    a = Recorder(tmp_path, "OKX", clock=TestClock(T0), session="rec-same")
    a.write(T0, "ws", "1")
    a.close()
    b = Recorder(tmp_path, "OKX", clock=TestClock(T0), session="rec-same")
    with pytest.raises(ConfigurationError, match="refusing to overwrite"):
        b.write(T0, "ws", "2")


def test_writing_after_close_is_an_error(tmp_path: Path) -> None:
    rec = Recorder(tmp_path, "OKX", clock=TestClock(T0))
    rec.close()
    rec.close()
    with pytest.raises(ValueError, match="closed"):
        rec.write(T0, "ws", "x")
