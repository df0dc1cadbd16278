"""A local exchange server that answers ccxt with recorded payloads, one port per venue.

Run it: `python -m services.intake.simulators.ccxt_server --venues BINANCE,KRAKEN --speed 1`
(prints `{"BINANCE": "http://127.0.0.1:<port>", ...}`; point `CcxtVenueSettings.base_url` at
it). Tests start it in their own event loop with `CcxtSimServer` and stop it afterwards.

REST: the recorded bodies of `data/recorded/ccxt_fixtures/raw_rest/` (`INDEX.json` maps them
to URLs) at the same path and query, byte for byte. Websocket: the venue's subscribe protocol
(as ccxt 4.5.x sends it, see `ccxt/pro/<venue>.py`), then the recorded messages of
`data/recorded/cryptofeed/master_format1/<VENUE>.ws.*` for the subscribed instruments, paced by
their recorded receive times divided by `speed` (0 = as fast as possible).

Each instrument is one timeline shared by all connections, as on a venue: the first
subscription starts it, later ones join where it is. The server keeps each book (from the
recorded snapshot plus the recorded diffs it has sent) so that what a venue makes on demand
can be answered at any point: a snapshot for a client that (re)subscribes mid-way, and Binance's
REST depth once the recorded snapshot is older than the diffs sent. Those snapshots are built
from recorded data but are not recorded messages themselves (their checksums, where the venue
sends one, are computed here); everything else is sent as recorded.

Served, and how faithfully:

- BINANCE: exchangeInfo and depth (REST), `/ws/<n>` SUBSCRIBE to `<sym>@depth@100ms`.
  The recording is the combined stream (`{"stream", "data"}`); `/ws` sends the `data` part.
- KRAKEN: AssetPairs (REST). The recorded stream is WS v1, and ccxt 4.5.x reads books over WS v2
  only, so `/v2` re-wraps each recorded v1 book message as a v2 `book` message: same levels in
  the same order, the price and volume text as recorded (as JSON strings: Kraken's checksum is
  computed on that text), the recorded checksum; pairs named as in v2 (XBT -> BTC). The v1
  snapshot carried no checksum, so the v2 snapshot has none either.
- OKX: SPOT/SWAP/FUTURES/OPTION instruments (REST), `/ws/v5/public` `books` as recorded.
- COINBASE: `/products` (REST), `/` `level2` as recorded. `level2_batch` (the public channel
  today; same messages) is answered from the same recording.
- POLONIEX: `/markets` (REST, v3 spot), `/ws/public` `book_lv2` as recorded (v3, 2022: the
  protocol ccxt 4.5.x speaks).
- BITSTAMP: REST only (`trading-pairs-info`, `order_book`). ccxt 4.5.x loads Bitstamp's markets
  from `/api/v2/markets/`, which was not recorded and has another schema, so ccxt cannot load
  Bitstamp from this recording; its websocket is not served for that reason.

`Faults` inject what tests need to see handled: a dropped diff, a wrong checksum, a non-JSON
frame, a dropped connection. They are off by default.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import json
import logging
import signal
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

from aiohttp import WSMsgType, web

from services.intake.adapters.ccxt.checksum import kraken_checksum, okx_checksum

logger = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parents[3] / "data" / "recorded"
REST_DIR = ("ccxt_fixtures", "raw_rest")
WS_DIR = ("cryptofeed", "master_format1")
LOOPBACK = ("127.0.0.1", "::1", "localhost")
GARBAGE = "this frame is not JSON"


# ---- recordings ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Received:
    """One websocket message as received by the recorder: time (s) and raw text."""

    ts: float
    text: str


@cache
def read_received(path: Path) -> tuple[Received, ...]:
    """The received lines (`<ts>: <json>`) of a format-1 capture, in file order.

    Connect lines (`<url> <-> <ts>`) and sent lines (`<url> <- <ts>: <json>`) are skipped.
    """
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            line = line.rstrip("\n")
            head, sep, body = line.partition(": ")
            if not sep or not head[:1].isdigit() or " " in head:
                continue
            out.append(Received(float(head), body))
    return tuple(out)


@cache
def rest_index(rest_dir: Path) -> dict[str, dict[tuple[str, frozenset[tuple[str, str]]], Path]]:
    """exchange -> (path, query) -> recorded body file, from `INDEX.json`."""
    out: dict[str, dict[tuple[str, frozenset[tuple[str, str]]], Path]] = {}
    for entry in json.loads((rest_dir / "INDEX.json").read_text()):
        url = urlsplit(entry["url"])
        key = (url.path, frozenset(parse_qsl(url.query)))
        out.setdefault(entry["exchange"], {})[key] = rest_dir / entry["file"]
    return out


@cache
def rest_body(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


# ---- books kept by the server -------------------------------------------------------------

class ServerBook:
    """A venue's book as the server has sent it: levels kept as the venue wrote them."""

    def __init__(self) -> None:
        self.bids: dict[Decimal, list[Any]] = {}
        self.asks: dict[Decimal, list[Any]] = {}

    def side(self, name: str) -> dict[Decimal, list[Any]]:
        """The price -> level map of "bids" or "asks"."""
        return self.bids if name == "bids" else self.asks

    def clear(self) -> None:
        """Empty both sides (a new snapshot follows)."""
        self.bids.clear()
        self.asks.clear()

    def set(self, side: str, level: list[Any]) -> None:
        """`level` is `[price text, size text, ...]`; size 0 deletes the price."""
        levels = self.side(side)
        price = Decimal(level[0])
        if Decimal(level[1]) == 0:
            levels.pop(price, None)
        else:
            levels[price] = list(level)

    def top(self, side: str, n: int | None = None) -> list[list[Any]]:
        """The best `n` levels of `side` (all if None), best first, as the venue wrote them."""
        levels = self.side(side)
        keys = sorted(levels, reverse=(side == "bids"))
        return [levels[k] for k in (keys if n is None else keys[:n])]

    def truncate(self, depth: int) -> None:
        """Drop the levels beyond `depth` on each side (what a depth-limited feed does)."""
        for side in ("bids", "asks"):
            levels = self.side(side)
            if len(levels) > depth:
                for k in sorted(levels, reverse=(side == "bids"))[depth:]:
                    del levels[k]


