"""The replay engine: round trips, deterministic merge order, timelines, pacing, adapters."""
from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from libs.common.clock import TestClock
from libs.common.events import Event, InstrumentsUpdated, QuoteTick, ReplayFinished, encode
from libs.common.testing import factories
from services.intake.adapters.base import AdapterStats, BadMessage
from services.intake.recording.capture import record_adapter
from services.intake.recording.detect import detect
from services.intake.recording.engine import ReplaySummary, replay
from services.intake.recording.readers import CryptofeedReader, TrifectaReader
from services.intake.recording.records import RawMessage
from services.intake.recording.sinks import MemorySink
from services.intake.recording.writer import Recorder
from tests.unit.intake.recording.helpers import CRYPTOFEED, FOREX

T0 = 1_700_000_000_000_000_000
S = 1_000_000_000


def comparable(events: list[Event]) -> list[dict[str, Any]]:
    """Events without what differs between runs by design (random ids, ts_init)."""
    return [e.model_dump(exclude={"event_id", "correlation_id", "ts_init"}) for e in events]


def run(paths: list[Path], **kw: Any) -> tuple[MemorySink, ReplaySummary]:
    sink = MemorySink()
    kw.setdefault("clock", TestClock(1))
    summary = asyncio.run(replay(paths, kw.pop("speed", 0.0), sink, **kw))
    return sink, summary


def write_events(path: Path, items: list[tuple[int, Event]], venue: str = "TEST") -> Path:
    """A trifecta-rec file of `event` lines, renamed to `path`."""
    with Recorder(path.parent / f".tmp-{path.name}", venue, clock=TestClock(T0)) as rec:
        for ts, event in items:
            rec.write(ts, "event", encode(event))
    path.parent.mkdir(parents=True, exist_ok=True)
    rec.paths[0].rename(path)
    return path


def test_record_to_file_to_replay_gives_the_same_records_and_events(tmp_path: Path) -> None:
    originals = [CRYPTOFEED / "POLONIEX.0.gz", CRYPTOFEED / "POLONIEX.ws.1.0.gz"]
    messages: list[RawMessage] = []
    for p in originals:
        d = detect(p)
        messages += [m for m in CryptofeedReader(p.name, d.format, d.venue, "x", (p,)).records()
                     if isinstance(m, RawMessage)]
    with Recorder(tmp_path, "POLONIEX", ("book_lv2", "trades"), clock=TestClock(T0)) as rec:
        for m in messages:
            rec.write(m.ts_recv, m.channel, m.payload)
    (ours,) = rec.paths
    d = detect(ours)
    back = list(TrifectaReader(ours.name, d.format, d.venue, "x", (ours,)).records())
    assert [(m.ts_recv, m.venue, m.channel, m.payload) for m in back] == \
        [(m.ts_recv, m.venue, m.channel, m.payload) for m in messages]  # type: ignore[union-attr]
    original_sink, _ = run(originals)
    replayed_sink, summary = run([ours])
    assert comparable(replayed_sink.events) == comparable(original_sink.events)
    assert summary.files[0].format == "trifecta-rec"
    assert summary.files[0].events["md.book"] == 294


def test_two_runs_give_the_same_sequence() -> None:
    paths = [CRYPTOFEED / "POLONIEX.ws.1.0.gz", CRYPTOFEED / "BITSTAMP.http.0.0.gz",
             CRYPTOFEED / "BITSTAMP.ws.1.0.gz", FOREX / "truefx" / "usdjpy-ticks.csv"]
    a, _ = run(paths)
    b, _ = run(list(reversed(paths)))
    assert [s for s, _ in a.outputs] == [s for s, _ in b.outputs]
    assert comparable(a.events) == comparable(b.events)


def test_equal_times_are_broken_by_file_name_then_line(tmp_path: Path) -> None:
    q = factories.quote
    write_events(tmp_path / "b.rec.gz", [(T0, q(ts_event=1, symbol="B1")),
                                         (T0, q(ts_event=1, symbol="B2")),
                                         (T0 + 5, q(ts_event=5, symbol="B3"))])
    write_events(tmp_path / "a.rec.gz", [(T0, q(ts_event=1, symbol="A1")),
                                         (T0 + 5, q(ts_event=5, symbol="A2"))])
    sink, _ = run([tmp_path / "b.rec.gz", tmp_path / "a.rec.gz"])
    symbols = [e.symbol for e in sink.events if isinstance(e, QuoteTick)]
    assert symbols == ["A1", "B1", "B2", "A2", "B3"]


def test_own_timelines_play_datasets_years_apart_side_by_side(tmp_path: Path) -> None:
    q = factories.quote
    year = 365 * 24 * 3600 * S
    write_events(tmp_path / "old" / "r.rec.gz",
                 [(T0 - 10 * year + i * S, q(ts_event=i, symbol=f"old{i}")) for i in range(3)])
    write_events(tmp_path / "new" / "r.rec.gz",
                 [(T0 + i * 2 * S, q(ts_event=i, symbol=f"new{i}")) for i in range(3)])
    merged, _ = run([tmp_path])
    own, _ = run([tmp_path], own_timelines=True)
    sym = lambda sink: [e.symbol for e in sink.events if isinstance(e, QuoteTick)]  # noqa: E731
    assert sym(merged) == ["old0", "old1", "old2", "new0", "new1", "new2"]
    # Both start at 0 (tie: "new/..." < "old/..."); then old every 1 s, new every 2 s.
    assert sym(own) == ["new0", "old0", "old1", "new1", "old2", "new2"]
    markers = [e for e in own.events if isinstance(e, ReplayFinished)]
    assert sorted((m.source, m.events_published) for m in markers) == [("new/TEST", 3),
                                                                       ("old/TEST", 3)]


