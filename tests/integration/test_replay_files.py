"""Replay every recording in data/recorded/ into a real Redis; record from local servers.

Counts are checked three ways: Redis stream lengths against what the engine handed the sink,
per-file record counts against the raw files (counted here, like `zcat | grep -c`), and the
first and last entry of each stream decoded back against the in-memory events.

Each test uses its own Redis database of the session's private redis-server, emptied first.
"""
from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from redis.asyncio import Redis

from libs.common.bus import FIELD, Output, Publisher, ensure_groups
from libs.common.clock import LiveClock, TestClock
from libs.common.events import BookGapDetected, OrderBookUpdated, decode
from libs.common.redis_server import free_port
from libs.common.streams import DLQ, MD_BARS, MD_BOOKS, MD_QUOTES
from services.intake.adapters.recorded import DEFAULT_DATA_DIR
from services.intake.domain.records import BadLine
from services.intake.recording import (
    MemorySink,
    RedisSink,
    add_record_args,
    add_replay_args,
    record_main,
    replay,
    replay_main,
)
from services.intake.recording.detect import Format, detect

pytestmark = pytest.mark.integration

CRYPTOFEED = DEFAULT_DATA_DIR / "cryptofeed" / "master_format1"
# Lines in data/recorded/ that are known to be unusable. The captures are clean: none.
KNOWN_BAD_LINES: set[str] = set()


def db_url(redis_url: str, db: int) -> str:
    return urlsplit(redis_url)._replace(path=f"/{db}").geturl()


class TeeSink:
    """Hands everything to Redis and keeps a copy in memory."""

    def __init__(self, *sinks: Any) -> None:
        self.sinks = sinks

    async def publish(self, batch: Sequence[Output]) -> None:
        for s in self.sinks:
            await s.publish(list(batch))

    async def dead_letter(self, line: BadLine) -> None:
        for s in self.sinks:
            await s.dead_letter(line)


def raw_counts(path: Path) -> dict[str, int]:
    """What a file holds, counted from its text."""
    fmt = detect(path).format
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:  # type: ignore[operator]
        lines = fh.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    nonblank = [x for x in lines if x.strip()]
    if fmt is Format.HFTBACKTEST:
        return {"records": len(nonblank),
                "bookTicker": sum('@bookTicker"' in x for x in nonblank),
                "trade": sum('@trade"' in x for x in nonblank)}
    if fmt in (Format.FXCM_BARS, Format.TRUEFX_TICKS, Format.DECODED_TICKS):
        return {"records": len(nonblank) - 1}
    return {"records": len(nonblank)}