# ---- faults -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Faults:
    """What goes wrong on purpose; indexes count a timeline's messages from 0 (the snapshot,
    where the venue streams one)."""

    drop: Mapping[str, frozenset[int]] = field(default_factory=dict)  # never sent (but applied)
    bad_checksum: Mapping[str, frozenset[int]] = field(default_factory=dict)  # sum sent wrong
    garbage_after_subscribe: bool = False  # one non-JSON frame after the first subscribe ack
    close_after: int | None = None  # close the first connection after this many book messages
    rest_status: Mapping[str, int] = field(default_factory=dict)  # path -> HTTP error status
    # key -> n: drop the n-th message after the first REST snapshot request for key (Binance)
    drop_after_rest: Mapping[str, int] = field(default_factory=dict)


# ---- connections and timelines ------------------------------------------------------------

class Conn:
    """One websocket client."""

    def __init__(self, ws: web.WebSocketResponse, number: int) -> None:
        self.ws = ws
        self.number = number
        self.book_messages = 0
        self.garbage_sent = False
        self._lock = asyncio.Lock()  # frames go out in the order `send` was called

    async def send(self, payload: str | Mapping[str, Any] | list[Any]) -> None:
        """Send a text frame (JSON for objects); a closed connection drops it silently."""
        text = payload if isinstance(payload, str) else _dumps(payload)
        async with self._lock:
            if self.ws.closed:
                return
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.ws.send_str(text)


@dataclass
class FeedMessage:
    """One message of a timeline: when it was received, what to send, what it changes."""

    ts: float
    payload: Any  # str (sent as is) or JSON-able object
    data: Any  # the parsed message, for the book and for faults


