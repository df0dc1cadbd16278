"""Mt5Adapter against the fake terminal: in-process, and through a real mt5linux bridge.

The fake (`services/intake/simulators/fake_mt5`) serves the recorded forex data with the
MetaTrader5 package's functions, types and error codes. The same contract suite runs over it
imported as a module and over `python -m mt5linux` (an rpyc classic server on 127.0.0.1, a free
port, with the fake on its PYTHONPATH) driven by the mt5linux client, as on Linux with Wine.
"""
from __future__ import annotations

import asyncio
import csv
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from libs.common.errors import ConfigurationError, OperationalError
from libs.common.events import BarClosed, Event, QuoteTick
from services.intake.adapters.base import BadMessage
from services.intake.adapters.mt5 import Mt5Adapter, Mt5Settings
from services.intake.adapters.mt5 import schemas as S
from services.intake.simulators.fake_mt5 import FAKE_MT5_DIR
from services.intake.simulators.fake_mt5 import MetaTrader5 as fake
from tests.integration.adapters.contract import AdapterContract, ContractCase

DATA = Path(__file__).resolve().parents[3] / "data" / "recorded"
IDS = ["EUR/USD.MT5", "USD/JPY.MT5", "GBP/USD.MT5"]
EURUSD_T0_NS = 1_577_916_000_065 * 10**6  # HistData 2020-01-01 17:00:00.065 EST, in UTC
D = Decimal


def settings(**over: Any) -> Mt5Settings:
    base: dict[str, Any] = dict(poll_interval_s=0.01, reconnect_initial_s=0.01,
                                reconnect_max_s=0.05, reconnect_max_attempts=50)
    return Mt5Settings(**{**base, **over})


def ns(text: str) -> int:
    dt = datetime.fromisoformat(text)
    return int(dt.timestamp()) * 10**9 + dt.microsecond * 1000


def truefx_quotes(upto_s: float) -> list[tuple[int, Decimal, Decimal]]:
    with (DATA / "forex/truefx/usdjpy-ticks.csv").open() as fh:
        rows = [(ns(t), D(b), D(a)) for t, b, a in list(csv.reader(fh))[1:]]
    return [r for r in rows if r[0] <= rows[0][0] + int(upto_s * 10**9)]


@pytest.fixture
def contract() -> ContractCase:
    return ContractCase(instrument_ids=IDS, min_events=60,
                        kinds=frozenset({"md.quote", "md.bar"}), timeout_s=15)


# -- the contract over the fake module --------------------------------------------------------

class TestMt5AdapterOverFakeModule(AdapterContract):
    @pytest.fixture
    async def adapter(self) -> AsyncIterator[Mt5Adapter]:
        fake.simulator.configure(speed=600)  # 10 simulated minutes per wall second
        a = Mt5Adapter(fake, settings())
        await a.start()
        yield a
        await a.close()


# -- the contract over mt5linux ---------------------------------------------------------------

@dataclass
class Bridge:
    port: int
    process: subprocess.Popen[bytes]
    control: Any  # the server's MetaTrader5 module (the fake), through rpyc


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_bridge(port: int) -> Bridge:
    """`python -m mt5linux` on 127.0.0.1:port serving the fake; waits until it answers."""
    rpyc = pytest.importorskip("rpyc")
    env = {**os.environ, "PYTHONPATH": str(FAKE_MT5_DIR)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mt5linux", "--host", "127.0.0.1", "-p", str(port), "-q"],
        env=env, cwd="/", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while True:
        try:
            conn = rpyc.classic.connect("127.0.0.1", port)
            break
        except OSError as e:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"mt5linux server did not start (exit {proc.poll()})") from e
            time.sleep(0.05)
    return Bridge(port, proc, conn.modules["MetaTrader5"])


def stop_bridge(bridge: Bridge) -> None:
    bridge.process.terminate()
    try:
        bridge.process.wait(5)
    except subprocess.TimeoutExpired:
        bridge.process.kill()
        bridge.process.wait(5)


@pytest.fixture(scope="module")
def bridge() -> Iterator[Bridge]:
    pytest.importorskip("mt5linux", reason="mt5linux not installed: pip install 'mt5linux<1'")
    b = start_bridge(_free_port())
    assert b.control.__fake__ is True  # the server runs the fake, not a terminal
    yield b
    stop_bridge(b)


def bridge_settings(port: int, **over: Any) -> Mt5Settings:
    return settings(enabled=True, backend="mt5linux", mt5linux_port=port, **over)


class TestMt5AdapterOverMt5linux(AdapterContract):
    @pytest.fixture
    async def adapter(self, bridge: Bridge) -> AsyncIterator[Mt5Adapter]:
        bridge.control.simulator.configure(speed=600)
        a = Mt5Adapter.from_settings(bridge_settings(bridge.port))
        await a.start()
        yield a
        await a.close()


