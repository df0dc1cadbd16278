"""Pocket Option: the DEMO paper venue and the live adapter against the local protocol server.

The live adapter runs the real BinaryOptionsToolsV2 client (Rust core) pointed at
`PocketOptionServer` on 127.0.0.1, fed the recorded 2019 EURUSD/USDJPY ticks. The library falls
back to Pocket Option's public servers when it cannot reach the URL it is given, so every live
test keeps the local server up for the adapter's whole life (the `live` fixture depends on
`server` and is closed first), never makes the server reject the login (the library answers a
`41` with a public-IP lookup) and uses a demo ssid (no IP geolocation). The library waits about
2 s before its first connection, which is most of these tests' run time.
"""
from __future__ import annotations

import asyncio
import importlib.util
import json
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio
from pydantic import SecretStr
from websockets.asyncio.client import connect

from libs.common.clock import LiveClock
from libs.common.errors import ConfigurationError
from libs.common.events import BinaryAssetsUpdated, Event, QuoteTick
from services.intake.adapters.base import BadMessage
from services.intake.adapters.pocketoption import (
    PaperPocketOption,
    PocketOptionAdapter,
    PocketOptionLiveSettings,
    build_live_client,
)
from services.intake.adapters.pocketoption.protocol import encode_binary_event
from services.intake.simulators.pocketoption_server import PocketOptionServer, ServerAsset
from tests.integration.adapters.contract import AdapterContract, ContractCase

SESSION = "trifecta-test-session-0001"
UID = 4242
SSID = "42" + json.dumps(["auth", {"session": SESSION, "isDemo": 1, "uid": UID, "platform": 2}],
                        separators=(",", ":"))
IDS = ["EUR/USD.POCKET_OPTION", "USD/JPY.POCKET_OPTION"]
# Listed by the server but without prices: an inactive OTC stock, as the broker lists them.
INACTIVE_OTC = ServerAsset(asset_id=170, symbol="#AAPL_otc", name="Apple OTC", payout_pct=50,
                           times_s=(60, 120), active=False, is_otc=True, asset_type="stock")


needs_library = pytest.mark.skipif(
    importlib.util.find_spec("BinaryOptionsToolsV2") is None,
    reason="binaryoptionstoolsv2 not installed (opt-in extra pocketoption-live: its licence "
           "restricts commercial use)")


@pytest.fixture(autouse=True)
def _no_env_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LIVE_ENABLED", "SSID", "WS_URL"):
        monkeypatch.delenv(f"TRIFECTA_POCKETOPTION_{name}", raising=False)


def live_settings(server: PocketOptionServer) -> PocketOptionLiveSettings:
    return PocketOptionLiveSettings(live_enabled=True, ssid=SecretStr(SSID), ws_url=server.url,
                                    reconnect_time_s=1, connect_timeout_s=15)


async def make_server(**kwargs: Any) -> PocketOptionServer:
    server = PocketOptionServer.from_paper_config(session=SESSION, uid=UID,
                                                  extra_assets=(INACTIVE_OTC,),
                                                  tick_interval_s=0.001, **kwargs)
    await server.start()
    return server


@pytest.fixture
async def server() -> AsyncIterator[PocketOptionServer]:
    srv = await make_server()
    yield srv
    await srv.stop()


@pytest.fixture
async def live(server: PocketOptionServer) -> AsyncIterator[PocketOptionAdapter]:
    # The library is an opt-in extra (its licence restricts commercial use; see the adapter's
    # README), so CI runs these only where it is installed.
    pytest.importorskip("BinaryOptionsToolsV2", reason="binaryoptionstoolsv2 not installed "
                        "(extra: pocketoption-live)")
    adapter = PocketOptionAdapter(live_settings(server), clock=LiveClock())
    await adapter.start()
    yield adapter
    await adapter.close()


class TestPaperPocketOptionContract(AdapterContract):
    @pytest.fixture
    async def adapter(self) -> AsyncIterator[PaperPocketOption]:
        paper = PaperPocketOption(clock=LiveClock())
        await paper.start()
        yield paper
        await paper.close()

    @pytest.fixture
    def contract(self) -> ContractCase:
        return ContractCase(instrument_ids=IDS, min_events=2000, kinds=frozenset({"md.quote"}))


@pytest_asyncio.fixture(scope="class", loop_scope="class")
async def shared_live() -> AsyncIterator[PocketOptionAdapter]:
    """One server and one connected adapter for a whole test class."""
    # The library is an opt-in extra (its licence restricts commercial use; see the adapter's
    # README), so CI runs these only where it is installed.
    pytest.importorskip("BinaryOptionsToolsV2", reason="binaryoptionstoolsv2 not installed "
                        "(extra: pocketoption-live)")
    srv = await make_server()
    adapter = PocketOptionAdapter(live_settings(srv), clock=LiveClock())
    try:
        await adapter.start()
        yield adapter
    finally:
        await adapter.close()
        await srv.stop()