class Feed:
    """The timeline of one instrument, shared by every subscribed connection."""

    def __init__(self, sim: VenueSim, key: str, messages: list[FeedMessage]) -> None:
        self.sim = sim
        self.key = key
        self.messages = messages
        self.book = ServerBook()
        self.sent = 0  # messages of the timeline played so far
        self.subscribers: dict[Conn, None] = {}
        self.task: asyncio.Task[None] | None = None
        self.state: dict[str, Any] = {}

    @property
    def started(self) -> bool:
        """True once the first subscription started the timeline."""
        return self.task is not None

    async def subscribe(self, conn: Conn) -> None:
        """Join `conn`; start the timeline, or send a snapshot of where it is."""
        if self.task is None:
            self.subscribers[conn] = None
            self.sim.prepare(self)
            self.task = asyncio.create_task(self._run(), name=f"feed-{self.key}")
            return
        # Snapshot and joining happen without yielding, and the snapshot is the first frame
        # queued on the connection: the next message of the timeline follows it exactly.
        snapshot = self.sim.snapshot_message(self)
        self.subscribers[conn] = None
        if snapshot is not None:
            await conn.send(snapshot)

    def unsubscribe(self, conn: Conn) -> None:
        """Stop sending to `conn`; the timeline goes on for the others."""
        self.subscribers.pop(conn, None)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        t0 = self.messages[0].ts if self.messages else 0.0
        speed = self.sim.speed
        for i, msg in enumerate(self.messages):
            if speed > 0:
                delay = start + (msg.ts - t0) / speed - loop.time()
                await asyncio.sleep(max(0.0, delay))
            else:
                await asyncio.sleep(0)
            self.sim.apply(self, msg)
            self.sent = i + 1
            if i in self.sim.faults.drop.get(self.key, frozenset()) \
                    or i == self.state.get("drop_at"):
                continue
            payload = msg.payload
            if i in self.sim.faults.bad_checksum.get(self.key, frozenset()):
                payload = self.sim.corrupt_checksum(msg.data)
            for conn in list(self.subscribers):
                await conn.send(payload)
                conn.book_messages += 1
                limit = self.sim.faults.close_after
                if limit is not None and conn.number == 1 and conn.book_messages == limit:
                    await conn.ws.close()


# ---- venues -------------------------------------------------------------------------------

# (simulator class, data dir) -> feed key -> messages; parsed once per process, never mutated.
_FEED_CACHE: dict[tuple[type[VenueSim], Path], dict[str, list[FeedMessage]]] = {}


class VenueSim:
    """One venue: REST from the recorded bodies, websocket per `on_text`; subclasses add the
    venue's protocol."""

    venue: ClassVar[str]
    rest_exchange: ClassVar[str]  # `exchange` key in INDEX.json
    ws_files: ClassVar[tuple[str, ...]] = ()
    ws_paths: ClassVar[tuple[str, ...]] = ()  # path prefixes served as websocket

    def __init__(self, data_dir: Path, speed: float, faults: Faults) -> None:
        self.data_dir = data_dir
        self.speed = speed
        self.faults = faults
        self.feeds: dict[str, Feed] = {}
        self.connections = 0
        self._load_feeds()

    # REST --------------------------------------------------------------------------------

    def recorded(self) -> dict[tuple[str, frozenset[tuple[str, str]]], Path]:
        """(path, query) -> recorded body file of this venue."""
        return rest_index(self.data_dir.joinpath(*REST_DIR)).get(self.rest_exchange, {})

    def rest(self, path: str, query: Mapping[str, str]) -> web.Response:
        """The answer to `GET path?query`: an injected error, a made answer, the recorded
        body, or 404."""
        status = self.faults.rest_status.get(path)
        if status is not None:
            return web.json_response(self.error_body(status), status=status)
        key = (path, frozenset(query.items()))
        dynamic = self.dynamic_rest(path, query)
        if dynamic is not None:
            return dynamic
        file = self.recorded().get(key)
        if file is None:
            return web.json_response({"error": f"not recorded: {path}"}, status=404)
        return web.Response(body=rest_body(file), content_type="application/json")

    def dynamic_rest(self, path: str, query: Mapping[str, str]) -> web.Response | None:
        """A REST answer made from the server's state; None to serve the recording."""
        return None

    def error_body(self, status: int) -> Any:
        """The venue's error body for an injected HTTP error."""
        return {"error": f"HTTP {status} (simulated)"}

    # websocket ---------------------------------------------------------------------------

    def serves_ws(self, path: str) -> bool:
        """True if a websocket upgrade on `path` is this venue's stream endpoint."""
        return any(path == p or path.startswith(p.rstrip("/") + "/") for p in self.ws_paths)

    def ws_recording(self) -> list[Received]:
        """The received messages of this venue's websocket capture(s)."""
        out: list[Received] = []
        for name in self.ws_files:
            out.extend(read_received(self.data_dir.joinpath(*WS_DIR, name)))
        return out

    def _load_feeds(self) -> None:
        cache_key = (type(self), self.data_dir)
        grouped = _FEED_CACHE.get(cache_key)
        if grouped is None:
            grouped = {}
            for rec in self.ws_recording():
                try:
                    data = json.loads(rec.text)
                except json.JSONDecodeError:
                    continue
                for key, msg in self.feed_messages(rec, data):
                    grouped.setdefault(key, []).append(msg)
            _FEED_CACHE[cache_key] = grouped
        self.feeds = {k: Feed(self, k, v) for k, v in grouped.items()}

    def feed_messages(self, rec: Received, data: Any) -> Iterable[tuple[str, FeedMessage]]:
        """(feed key, message) for each book message of the recording."""
        return ()

    async def on_connect(self, conn: Conn) -> None:
        """Sent when a client connects (e.g. Kraken's status)."""

    async def on_text(self, conn: Conn, text: str) -> None:
        raise NotImplementedError

    async def subscribed(self, conn: Conn, key: str) -> None:
        """Attach `conn` to the feed `key`, after the venue's acknowledgement was sent."""
        if self.faults.garbage_after_subscribe and conn.number == 1 and not conn.garbage_sent:
            conn.garbage_sent = True
            await conn.send(GARBAGE)
        await self.feeds[key].subscribe(conn)

    def disconnected(self, conn: Conn) -> None:
        """Forget a closed connection."""
        for feed in self.feeds.values():
            feed.unsubscribe(conn)

    # books -------------------------------------------------------------------------------

    def prepare(self, feed: Feed) -> None:
        """Set up the server's book before the first message (Binance: the REST snapshot)."""

    def apply(self, feed: Feed, msg: FeedMessage) -> None:
        raise NotImplementedError

    def snapshot_message(self, feed: Feed) -> Any | None:
        """What a client joining `feed` mid-way gets; None if the venue streams no snapshot."""
        return None

    def corrupt_checksum(self, data: Any) -> Any:
        return data

    async def close(self) -> None:
        """Stop every timeline."""
        for feed in self.feeds.values():
            if feed.task is not None:
                feed.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await feed.task