async def test_every_recording_replays_into_redis_with_matching_counts(redis_url: str) -> None:
    redis = Redis.from_url(db_url(redis_url, 11))
    await redis.flushdb()
    await ensure_groups(redis)
    memory = MemorySink()
    try:
        summary = await replay([DEFAULT_DATA_DIR], 0, TeeSink(memory, RedisSink(
            Publisher(redis, "intake"))), clock=LiveClock(), batch_size=1000)
        print("\n" + summary.render())
        # Stream lengths equal what was handed over, stream by stream.
        mem = memory.by_stream()
        assert set(mem) == {MD_BOOKS, MD_BARS, MD_QUOTES}
        for stream, n in mem.items():
            assert await redis.xlen(stream) == n == summary.by_stream[stream], stream
        # First and last entries decode to the same events.
        for stream in mem:
            first = await redis.xrange(stream, count=1)
            last = await redis.xrevrange(stream, count=1)
            events = [e for s, e in memory.outputs if s == stream]
            assert decode(first[0][1][FIELD]) == events[0]
            assert decode(last[0][1][FIELD]) == events[-1]
        # Nothing dead-lettered but the known bad lines.
        dlq = [json.loads(f[FIELD]) for _, f in await redis.xrange(DLQ)]
        assert {d["reason"] for d in dlq} == {b.describe() for b in summary.bad_lines}
        assert {b.describe() for b in summary.bad_lines} == KNOWN_BAD_LINES
    finally:
        await redis.flushdb()
        await redis.aclose()

    # Every recording was read, record for record.
    replayed = {f.name: f for f in summary.files}
    expected_formats = {Format.HFTBACKTEST, Format.CRYPTOFEED, Format.FXCM_BARS,
                        Format.TRUEFX_TICKS, Format.HISTDATA_TICKS, Format.DECODED_TICKS}
    for path in sorted(p for p in DEFAULT_DATA_DIR.rglob("*") if p.is_file()):
        rel = path.relative_to(DEFAULT_DATA_DIR).as_posix()
        fmt = detect(path).format
        if fmt not in expected_formats or "-ask-" in rel:
            assert rel not in replayed
            continue
        report = replayed[rel]
        want = raw_counts(path)
        assert report.records == want["records"], rel
        if fmt is Format.HFTBACKTEST:
            assert report.skipped == {
                "bookTicker (not published, as on the hftbacktest path)": want["bookTicker"],
                "trade (not published, as on the hftbacktest path)": want["trade"]}, rel
        if fmt in (Format.TRUEFX_TICKS, Format.HISTDATA_TICKS, Format.DECODED_TICKS):
            assert report.events == {"md.quote": want["records"]}, rel
        if fmt is Format.FXCM_BARS:
            assert report.events == {"md.bar": want["records"]}, rel
    skipped = dict(summary.skipped_files)
    assert "fxcm/gbpusd-m1-ask-2012.csv" not in skipped  # read as the bid file's pair
    assert all(reason for reason in skipped.values())
    # No book anywhere is crossed; gaps are reported per file as they came.
    gaps = Counter()
    for _, e in memory.outputs:
        if isinstance(e, OrderBookUpdated) and e.bids and e.asks:
            assert e.bids[0][0] < e.asks[0][0], e.instrument_id
        if isinstance(e, BookGapDetected):
            gaps[e.instrument_id] += 1
    assert sum(gaps.values()) == sum(f.gaps for f in summary.files)


# ---- recording from local servers ----------------------------------------------------------

def cf_lines(name: str) -> list[str]:
    return gzip.open(CRYPTOFEED / name, "rt").read().splitlines()


def received(name: str) -> list[str]:
    out = []
    for line in cf_lines(name):
        head, sep, body = line.partition(": ")
        if sep and head.replace(".", "").isdigit():
            out.append(body)
    return out


class LocalVenue:
    """A websocket server (and a tiny HTTP server) on 127.0.0.1, in its own thread, that
    answers subscriptions with a capture's recorded payloads and REST paths with bodies."""

    def __init__(self, payloads: list[str], subscriptions: int,
                 rest: dict[str, str] | None = None) -> None:
        self.payloads = payloads
        self.subscriptions = subscriptions
        self.rest = rest or {}
        self.ws_port = free_port()
        self.http_port = free_port()
        self.received: list[str] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> LocalVenue:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def _run(self) -> None:
        self._loop.run_until_complete(self._main())

    async def _main(self) -> None:
        from websockets.asyncio.server import ServerConnection, serve

        self._stop = asyncio.Event()

        async def handler(ws: ServerConnection) -> None:
            for _ in range(self.subscriptions):
                self.received.append(str(await ws.recv()))
            for p in self.payloads:
                await ws.send(p)
            await ws.close()

        async def http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            request = (await reader.readline()).decode()
            while (await reader.readline()) not in (b"\r\n", b""):
                pass
            path = request.split(" ")[1]
            body = self.rest.get(path)
            status = "200 OK" if body is not None else "404 Not Found"
            data = (body or "").encode()
            writer.write(f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
                         f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode()
                         + data)
            await writer.drain()
            writer.close()

        async with serve(handler, "127.0.0.1", self.ws_port):
            server = await asyncio.start_server(http, "127.0.0.1", self.http_port)
            async with server:
                self._ready.set()
                await self._stop.wait()