async def test_mt5linux_client_is_rebuilt_after_the_bridge_restarts() -> None:
    pytest.importorskip("mt5linux", reason="mt5linux not installed: pip install 'mt5linux<1'")
    port = _free_port()
    first = start_bridge(port)
    adapter = Mt5Adapter.from_settings(bridge_settings(port, reconnect_max_attempts=0))
    stream = adapter.stream(["USD/JPY.MT5"])
    try:
        before = await quotes(stream, 1)
        stop_bridge(first)
        second = start_bridge(port)  # a fresh terminal: clock back at the start
        try:
            second.control.simulator.advance(300)
            after = await quotes(stream, 41)
        finally:
            await stream.aclose()
            await adapter.close()
            stop_bridge(second)
    finally:
        if first.process.poll() is None:
            stop_bridge(first)
    expected = truefx_quotes(300)
    assert [(q.ts_event, q.bid, q.ask) for q in before + after] == expected
    assert adapter.stats.reconnects >= 1


# -- venue-specific, over the fake module with a hand-moved clock ------------------------------

@pytest.fixture
def still_fake() -> Iterator[Any]:
    """The fake with its clock stopped: only `advance()` moves it."""
    fake.simulator.configure(speed=0)
    yield fake.simulator
    fake.simulator.configure(speed=0)


async def collect(stream: AsyncIterator[Event | BadMessage], until: Any,
                  timeout: float = 10) -> list[Event | BadMessage]:
    got: list[Event | BadMessage] = []

    async def run() -> None:
        async for item in stream:
            got.append(item)
            if until(got):
                return

    await asyncio.wait_for(run(), timeout)
    return got


async def quotes(stream: AsyncIterator[Event | BadMessage], n: int) -> list[QuoteTick]:
    def enough(got: list[Any]) -> bool:
        return sum(isinstance(g, QuoteTick) for g in got) >= n
    return [g for g in await collect(stream, enough) if isinstance(g, QuoteTick)]


async def test_histdata_ticks_in_est_arrive_stamped_in_utc(still_fake: Any) -> None:
    adapter = Mt5Adapter(fake, settings())
    stream = adapter.stream(["EUR/USD.MT5"])
    [q] = await quotes(stream, 1)
    await stream.aclose()
    await adapter.close()
    assert q.ts_event == EURUSD_T0_NS == ns("2020-01-01T22:00:00.065+00:00")
    assert (q.bid, q.ask, q.symbol) == (D("1.12120"), D("1.12172"), "EURUSD")


async def test_every_recorded_tick_arrives_once_as_the_clock_advances(still_fake: Any) -> None:
    expected = truefx_quotes(1200)  # includes two ticks sharing one ms at +1177.111 s
    adapter = Mt5Adapter(fake, settings())
    stream = adapter.stream(["USD/JPY.MT5"])
    got = await quotes(stream, 1)
    for step in (1, 2, 3, 4):
        still_fake.advance(300)
        got += await quotes(stream, len(truefx_quotes(300 * step)) - len(got))
    await stream.aclose()
    await adapter.close()
    assert [(q.ts_event, q.bid, q.ask) for q in got] == expected


async def test_bar_ask_is_bid_plus_spread_points(still_fake: Any) -> None:
    with (DATA / "fxcm/gbpusd-m1-bid-2012.csv").open() as b, \
            (DATA / "fxcm/gbpusd-m1-ask-2012.csv").open() as a:
        bid = [r for r in list(csv.reader(b))[1:4]]
        ask = [r for r in list(csv.reader(a))[1:4]]
    still_fake.advance(180)  # bars 00:00-00:02 closed, 00:03 forming
    adapter = Mt5Adapter(fake, settings(initial_bars=3))
    stream = adapter.stream(["GBP/USD.MT5"])
    got = await collect(stream, lambda g: sum(isinstance(x, BarClosed) for x in g) >= 3)
    await stream.aclose()
    await adapter.close()
    bars = [g for g in got if isinstance(g, BarClosed)]
    for bar, b_row, a_row in zip(bars, bid, ask, strict=True):
        assert bar.ts_open == ns(b_row[0]) and bar.ts_event == bar.ts_open + 60 * 10**9
        assert [bar.bid_open, bar.bid_high, bar.bid_low, bar.bid_close] == [D(x) for x in b_row[1:]]
        spread = min(s for s in (D(a_row[1]) - D(b_row[1]), D(a_row[4]) - D(b_row[4])) if s >= 0)
        assert [bar.ask_open, bar.ask_high, bar.ask_low, bar.ask_close] == [
            D(x) + spread for x in b_row[1:]]
    # one spread for the whole bar: the derived ask open is not FXCM's ask open
    assert (bars[0].ask_open, D(ask[0][1])) == (D("1.57606"), D("1.57608"))