def _ms_now() -> int:
    return time.time_ns() // 1_000_000


class BinanceSim(VenueSim):
    """Binance spot: `GET /api/v3/exchangeInfo`, `GET /api/v3/depth`, ws `/ws/<n>`."""

    venue = "BINANCE"
    rest_exchange = "binance"
    ws_files = ("BINANCE.ws.1.0.gz",)
    ws_paths = ("/ws", "/stream")

    def feed_messages(self, rec: Received, data: Any) -> Iterable[tuple[str, FeedMessage]]:
        stream = data.get("stream", "") if isinstance(data, dict) else ""
        if stream.endswith("@depth@100ms"):
            symbol = stream.split("@")[0]
            yield symbol, FeedMessage(rec.ts, _dumps(data["data"]), data["data"])

    def _recorded_depth(self, symbol: str) -> Path | None:
        for (path, query), file in self.recorded().items():
            q = dict(query)
            if path == "/api/v3/depth" and q.get("symbol", "").lower() == symbol:
                return file
        return None

    def prepare(self, feed: Feed) -> None:
        file = self._recorded_depth(feed.key)
        feed.book.clear()
        feed.state.update(last_u=0, advanced=False, has_snapshot=file is not None)
        if file is not None:
            snap = json.loads(rest_body(file))
            for side in ("bids", "asks"):
                for level in snap[side]:
                    feed.book.set(side, level)
            feed.state["last_u"] = snap["lastUpdateId"]

    def apply(self, feed: Feed, msg: FeedMessage) -> None:
        d = msg.data
        if not feed.state.get("has_snapshot") or d["u"] <= feed.state["last_u"]:
            return  # older than the book (Binance: drop u <= lastUpdateId)
        for side, key in (("bids", "b"), ("asks", "a")):
            for level in d[key]:
                feed.book.set(side, level)
        feed.state["last_u"] = d["u"]
        feed.state["advanced"] = True

    def error_body(self, status: int) -> Any:
        if status == 429:
            return {"code": -1003, "msg": "Too many requests; current limit is 1200 request "
                                          "weight per 1 MINUTE (simulated)."}
        return {"code": -1000, "msg": f"An unknown error occurred (simulated HTTP {status})."}

    def dynamic_rest(self, path: str, query: Mapping[str, str]) -> web.Response | None:
        if path != "/api/v3/depth":
            return None
        symbol = query.get("symbol", "")
        try:
            limit = int(query.get("limit", "100"))
        except ValueError:
            return web.json_response({"code": -1100, "msg": "Illegal characters found in "
                                                            "parameter 'limit'."}, status=400)
        feed = self.feeds.get(symbol.lower())
        n = self.faults.drop_after_rest.get(symbol.lower())
        if feed is not None and n is not None and "drop_at" not in feed.state:
            feed.state["drop_at"] = feed.sent + n - 1
        if feed is not None and feed.state.get("advanced"):
            # The recorded snapshot is older than what was streamed: the venue's book now.
            return web.json_response({"lastUpdateId": feed.state["last_u"],
                                      "bids": feed.book.top("bids", limit),
                                      "asks": feed.book.top("asks", limit)})
        file = self._recorded_depth(symbol.lower())
        if file is None:
            return web.json_response({"code": -1121, "msg": "Invalid symbol."}, status=400)
        if query.get("limit") == "1000":
            return None  # exactly the recorded request: the recorded bytes
        snap = json.loads(rest_body(file))
        return web.json_response({"lastUpdateId": snap["lastUpdateId"],
                                  "bids": snap["bids"][:limit], "asks": snap["asks"][:limit]})

    async def on_text(self, conn: Conn, text: str) -> None:
        msg = json.loads(text)
        method, rid = msg.get("method"), msg.get("id")
        params = msg.get("params") or []
        if method not in ("SUBSCRIBE", "UNSUBSCRIBE") or not isinstance(params, list):
            await conn.send({"error": {"code": 2, "msg": f"Invalid request: {text[:100]}"},
                             "id": rid})
            return
        await conn.send({"result": None, "id": rid})
        for stream in params:
            symbol = str(stream).split("@")[0]
            if symbol not in self.feeds or not str(stream).endswith("@depth@100ms"):
                continue  # Binance accepts a stream it has no data for, and sends nothing
            if method == "SUBSCRIBE":
                await self.subscribed(conn, symbol)
            else:
                self.feeds[symbol].unsubscribe(conn)


