"""A local Pocket Option server: Socket.IO over a websocket on 127.0.0.1, fed recorded ticks.

It speaks the frames BinaryOptionsToolsV2 0.2.16 exchanges with Pocket Option (README.md of the
adapter package has the sources):

    server: 0{"sid":...,"pingInterval":...,"pingTimeout":...}   Engine.IO open
    client: 40                                                  Socket.IO connect
    server: 40{"sid":...}
    client: 42["auth",{"session":...,"isDemo":1,"uid":...,"platform":2}]
    server: 451-["successauth",{placeholder}] + binary {"id":...,"serverName":...}
            451-["successupdateBalance",{placeholder}] + binary {"uid":..,"isDemo":..,"balance":..}
    client: 42["assets/load"]            server: 451-["updateAssets",...] + binary [19-element rows]
    client: 42["getBalance"]             server: successupdateBalance as above
    client: 42["changeSymbol",{...}], 42["unsubfor","X"], 42["subfor","X"]
    server: 451-["updateStream",{placeholder}] + binary [["X",unix_seconds,price]] per tick
    server: 2 (ping) every pingInterval; client: 3 (pong); client: 42["ps"] keep-alive

A wrong session or uid gets `41` (Socket.IO disconnect), then the socket closes. Do not point
BinaryOptionsToolsV2 at this server with a wrong session: on `41` the library looks up the
machine's public IP over the internet (keep_alive.rs). Tests check rejection with a plain client.

The price of a tick is the mid of the recorded bid/ask by default (the broker streams one price);
times go out with millisecond precision as unix seconds. The replay walks all assets' ticks in
time order from the first subscription on, one tick every `tick_interval_s`, and pauses while no
connection is subscribed to an asset that has ticks (ticks of unsubscribed assets are skipped).
Not simulated: candle history (`changeSymbol` gets no `updateHistoryNewFast`), orders
(`openOrder`), deals.
"""
from __future__ import annotations

import asyncio
import heapq
import json
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from libs.common.errors import ConfigurationError
from services.intake.adapters.pocketoption.config import PaperPocketOptionConfig
from services.intake.adapters.pocketoption.protocol import (
    EngineType,
    ProtocolError,
    SocketType,
    encode_binary_event,
    encode_connect_ack,
    encode_open,
    parse_frame,
)
from services.intake.adapters.pocketoption.schemas import ROW_LEN
from services.intake.adapters.pocketoption.ticks import PriceSource, RecordedTick, read_ticks
from services.intake.adapters.recorded import DEFAULT_DATA_DIR

LOOPBACK = ("127.0.0.1", "::1", "localhost")
PATH_PREFIX = "/socket.io/"
# Row indices nobody has documented, filled with the values of the library's own test row
# (BinaryOptionsTools-v2 crates/binary_options_tools/src/pocketoption/modules/assets.rs) so the
# library's 19-element deserialiser accepts ours.
_UNKNOWN_ROW_FIELDS: dict[int, Any] = {4: 2, 6: 60, 7: 30, 8: 3, 10: 170, 11: 0, 12: [],
                                       13: 1751906100, 16: -1, 17: 60, 18: 1751906100}


@dataclass(frozen=True)
class ServerAsset:
    """One asset the server lists, and the recorded ticks it streams for it (may be none)."""

    asset_id: int
    symbol: str
    name: str
    payout_pct: int
    times_s: tuple[int, ...]
    active: bool = True
    is_otc: bool = False
    asset_type: str = "currency"
    ticks: tuple[RecordedTick, ...] = ()

    def row(self) -> list[Any]:
        """The 19-element `updateAssets` row."""
        known = {0: self.asset_id, 1: self.symbol, 2: self.name, 3: self.asset_type,
                 5: self.payout_pct, 9: 1 if self.is_otc else 0, 14: self.active,
                 15: [{"time": t} for t in self.times_s]}
        return [known[i] if i in known else _UNKNOWN_ROW_FIELDS[i] for i in range(ROW_LEN)]


@dataclass
class ServerStats:
    """What the server saw; tests assert on it."""

    connections: int = 0
    authenticated: int = 0
    auth_rejected: int = 0
    pongs: int = 0
    ticks_sent: int = 0
    replay_finished: bool = False
    paths: list[str] = field(default_factory=list)
    origins: list[str] = field(default_factory=list)
    auth_payloads: list[dict[str, Any]] = field(default_factory=list)
    subscribed: list[str] = field(default_factory=list)
    events: Counter[str] = field(default_factory=Counter)
    bad_frames: int = 0


@dataclass(eq=False)
class _Conn:
    ws: ServerConnection
    sid: str
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    authed: bool = False
    subscribed: set[str] = field(default_factory=set)
    last_pong: float = 0.0

    async def send(self, *messages: str | bytes) -> None:
        """Send messages back to back (a binary event's header and attachment stay together)."""
        async with self.lock:
            for m in messages:
                await self.ws.send(m)


def unix_seconds(ts_ns: int) -> str:
    """ns -> unix seconds with millisecond precision, as the broker writes them."""
    ms = ts_ns // 1_000_000
    return f"{ms // 1000}.{ms % 1000:03d}"