def parse(add: Any, argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add(parser)
    return parser.parse_args(argv)


@pytest.fixture
def out_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "recordings"


def test_record_main_then_replay_main_gives_the_original_poloniex_books(
        redis_url: str, out_dir: Path) -> None:
    payloads = received("POLONIEX.ws.1.0.gz")
    sends = [line.split(": ", 1)[1] for line in cf_lines("POLONIEX.ws.1.0.gz") if " <- " in line]
    with LocalVenue(payloads, subscriptions=len(sends)) as venue:
        argv = ["--url", f"ws://127.0.0.1:{venue.ws_port}/ws/public", "--venue", "POLONIEX",
                "--out", str(out_dir), "--max-messages", str(len(payloads)), "--duration", "20"]
        for s in sends:
            argv += ["--send", s]
        assert record_main(parse(add_record_args, argv)) == 0
        assert venue.received == sends
    (recording,) = sorted(out_dir.glob("*.rec.gz"))
    assert detect(recording).format is Format.TRIFECTA

    url = db_url(redis_url, 12)
    assert replay_main(parse(add_replay_args, [str(recording), "--redis-url", url,
                                               "--no-progress"])) == 0

    original = MemorySink()
    asyncio.run(replay([CRYPTOFEED / "POLONIEX.ws.1.0.gz"], 0, original, clock=TestClock(1)))

    async def check() -> None:
        redis = Redis.from_url(url)
        try:
            assert await redis.xlen(MD_BOOKS) == original.by_stream()[MD_BOOKS]
            got = [decode(f[FIELD]) for _, f in await redis.xrange(MD_BOOKS)]
            strip = {"event_id", "correlation_id", "ts_init", "ts_event", "source"}
            books = [e.model_dump(exclude=strip) for e in got if e.kind == "md.book"]
            want = [e.model_dump(exclude=strip) for e in original.events if e.kind == "md.book"]
            assert books == want
            assert [e.ts_event for e in got if e.kind == "md.book"] == \
                [e.ts_event for e in original.events if e.kind == "md.book"]
            assert await redis.xlen(DLQ) == 0
        finally:
            await redis.flushdb()
            await redis.aclose()

    asyncio.run(check())


def test_recording_with_rest_snapshots_builds_bitstamp_books(out_dir: Path) -> None:
    payloads = received("BITSTAMP.ws.1.0.gz")
    rest: dict[str, str] = {}
    for line in cf_lines("BITSTAMP.http.0.0.gz"):
        if " -> " in line:
            url, _, tail = line.partition(" -> ")
            rest[urlsplit(url).path] = tail.split(": ", 1)[1]
    with LocalVenue(payloads, subscriptions=1, rest=rest) as venue:
        base = f"http://127.0.0.1:{venue.http_port}"
        argv = ["--url", f"ws://127.0.0.1:{venue.ws_port}/", "--venue", "BITSTAMP",
                "--out", str(out_dir), "--send", '{"event":"bts:subscribe"}',
                "--duration", "20", "--max-messages", str(len(payloads))]
        for path in sorted(rest):
            argv += ["--rest", base + path]
        assert record_main(parse(add_record_args, argv)) == 0
    sink = MemorySink()
    summary = asyncio.run(replay(sorted(out_dir.glob("*.rec.gz")), 0, sink, clock=TestClock(1)))
    (report,) = summary.files
    assert report.skipped["connect line"] == 1 and report.skipped["sent line"] == 1
    books = [e for e in sink.events if isinstance(e, OrderBookUpdated)]
    assert sum(b.is_snapshot for b in books) == len(rest)
    assert report.gaps == 0 and not summary.bad_lines
    for b in books:
        assert b.bids[0][0] < b.asks[0][0]


def test_recording_a_remote_host_needs_live(out_dir: Path) -> None:
    argv = ["--url", "wss://ws.poloniex.com/ws/public", "--venue", "POLONIEX",
            "--out", str(out_dir), "--duration", "1"]
    assert record_main(parse(add_record_args, argv)) == 1
    assert list(out_dir.glob("*")) == []


def test_recording_from_a_closed_port_fails_cleanly(out_dir: Path) -> None:
    argv = ["--url", f"ws://127.0.0.1:{free_port()}/", "--venue", "OKX", "--out", str(out_dir),
            "--duration", "5"]
    assert record_main(parse(add_record_args, argv)) == 1