_KRAKEN_V2_ASSETS = {"XBT": "BTC", "XDG": "DOGE"}


def kraken_v2_symbol(v1_pair: str) -> str:
    """Kraken's WS v2 name of a v1 pair (`XBT/CHF` -> `BTC/CHF`)."""
    return "/".join(_KRAKEN_V2_ASSETS.get(a, a) for a in v1_pair.split("/"))


class KrakenSim(VenueSim):
    """Kraken: `GET /0/public/AssetPairs`; ws `/v2` `book` (recorded v1, re-wrapped)."""

    venue = "KRAKEN"
    rest_exchange = "kraken"
    ws_files = ("KRAKEN.ws.50.0.gz",)
    ws_paths = ("/v2",)
    depth = 1000  # the recorded subscription's depth

    def feed_messages(self, rec: Received, data: Any) -> Iterable[tuple[str, FeedMessage]]:
        if not (isinstance(data, list) and len(data) >= 4 and str(data[-2]).startswith("book")):
            return
        symbol = kraken_v2_symbol(data[-1])
        parts = [p for p in data[1:-2] if isinstance(p, dict)]
        if any("as" in p or "bs" in p for p in parts):
            body = {"symbol": symbol,
                    "bids": [{"price": p, "qty": q} for p, q, *_ in parts[0].get("bs", [])],
                    "asks": [{"price": p, "qty": q} for p, q, *_ in parts[0].get("as", [])]}
            kind = "snapshot"
        else:
            asks = [lv for p in parts for lv in p.get("a", [])]
            bids = [lv for p in parts for lv in p.get("b", [])]
            checksum = next((p["c"] for p in parts if "c" in p), None)
            times = [float(lv[2]) for lv in asks + bids]
            stamp = datetime.fromtimestamp(max(times) if times else rec.ts, UTC)
            body = {"symbol": symbol,
                    "bids": [{"price": lv[0], "qty": lv[1]} for lv in bids],
                    "asks": [{"price": lv[0], "qty": lv[1]} for lv in asks],
                    "checksum": int(checksum) if checksum is not None else None,
                    "timestamp": stamp.isoformat().replace("+00:00", "Z")}
            kind = "update"
        v2 = {"channel": "book", "type": kind, "data": [body]}
        yield symbol, FeedMessage(rec.ts, _dumps(v2), v2)

    def apply(self, feed: Feed, msg: FeedMessage) -> None:
        body = msg.data["data"][0]
        if msg.data["type"] == "snapshot":
            feed.book.clear()
        for side in ("bids", "asks"):
            for lv in body[side]:
                feed.book.set(side, [lv["price"], lv["qty"]])
        feed.book.truncate(self.depth)  # Kraken: levels pushed out of the depth are dropped
        feed.state["timestamp"] = body.get("timestamp")

    def snapshot_message(self, feed: Feed) -> Any:
        asks = [(p, q) for p, q, *_ in feed.book.top("asks", self.depth)]
        bids = [(p, q) for p, q, *_ in feed.book.top("bids", self.depth)]
        return {"channel": "book", "type": "snapshot", "data": [{
            "symbol": feed.key, "checksum": kraken_checksum(asks, bids),
            "bids": [{"price": p, "qty": q} for p, q in bids],
            "asks": [{"price": p, "qty": q} for p, q in asks]}]}

    def corrupt_checksum(self, data: Any) -> Any:
        body = dict(data["data"][0])
        if body.get("checksum") is not None:
            body["checksum"] = (body["checksum"] + 1) % (1 << 32)
        return {**data, "data": [body]}

    async def on_connect(self, conn: Conn) -> None:
        await conn.send({"channel": "status", "type": "update", "data": [{
            "api_version": "v2", "connection_id": conn.number, "system": "online",
            "version": "2.0.0"}]})

    async def on_text(self, conn: Conn, text: str) -> None:
        msg = json.loads(text)
        method, rid = msg.get("method"), msg.get("req_id")
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        if method == "ping":
            await conn.send({"method": "pong", "req_id": rid, "time_in": now, "time_out": now})
            return
        params = msg.get("params") or {}
        if method != "subscribe" or params.get("channel") != "book":
            await conn.send({"error": "Subscription name invalid (this server has books only)",
                             "method": method, "req_id": rid, "success": False,
                             "time_in": now, "time_out": now})
            return
        for symbol in params.get("symbol") or []:
            if symbol not in self.feeds:
                await conn.send({"error": "Currency pair not supported", "method": "subscribe",
                                 "req_id": rid, "success": False, "symbol": symbol,
                                 "time_in": now, "time_out": now})
                continue
            await conn.send({"method": "subscribe", "req_id": rid, "success": True,
                             "result": {"channel": "book", "depth": self.depth,
                                        "snapshot": True, "symbol": symbol},
                             "time_in": now, "time_out": now})
            await self.subscribed(conn, symbol)