def paced(speed: float, tmp_path: Path) -> tuple[list[float], float]:
    q = factories.quote
    write_events(tmp_path / f"p{speed}.rec.gz", [(T0 + int(t * S), q(ts_event=1))
                                                 for t in (0, 0.5, 1.0, 2.0)])
    clock = TestClock(T0)
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(int(seconds * S))

    sink = MemorySink()
    asyncio.run(replay([tmp_path / f"p{speed}.rec.gz"], speed, sink, clock=clock,
                       sleep=fake_sleep))
    return slept, (clock.now_ns() - T0) / S


def test_pacing_keeps_event_spacing_divided_by_speed(tmp_path: Path) -> None:
    slept, elapsed = paced(10.0, tmp_path)
    assert slept == pytest.approx([0.05, 0.05, 0.1])
    assert elapsed == pytest.approx(0.2)
    slept, elapsed = paced(1.0, tmp_path)
    assert sum(slept) == pytest.approx(2.0)


def test_max_speed_never_sleeps(tmp_path: Path) -> None:
    slept, _ = paced(0.0, tmp_path)
    assert slept == []


def test_a_file_going_back_in_time_keeps_file_order_and_is_counted(tmp_path: Path) -> None:
    q = factories.quote
    write_events(tmp_path / "r.rec.gz", [(T0 + 10, q(symbol="x1")), (T0 + 5, q(symbol="x2")),
                                         (T0 + 20, q(symbol="x3"))])
    sink, summary = run([tmp_path / "r.rec.gz"])
    assert [e.symbol for e in sink.events if isinstance(e, QuoteTick)] == ["x1", "x2", "x3"]
    assert summary.files[0].reordered == 1


class FakeAdapter:
    """A hand-written VenueAdapter: a few quotes and one bad message."""

    venue = "FAKE"

    def __init__(self, items: list[Event | BadMessage]) -> None:
        self.stats = AdapterStats()
        self.items = items
        self.closed = 0

    async def start(self) -> None:
        return None

    async def instruments(self) -> InstrumentsUpdated:
        return factories.instruments(venue="FAKE")

    async def stream(self, instrument_ids: list[str]) -> AsyncIterator[Event | BadMessage]:
        for item in self.items:
            yield item

    async def close(self) -> None:
        self.closed += 1


def test_an_adapters_events_replay_identically(tmp_path: Path) -> None:
    quotes = [factories.quote(ts_event=T0 + i, symbol=f"S{i}") for i in range(3)]
    bad = BadMessage("FAKE", "price is not a number", '{"p":"x"}')
    adapter = FakeAdapter([quotes[0], bad, quotes[1], quotes[2]])
    clock = TestClock(T0)
    rec = Recorder(tmp_path, "FAKE", clock=clock)
    result = asyncio.run(record_adapter(adapter, rec, ["X"], clock=clock))
    rec.close()
    assert (result.messages, result.reason, adapter.closed) == (4, "closed", 1)
    sink, summary = run(rec.paths)
    replayed = [e for e in sink.events if not isinstance(e, ReplayFinished)]
    assert replayed[0].kind == "md.instruments"
    assert replayed[1:] == quotes  # decoded back exactly, ids included
    (line,) = sink.bad_lines
    assert line.reason == "rejected when recorded: price is not a number"
    assert line.text == '{"p":"x"}' and line.line_no == 4


def test_recorded_events_that_are_not_market_data_are_dead_lettered(tmp_path: Path) -> None:
    write_events(tmp_path / "r.rec.gz", [(T0, factories.denied())])
    sink, summary = run([tmp_path / "r.rec.gz"])
    assert [e for e in sink.events if not isinstance(e, ReplayFinished)] == []
    (line,) = sink.bad_lines
    assert "not market data" in line.reason and summary.files[0].bad_lines == 1


def test_max_events_stops_early_and_the_summary_says_so() -> None:
    sink, summary = run([FOREX / "truefx" / "usdjpy-ticks.csv"], max_events=10)
    assert summary.stopped_early
    assert sum(1 for e in sink.events if isinstance(e, QuoteTick)) == 10
    assert "stopped early" in summary.render()


def test_progress_bar_and_summary_show_every_file(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = FOREX / "truefx" / "usdjpy-ticks.csv"
    _, summary = run([path, FOREX / "LICENSE.nautilus_trader-LGPL-3.0.txt"], progress=True)
    err = capsys.readouterr().err
    assert "100%" in err and "ev/s" in err
    text = summary.render()
    assert "usdjpy-ticks.csv" in text and "truefx-ticks" in text and "1000" in text
    assert "not replayed (1): documentation or licence, not a recording: LICENSE.nautilus" in text
    assert summary.as_dict()["files"][0]["events"] == {"md.quote": 1000}


def test_bad_lines_reach_the_sink_in_order(tmp_path: Path) -> None:
    path = tmp_path / "KRAKEN.ws.1.0.gz"
    lines = ["wss://ws.kraken.com <-> 1618678132.368463",
             '1618678132.9: [1,{"a":["2","1","1"],"b":["1","1","1"]},"ticker","XBT/USD"]',
             "1618678133.0: {not json",
             '1618678133.1: [1,{"a":["3","1","1"],"b":["1","1","1"]},"ticker","XBT/USD"]']
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    sink, summary = run([path])
    (line,) = sink.bad_lines
    assert line.describe().startswith("KRAKEN.ws.1.0.gz:3: invalid JSON")
    assert [e.ask for e in sink.events if isinstance(e, QuoteTick)] == [2, 3]
    assert summary.files[0].skipped == {"connect line": 1}