@needs_library
class TestLivePocketOptionContract(AdapterContract):
    """Shares one adapter across the class: the library's ~2 s connection delay would otherwise
    be paid per test. `test_close_is_idempotent` closes it; it is defined last in
    AdapterContract and pytest runs tests in definition order."""

    pytestmark = pytest.mark.asyncio(loop_scope="class")

    @pytest.fixture
    def adapter(self, shared_live: PocketOptionAdapter) -> PocketOptionAdapter:
        return shared_live

    @pytest.fixture
    def contract(self) -> ContractCase:
        return ContractCase(instrument_ids=IDS, min_events=60, kinds=frozenset({"md.quote"}))


Items = list[Event | BadMessage]


async def collect(adapter: PocketOptionAdapter, until: Callable[[Items], bool],
                  timeout: float = 15.0, ids: list[str] = IDS) -> Items:
    """Stream items until `until(items)` is true."""
    items: list[Event | BadMessage] = []

    async def run() -> None:
        async for item in adapter.stream(ids):
            items.append(item)
            if until(items):
                return

    await asyncio.wait_for(run(), timeout)
    return items


def quotes(items: list[Event | BadMessage]) -> list[QuoteTick]:
    return [i for i in items if isinstance(i, QuoteTick)]


# ---- live: venue-specific --------------------------------------------------------------------

@needs_library
async def test_live_adapter_authenticates_answers_pings_and_lists_only_broker_assets(
) -> None:
    server = await make_server(ping_interval_ms=200)
    adapter = PocketOptionAdapter(live_settings(server), clock=LiveClock())
    try:
        await adapter.start()
        assert server.stats.auth_payloads == [{"session": SESSION, "isDemo": 1, "uid": UID,
                                               "platform": 2}]
        assert server.stats.paths == ["/socket.io/?EIO=4&transport=websocket"]
        assert server.stats.origins == ["https://pocketoption.com"]
        assets = {a.symbol: a for a in (await adapter.assets()).assets}
        assert set(assets) == {"EURUSD", "USDJPY", "#AAPL_otc"}
        assert (assets["EURUSD"].payout_pct, assets["EURUSD"].expiries_s) == (Decimal(92),
                                                                            (60, 300, 900))
        aapl = assets["#AAPL_otc"]
        assert (aapl.active, aapl.is_otc, aapl.payout_pct, aapl.expiries_s) == (
            False, True, Decimal(50), (60, 120))
        info = {i.instrument_id: i for i in (await adapter.instruments()).instruments}
        assert info["AAPL-OTC.POCKET_OPTION"].active is False
        assert (info["EUR/USD.POCKET_OPTION"].base, info["EUR/USD.POCKET_OPTION"].quote) == (
            "EUR", "USD")
        for _ in range(60):  # Engine.IO ping every 200 ms; the library must pong
            if server.stats.pongs >= 2:
                break
            await asyncio.sleep(0.05)
        assert server.stats.pongs >= 2
        with pytest.raises(ConfigurationError, match="GBP/USD.POCKET_OPTION"):
            await collect(adapter, lambda items: True, ids=["GBP/USD.POCKET_OPTION"])
    finally:
        await adapter.close()
        await server.stop()


@needs_library
async def test_bad_frames_become_bad_messages_and_payout_changes_are_streamed(
        live: PocketOptionAdapter, server: PocketOptionServer) -> None:
    tasks: list[asyncio.Task[None]] = []

    def until(items: Items) -> bool:
        if not tasks and len(quotes(items)) >= 10:
            tasks.append(asyncio.get_running_loop().create_task(inject()))
        bad = [i for i in items if isinstance(i, BadMessage)]
        return len(bad) >= 3 and any(isinstance(i, BinaryAssetsUpdated) for i in items) \
            and len(quotes(items[items.index(bad[2]):])) >= 10

    async def inject() -> None:
        await server.send_to_all(
            *encode_binary_event("updateStream", '[["EURUSD",1546383600.5,"abc"]]'),
            *encode_binary_event("updateStream", '[["EURUSD",946684800.0,1.1]]'),
            '451-["updateStream",{"_placeholder":true,"num":0}]', b"[[not json")
        await server.set_payout("EURUSD", 85)

    items = await collect(live, until)
    bad = [i for i in items if isinstance(i, BadMessage)]
    last = [q for q in quotes(items[:items.index(bad[1])]) if q.symbol == "EURUSD"][-1]
    assert [b.reason for b in bad] == [
        "updateStream: EURUSD: tick price 'abc' is not a positive number",
        "updateStream: EURUSD tick at 946684800000000000 is older than the last one "
        f"({last.ts_event}); dropped",
        "attachment of 'updateStream': not JSON: Expecting value: line 1 column 3 (char 2)",
    ]
    assert bad[0].payload == '[["EURUSD",1546383600.5,"abc"]]'
    assert live.stats.bad_messages == 3
    eur = [q.ts_event for q in quotes(items) if q.symbol == "EURUSD"]
    assert eur == sorted(eur)
    [update] = [i for i in items if isinstance(i, BinaryAssetsUpdated)]
    assert {a.symbol: a.payout_pct for a in update.assets} == {
        "EURUSD": Decimal(85), "USDJPY": Decimal(92), "#AAPL_otc": Decimal(50)}
    assert {a.symbol: a.payout_pct for a in (await live.assets()).assets}["EURUSD"] == 85