class OkxSim(VenueSim):
    """OKX v5: `GET /api/v5/public/instruments`; ws `/ws/v5/public` `books`."""

    venue = "OKX"
    rest_exchange = "okx"
    ws_files = ("OKX.ws.1.0.gz",)
    ws_paths = ("/ws/v5/public",)
    depth = 400  # `books` channel

    def feed_messages(self, rec: Received, data: Any) -> Iterable[tuple[str, FeedMessage]]:
        if isinstance(data, dict) and "action" in data and \
                (data.get("arg") or {}).get("channel") == "books":
            yield data["arg"]["instId"], FeedMessage(rec.ts, rec.text, data)

    def apply(self, feed: Feed, msg: FeedMessage) -> None:
        if msg.data["action"] == "snapshot":
            feed.book.clear()
        for item in msg.data["data"]:
            for side in ("bids", "asks"):
                for level in item[side]:
                    feed.book.set(side, level)
            feed.state["ts"] = item.get("ts")

    def snapshot_message(self, feed: Feed) -> Any:
        bids, asks = feed.book.top("bids", self.depth), feed.book.top("asks", self.depth)
        checksum = okx_checksum([(lv[0], lv[1]) for lv in bids], [(lv[0], lv[1]) for lv in asks])
        return {"arg": {"channel": "books", "instId": feed.key}, "action": "snapshot",
                "data": [{"asks": asks, "bids": bids, "ts": feed.state.get("ts"),
                          "checksum": checksum}]}

    def corrupt_checksum(self, data: Any) -> Any:
        items = [dict(i) for i in data["data"]]
        for item in items:
            if "checksum" in item:
                item["checksum"] = item["checksum"] + 1 if item["checksum"] < (1 << 31) - 1 \
                    else 0
        return {**data, "data": items}

    async def on_text(self, conn: Conn, text: str) -> None:
        if text == "ping":
            await conn.send("pong")
            return
        msg = json.loads(text)
        op = msg.get("op")
        for arg in msg.get("args") or []:
            inst, channel = arg.get("instId"), arg.get("channel")
            if op not in ("subscribe", "unsubscribe") or channel != "books" or \
                    inst not in self.feeds:
                await conn.send({"event": "error", "code": "60018",
                                 "msg": f"Wrong URL or channel:{channel},instId:{inst} doesn't "
                                        "exist."})
                continue
            await conn.send({"event": op, "arg": arg})
            if op == "subscribe":
                await self.subscribed(conn, inst)
            else:
                self.feeds[inst].unsubscribe(conn)