def stream_payload(symbol: str, ts_ns: int, price: Decimal) -> str:
    """`[["EURUSD",1546383600.078,1.14624]]` with the price's exact decimal digits."""
    return f"[[{json.dumps(symbol)},{unix_seconds(ts_ns)},{format(price, 'f')}]]"


class PocketOptionServer:
    """Serve the Pocket Option protocol on a free loopback port until `stop()`."""

    def __init__(self, assets: Sequence[ServerAsset], *, session: str, uid: int,
                 balance: Decimal = Decimal("50000"), is_demo: int = 1,
                 tick_interval_s: float = 0.002, price_source: PriceSource = PriceSource.MID,
                 ping_interval_ms: int = 25_000, ping_timeout_ms: int = 20_000,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        if host not in LOOPBACK:
            raise ConfigurationError(f"the Pocket Option simulator binds loopback only, not "
                                     f"{host!r}")
        symbols = [a.symbol for a in assets]
        if len(set(symbols)) != len(symbols):
            raise ConfigurationError(f"asset symbols must be unique: {symbols}")
        self.assets = tuple(assets)
        self._session, self._uid = session, uid
        self._balance, self._is_demo = balance, is_demo
        self._tick_interval_s = tick_interval_s
        self._price_source = price_source
        self._ping_interval_ms, self._ping_timeout_ms = ping_interval_ms, ping_timeout_ms
        self._host, self._port = host, port
        self._server: Server | None = None
        self._conns: set[_Conn] = set()
        self._replay: asyncio.Task[None] | None = None
        self._subscribers = asyncio.Event()
        self.stats = ServerStats()

    @classmethod
    def from_paper_config(cls, config: PaperPocketOptionConfig | None = None,
                          data_dir: str | Path = DEFAULT_DATA_DIR, *,
                          extra_assets: Iterable[ServerAsset] = (),
                          **kwargs: Any) -> PocketOptionServer:
        """The paper venue's assets, payouts, expiries and recorded ticks, plus `extra_assets`.

        Payouts must be whole percentages (the broker sends integers).
        """
        config = config or PaperPocketOptionConfig()
        assets: list[ServerAsset] = []
        for n, a in enumerate(config.assets, 1):
            if a.payout_pct != a.payout_pct.to_integral_value():
                raise ConfigurationError(f"{a.symbol}: payout {a.payout_pct} is not whole")
            ticks = tuple(t for t in read_ticks(Path(data_dir) / a.tick_file, a.tick_format)
                          if isinstance(t, RecordedTick))
            assets.append(ServerAsset(asset_id=n, symbol=a.symbol, name=a.name,
                                      payout_pct=int(a.payout_pct), times_s=a.expiries_s,
                                      active=a.active, is_otc=a.is_otc, ticks=ticks))
        assets.extend(extra_assets)
        return cls(assets, price_source=config.price_source, **kwargs)

    # ---- lifecycle -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("server not started")
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        """The websocket URL in the broker's form."""
        return f"ws://{self._host}:{self.port}{PATH_PREFIX}?EIO=4&transport=websocket"

    async def start(self) -> str:
        """Listen; returns the URL."""
        # Engine.IO pings ("2"/"3") keep the session alive; no websocket-level pings on top.
        self._server = await serve(self._handle, self._host, self._port, ping_interval=None)
        return self.url

    async def stop(self) -> None:
        """Close every connection and stop listening; idempotent."""
        if self._replay is not None:
            self._replay.cancel()
            await asyncio.gather(self._replay, return_exceptions=True)
            self._replay = None
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> PocketOptionServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def drop_connections(self) -> int:
        """Close every client connection (clients may reconnect); returns how many."""
        conns = list(self._conns)
        for c in conns:
            await c.ws.close(code=1001, reason="server drops the connection")
        return len(conns)

    async def set_payout(self, symbol: str, payout_pct: int) -> None:
        """Change one asset's payout and push the new `updateAssets` list to every client, as
        the broker does when payouts move."""
        if symbol not in {a.symbol for a in self.assets}:
            raise KeyError(symbol)
        self.assets = tuple(replace(a, payout_pct=payout_pct) if a.symbol == symbol else a
                            for a in self.assets)
        await self.send_to_all(*encode_binary_event("updateAssets", self._rows_json()))

    def _rows_json(self) -> str:
        return json.dumps([a.row() for a in self.assets], separators=(",", ":"))

    async def send_to_all(self, *messages: str | bytes) -> None:
        """Send raw frames to every authenticated connection (tests inject bad frames)."""
        for c in list(self._conns):
            if c.authed:
                try:
                    await c.send(*messages)
                except ConnectionClosed:
                    continue

    # ---- one connection --------------------------------------------------------------------

    async def _handle(self, ws: ServerConnection) -> None:
        path = ws.request.path if ws.request else ""
        self.stats.paths.append(path)
        if ws.request is not None:
            self.stats.origins.append(ws.request.headers.get("Origin", ""))
        if not path.startswith(PATH_PREFIX) or "EIO=4" not in path:
            await ws.close(code=1008, reason="expected /socket.io/?EIO=4&transport=websocket")
            return
        loop = asyncio.get_running_loop()
        conn = _Conn(ws=ws, sid=uuid.uuid4().hex[:20], last_pong=loop.time())
        self._conns.add(conn)
        self.stats.connections += 1
        pinger = asyncio.create_task(self._ping(conn))
        try:
            await conn.send(encode_open(conn.sid, ping_interval_ms=self._ping_interval_ms,
                                        ping_timeout_ms=self._ping_timeout_ms))
            async for message in ws:
                await self._on_client(conn, message)
        except ConnectionClosed:
            pass
        finally:
            pinger.cancel()
            self._conns.discard(conn)
            self._update_subscribers()

    async def _ping(self, conn: _Conn) -> None:
        interval = self._ping_interval_ms / 1000
        limit = interval + self._ping_timeout_ms / 1000
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(interval)
            if loop.time() - conn.last_pong > limit:
                await conn.ws.close(code=1011, reason="ping timeout")
                return
            await conn.send("2")

    async def _on_client(self, conn: _Conn, message: str | bytes) -> None:
        if isinstance(message, bytes):
            self.stats.bad_frames += 1
            return
        try:
            frame = parse_frame(message)
        except ProtocolError:
            self.stats.bad_frames += 1
            return
        if frame.engine is EngineType.PONG:
            self.stats.pongs += 1
            conn.last_pong = asyncio.get_running_loop().time()
            return
        if frame.socket is SocketType.CONNECT:
            await conn.send(encode_connect_ack(conn.sid))
            return
        if frame.socket is not SocketType.EVENT:
            return
        name, args = frame.data[0], frame.data[1:]
        self.stats.events[name] += 1
        if name == "auth":
            await self._auth(conn, args[0] if args else None)
        elif not conn.authed:
            return
        elif name == "assets/load":
            await conn.send(*encode_binary_event("updateAssets", self._rows_json()))
        elif name == "getBalance":
            await self._send_balance(conn)
        elif name == "subfor" and args and isinstance(args[0], str):
            conn.subscribed.add(args[0])
            self.stats.subscribed.append(args[0])
            self._update_subscribers()
            self._ensure_replay()
        elif name == "unsubfor" and args and isinstance(args[0], str):
            conn.subscribed.discard(args[0])
            self._update_subscribers()

    async def _auth(self, conn: _Conn, auth: Any) -> None:
        ok = isinstance(auth, dict)
        if ok:
            self.stats.auth_payloads.append(dict(auth))
            session = auth.get("session", auth.get("sessionToken"))
            try:
                uid = int(auth.get("uid"))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                uid = None
            ok = session == self._session and uid == self._uid
        if not ok:
            self.stats.auth_rejected += 1
            await conn.send("41")
            await conn.ws.close(code=1008, reason="auth rejected")
            return
        conn.authed = True
        self.stats.authenticated += 1
        body = json.dumps({"id": conn.sid, "serverName": "trifecta-local"})
        await conn.send(*encode_binary_event("successauth", body))
        await self._send_balance(conn)

    async def _send_balance(self, conn: _Conn) -> None:
        body = (f'{{"uid":{self._uid},"isDemo":{self._is_demo},'
                f'"balance":{format(self._balance, "f")}}}')
        await conn.send(*encode_binary_event("successupdateBalance", body))

    # ---- the recorded price stream ---------------------------------------------------------

    def _update_subscribers(self) -> None:
        streamed = {a.symbol for a in self.assets if a.ticks}
        if any(c.subscribed & streamed for c in self._conns if c.authed):
            self._subscribers.set()
        else:
            self._subscribers.clear()

    def _ensure_replay(self) -> None:
        if self._replay is None and any(a.ticks for a in self.assets):
            self._replay = asyncio.create_task(self._run_replay(), name="pocketoption-sim-replay")

    def _merged(self) -> Iterator[tuple[tuple[int, int, int], str, RecordedTick]]:
        def keyed(rank: int, a: ServerAsset,
                  ) -> Iterator[tuple[tuple[int, int, int], str, RecordedTick]]:
            for t in a.ticks:
                yield (t.ts_ns, rank, t.line_no), a.symbol, t
        return heapq.merge(*(keyed(r, a) for r, a in enumerate(self.assets)),
                           key=lambda kv: kv[0])

    async def _run_replay(self) -> None:
        for _, symbol, tick in self._merged():
            await self._subscribers.wait()
            targets = [c for c in list(self._conns) if c.authed and symbol in c.subscribed]
            if not targets:
                continue
            header, body = encode_binary_event(
                "updateStream", stream_payload(symbol, tick.ts_ns, tick.price(self._price_source)))
            for c in targets:
                try:
                    await c.send(header, body)
                except ConnectionClosed:
                    continue
            self.stats.ticks_sent += 1
            await asyncio.sleep(self._tick_interval_s)
        self.stats.replay_finished = True