@needs_library
async def test_stream_resumes_after_the_server_drops_the_connection(
        live: PocketOptionAdapter, server: PocketOptionServer) -> None:
    dropped_at: list[int] = []
    tasks: list[asyncio.Task[int]] = []

    def until(items: Items) -> bool:
        if not dropped_at and len(quotes(items)) >= 20:
            dropped_at.append(len(items))
            tasks.append(asyncio.get_running_loop().create_task(server.drop_connections()))
        return bool(dropped_at) and live.stats.reconnects >= 1 \
            and len(quotes(items[dropped_at[0]:])) >= 20

    items = await collect(live, until, timeout=20)
    assert server.stats.connections == 2 and server.stats.authenticated == 2
    # The adapter subscribed again through the library after the second login.
    assert live.stats.extra["resubscriptions"] == 2
    assert server.stats.subscribed.count("EURUSD") == 2
    assert server.stats.subscribed.count("USDJPY") == 2
    for symbol in ("EURUSD", "USDJPY"):
        ts = [q.ts_event for q in quotes(items) if q.symbol == symbol]
        assert ts == sorted(ts)


# ---- live gating -----------------------------------------------------------------------------

def test_live_adapter_is_off_by_default() -> None:
    with pytest.raises(ConfigurationError, match="live connection is disabled"):
        PocketOptionAdapter(PocketOptionLiveSettings())


def test_live_adapter_needs_an_ssid_even_when_enabled() -> None:
    with pytest.raises(ConfigurationError, match="needs an ssid"):
        PocketOptionAdapter(PocketOptionLiveSettings(live_enabled=True))
    with pytest.raises(ConfigurationError, match="needs an ssid"):
        PocketOptionAdapter(PocketOptionLiveSettings(live_enabled=True, ssid=SecretStr("  ")))


def test_an_ssid_alone_does_not_enable_live() -> None:
    with pytest.raises(ConfigurationError, match="live connection is disabled") as err:
        PocketOptionAdapter(PocketOptionLiveSettings(ssid=SecretStr(SSID)))
    assert SESSION not in str(err.value)


async def test_more_instruments_than_the_library_can_subscribe_are_refused_before_connecting(
        server: PocketOptionServer) -> None:
    adapter = PocketOptionAdapter(live_settings(server))
    ids = [f"X{n}/USD.POCKET_OPTION" for n in range(5)]
    with pytest.raises(ConfigurationError, match="allows 4 subscriptions per client; asked for 5"):
        await collect(adapter, lambda items: True, ids=ids)
    assert server.stats.connections == 0
    await adapter.close()


async def test_live_client_is_not_built_without_the_opt_in() -> None:
    with pytest.raises(ConfigurationError, match="live connection is disabled"):
        await build_live_client(PocketOptionLiveSettings(ssid=SecretStr(SSID),
                                                         ws_url="ws://127.0.0.1:9/"))


# ---- the local server on its own -------------------------------------------------------------

async def test_server_rejects_a_wrong_session_with_a_disconnect_frame(
        server: PocketOptionServer) -> None:
    async with connect(server.url) as ws:
        opened = await ws.recv()
        assert isinstance(opened, str) and opened.startswith('0{"sid":')
        await ws.send("40")
        assert str(await ws.recv()).startswith('40{"sid":')
        await ws.send("42" + json.dumps(["auth", {"session": "wrong", "uid": UID}]))
        assert await ws.recv() == "41"
        await ws.wait_closed()
    assert (server.stats.auth_rejected, server.stats.authenticated) == (1, 0)


async def test_server_refuses_to_bind_outside_loopback() -> None:
    with pytest.raises(ConfigurationError, match="loopback only"):
        PocketOptionServer([], session=SESSION, uid=UID, host="0.0.0.0")