async def test_reconnects_after_the_terminal_drops_and_loses_no_tick(still_fake: Any) -> None:
    expected = truefx_quotes(1200)
    adapter = Mt5Adapter(fake, settings())
    stream = adapter.stream(["USD/JPY.MT5"])
    got = await quotes(stream, 1)
    calls_before = still_fake.calls("initialize")
    still_fake.drop(refuse_initialize=2)  # terminal gone; two initialize() attempts refused
    still_fake.advance(1200)
    got += await quotes(stream, len(expected) - 1)
    await stream.aclose()
    await adapter.close()
    assert [(q.ts_event, q.bid, q.ask) for q in got] == expected
    assert adapter.stats.reconnects == 1
    assert still_fake.calls("initialize") - calls_before == 3


async def test_ipc_timeout_is_retried_through_a_reconnect(still_fake: Any) -> None:
    expected = truefx_quotes(300)
    adapter = Mt5Adapter(fake, settings())
    stream = adapter.stream(["USD/JPY.MT5"])
    got = await quotes(stream, 1)
    still_fake.fail_next("copy_ticks_range", S.RES_E_INTERNAL_FAIL_TIMEOUT)
    still_fake.advance(300)
    got += await quotes(stream, len(expected) - 1)
    await stream.aclose()
    await adapter.close()
    assert [(q.ts_event, q.bid, q.ask) for q in got] == expected
    assert adapter.stats.reconnects == 1


async def test_refused_login_is_a_configuration_error_without_the_password(
        still_fake: Any) -> None:
    still_fake.set_account(77, "right-pw", "Fake-Demo")
    bad = Mt5Adapter(fake, settings(login=77, password=SecretStr("wrong-pw-123"),
                                    server="Fake-Demo"))
    with pytest.raises(ConfigurationError) as err:
        await bad.start()
    await bad.close()
    assert "wrong-pw-123" not in repr(err.value) and err.value.__cause__ is None
    assert "-6" in str(err.value)
    good = Mt5Adapter(fake, settings(login=77, password=SecretStr("right-pw"),
                                     server="Fake-Demo"))
    await good.start()
    assert fake.account_info().login == 77
    await good.close()


async def test_unreachable_terminal_gives_up_after_the_configured_attempts(
        still_fake: Any) -> None:
    still_fake.drop(refuse_initialize=100)
    adapter = Mt5Adapter(fake, settings(reconnect_max_attempts=3))
    with pytest.raises(OperationalError, match="3 attempts"):
        await adapter.start()
    await adapter.close()
    assert still_fake.calls("initialize") == 3


async def test_unknown_symbol_or_instrument_is_a_configuration_error(still_fake: Any) -> None:
    adapter = Mt5Adapter(fake, settings(symbols=("XAUUSD",)))
    with pytest.raises(ConfigurationError, match="-4"):
        await adapter.instruments()
    await adapter.close()
    adapter = Mt5Adapter(fake, settings())
    with pytest.raises(ConfigurationError, match="XAU/USD.MT5"):
        await anext(adapter.stream(["XAU/USD.MT5"]))
    await adapter.close()


async def test_broker_server_time_zone_is_undone(still_fake: Any) -> None:
    fake.simulator.configure(speed=0, server_utc_offset_s=7200)  # a GMT+2 broker
    adapter = Mt5Adapter(fake, settings(server_timezone="Etc/GMT-2", initial_bars=0))
    stream = adapter.stream(["EUR/USD.MT5"])
    [q] = await quotes(stream, 1)
    still_fake.advance(120)
    got = await collect(stream, lambda g: any(isinstance(x, BarClosed) for x in g))
    await stream.aclose()
    await adapter.close()
    bar = next(x for x in got if isinstance(x, BarClosed))
    assert q.ts_event == EURUSD_T0_NS
    assert bar.ts_open == ns("2020-01-01T22:00:00+00:00")


async def test_last_tick_mode_publishes_each_new_tick_it_sees(still_fake: Any) -> None:
    recorded = {(t, b, a) for t, b, a in truefx_quotes(3600)}
    adapter = Mt5Adapter(fake, settings(tick_source="last", bar_timeframe=None))
    stream = adapter.stream(["USD/JPY.MT5"])
    got = await quotes(stream, 1)
    for _ in range(5):
        still_fake.advance(200)
        got += await quotes(stream, 1)
    await stream.aclose()
    await adapter.close()
    times = [q.ts_event for q in got]
    assert times == sorted(set(times)) and len(got) == 6
    assert {(q.ts_event, q.bid, q.ask) for q in got} <= recorded


async def test_close_ends_a_running_stream_quietly(still_fake: Any) -> None:
    adapter = Mt5Adapter(fake, settings())
    stream = adapter.stream(["USD/JPY.MT5"])
    await quotes(stream, 1)

    async def drain() -> list[Event | BadMessage]:
        return [item async for item in stream]

    task = asyncio.create_task(drain())
    await asyncio.sleep(0.05)  # polling, nothing new: the clock is stopped
    await adapter.close()
    assert await asyncio.wait_for(task, 5) == []