class CoinbaseSim(VenueSim):
    """Coinbase Pro (Coinbase Exchange's API): `GET /products`; ws `/` `level2`."""

    venue = "COINBASE"
    rest_exchange = "coinbasepro_legacy"
    ws_files = ("COINBASE.ws.28.0.gz",)
    ws_paths = ("/",)
    channels = ("level2", "level2_batch")

    def serves_ws(self, path: str) -> bool:
        return path == "/"

    def feed_messages(self, rec: Received, data: Any) -> Iterable[tuple[str, FeedMessage]]:
        if isinstance(data, dict) and data.get("type") in ("snapshot", "l2update"):
            yield data["product_id"], FeedMessage(rec.ts, rec.text, data)

    def apply(self, feed: Feed, msg: FeedMessage) -> None:
        d = msg.data
        if d["type"] == "snapshot":
            feed.book.clear()
            for side in ("bids", "asks"):
                for level in d[side]:
                    feed.book.set(side, level)
            return
        for side, price, size in d["changes"]:
            feed.book.set("bids" if side == "buy" else "asks", [price, size])

    def snapshot_message(self, feed: Feed) -> Any:
        return {"type": "snapshot", "product_id": feed.key,
                "bids": [lv[:2] for lv in feed.book.top("bids")],
                "asks": [lv[:2] for lv in feed.book.top("asks")]}

    async def on_text(self, conn: Conn, text: str) -> None:
        msg = json.loads(text)
        products = [p for p in msg.get("product_ids") or [] if isinstance(p, str)]
        channels = [c if isinstance(c, str) else c.get("name") for c in msg.get("channels") or []]
        if msg.get("type") != "subscribe" or not set(channels) & set(self.channels):
            await conn.send({"type": "error", "message": "Failed to subscribe",
                             "reason": "this server has level2 books only"})
            return
        unknown = [p for p in products if p not in self.feeds]
        if unknown:
            await conn.send({"type": "error", "message": "Failed to subscribe",
                             "reason": f"{unknown[0]} is not a valid product"})
            return
        await conn.send({"type": "subscriptions", "channels": [
            {"name": c, "product_ids": products} for c in channels if c in self.channels]})
        for p in products:
            await self.subscribed(conn, p)


class PoloniexSim(VenueSim):
    """Poloniex v3: `GET /markets`; ws `/ws/public` `book_lv2`."""

    venue = "POLONIEX"
    rest_exchange = "poloniex"
    ws_files = ("POLONIEX.ws.1.0.gz",)
    ws_paths = ("/ws/public",)
    depth = 20  # book_lv2 snapshots carry 20 levels a side

    def feed_messages(self, rec: Received, data: Any) -> Iterable[tuple[str, FeedMessage]]:
        if isinstance(data, dict) and data.get("channel") == "book_lv2" and "action" in data:
            items = data.get("data") or []
            if len(items) == 1:
                yield items[0]["symbol"], FeedMessage(rec.ts, rec.text, data)

    def apply(self, feed: Feed, msg: FeedMessage) -> None:
        item = msg.data["data"][0]
        if msg.data["action"] == "snapshot":
            feed.book.clear()
        for side in ("bids", "asks"):
            for level in item[side]:
                feed.book.set(side, level)
        feed.state.update(id=item.get("id"), ts=item.get("ts"))

    def snapshot_message(self, feed: Feed) -> Any:
        last = feed.state.get("id") or 0
        ts = feed.state.get("ts") or _ms_now()
        return {"channel": "book_lv2", "action": "snapshot", "data": [{
            "symbol": feed.key, "createTime": ts, "asks": feed.book.top("asks", self.depth),
            "bids": feed.book.top("bids", self.depth), "lastId": last, "id": last, "ts": ts}]}

    async def on_text(self, conn: Conn, text: str) -> None:
        msg = json.loads(text)
        event = msg.get("event")
        if event == "ping":
            await conn.send({"event": "pong"})
            return
        channels = msg.get("channel") or []
        symbols = msg.get("symbols") or []
        if event != "subscribe" or channels != ["book_lv2"]:
            await conn.send({"event": "error", "message": "this server has book_lv2 only"})
            return
        unknown = [s for s in symbols if s not in self.feeds]
        if unknown:
            await conn.send({"event": "error", "message": f"invalid symbol {unknown[0]}"})
            return
        await conn.send({"event": "subscribe", "channel": "book_lv2", "symbols": symbols})
        for s in symbols:
            await self.subscribed(conn, s)


class BitstampSim(VenueSim):
    """Bitstamp: the recorded REST bodies only (see the module doc)."""

    venue = "BITSTAMP"
    rest_exchange = "bitstamp"

    async def on_text(self, conn: Conn, text: str) -> None:
        await conn.send({"event": "bts:error", "channel": "",
                         "data": {"code": None, "message": "websocket not served"}})


SIMULATORS: dict[str, type[VenueSim]] = {
    cls.venue: cls for cls in (BinanceSim, KrakenSim, OkxSim, CoinbaseSim, PoloniexSim,
                               BitstampSim)
}


# ---- the server ---------------------------------------------------------------------------

class CcxtSimServer:
    """One aiohttp site per venue on 127.0.0.1, in the caller's event loop.

    `async with CcxtSimServer(["BINANCE"], speed=20) as server: server.urls["BINANCE"]`
    """

    def __init__(self, venues: Iterable[str], *, host: str = "127.0.0.1", port: int = 0,
                 speed: float = 1.0, faults: Faults | Mapping[str, Faults] | None = None,
                 data_dir: Path = DATA_DIR) -> None:
        if host not in LOOPBACK:
            raise ValueError(f"the simulator listens on loopback only, not {host!r}")
        if speed < 0:
            raise ValueError("speed must be >= 0")
        self.host = host
        self.port = port
        self.venues = [v.upper() for v in venues]
        unknown = [v for v in self.venues if v not in SIMULATORS]
        if unknown:
            raise ValueError(f"no simulator for {unknown}; known: {sorted(SIMULATORS)}")

        def faults_of(v: str) -> Faults:
            if isinstance(faults, Faults):
                return faults
            return (faults or {}).get(v, Faults())

        self.sims = {v: SIMULATORS[v](data_dir, speed, faults_of(v)) for v in self.venues}
        self.urls: dict[str, str] = {}
        self._runners: list[web.AppRunner] = []
        self._sockets: set[web.WebSocketResponse] = set()

    def _app(self, sim: VenueSim) -> web.Application:
        async def handle(request: web.Request) -> web.StreamResponse:
            if request.headers.get("Upgrade", "").lower() == "websocket":
                if not sim.serves_ws(request.path):
                    return web.json_response({"error": "no websocket here"}, status=404)
                return await self._websocket(sim, request)
            if request.method != "GET":
                return web.json_response({"error": "only GET is recorded"}, status=405)
            return sim.rest(request.path, dict(request.query))

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handle)
        return app

    async def _websocket(self, sim: VenueSim, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        sim.connections += 1
        conn = Conn(ws, sim.connections)
        self._sockets.add(ws)
        try:
            await sim.on_connect(conn)
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    await sim.on_text(conn, msg.data)
                except (json.JSONDecodeError, AttributeError, TypeError) as e:
                    await conn.send({"error": f"bad request: {e}"})
        finally:
            sim.disconnected(conn)
            self._sockets.discard(ws)
        return ws

    async def start(self) -> CcxtSimServer:
        """Listen on one port per venue (`self.urls`); returns self."""
        for i, (venue, sim) in enumerate(self.sims.items()):
            runner = web.AppRunner(self._app(sim), access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, self.host, self.port + i if self.port else 0)
            await site.start()
            self._runners.append(runner)
            sockets = site._server.sockets if site._server else ()  # type: ignore[union-attr]
            port = sockets[0].getsockname()[1]
            self.urls[venue] = f"http://{self.host}:{port}"
        return self

    async def stop(self) -> None:
        """Stop the timelines, close the websockets and the listening sockets."""
        for sim in self.sims.values():
            await sim.close()
        for ws in list(self._sockets):
            await ws.close()
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()

    async def __aenter__(self) -> CcxtSimServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def _served_venues() -> list[str]:
    return [v for v in SIMULATORS if v != "BITSTAMP"]


async def _serve(args: argparse.Namespace, ready: Callable[[dict[str, str]], None]) -> None:
    venues = [v for v in args.venues.split(",") if v] if args.venues else _served_venues()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with CcxtSimServer(venues, host=args.host, port=args.port, speed=args.speed,
                             data_dir=Path(args.data_dir)) as server:
        ready(server.urls)
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    """Command line: serve the chosen venues until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venues", default="",
                        help=f"comma-separated, default all served: {_served_venues()}")
    parser.add_argument("--host", default="127.0.0.1", choices=LOOPBACK)
    parser.add_argument("--port", type=int, default=0,
                        help="first port (one per venue, consecutive); 0 = free ports")
    parser.add_argument("--speed", type=float, default=1.0,
                        help="replay speed, 1 = as recorded, 0 = as fast as possible")
    parser.add_argument("--data-dir", default=str(DATA_DIR))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    asyncio.run(_serve(args, lambda urls: print(json.dumps(urls), flush=True)))


if __name__ == "__main__":
    main()
