"""DexPoolAdapter against a real local EVM: eth-tester (py-evm) behind a JSON-RPC HTTP server
on 127.0.0.1, running the Vyper pair and tokens of services/intake/adapters/dex/contracts/.

The contracts are compiled once per session, deployed once per module; each test runs on an
eth-tester snapshot that is reverted afterwards, so swaps in one test never leak into another.
"""
from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from eth_abi import decode as abi_decode
from eth_tester.exceptions import TransactionFailed
from pydantic import SecretStr
from web3.exceptions import ContractLogicError

from libs.common.amm import (
    UINT112_MAX,
    AmmError,
    ArithmeticOverflow,
    get_amount_in,
    get_amount_out,
)
from libs.common.enums import ChainId
from libs.common.errors import ConfigurationError, TemporaryError
from libs.common.events import PoolStateUpdated
from libs.common.testing import eventually
from services.intake.adapters.base import BadMessage
from services.intake.adapters.dex import DexPoolAdapter, PoolConfig
from services.intake.adapters.dex.devchain import Artifact, DevChain, RpcServer, compile_contracts
from tests.integration.adapters.contract import AdapterContract, ContractCase

CHAIN = ChainId.ARBITRUM
API_KEY = "d3v-s3cret-k3y-7f00"  # the server only answers at /v2/<this>, like a keyed RPC
E18 = 10**18
E6 = 10**6


@dataclass
class Deployment:
    chain: DevChain
    server: RpcServer
    tokens: dict[str, Any]  # symbol -> web3 Contract
    pairs: dict[str, Any]  # name -> web3 Contract
    pools: list[PoolConfig]

    def instrument_id(self, name: str, label: str | None = None) -> str:
        pair = self.pairs[name]
        symbols = [self.chain.token(pair.functions.token0().call()).functions.symbol().call(),
                   self.chain.token(pair.functions.token1().call()).functions.symbol().call()]
        suffix = f"-{label}" if label else ""
        return f"{symbols[0]}/{symbols[1]}{suffix}.DEX_{CHAIN.name}"


@pytest.fixture(scope="session")
def artifacts() -> dict[str, Artifact]:
    return compile_contracts()  # ~1.1 s, once per session


@pytest.fixture(scope="module")
def deployment(artifacts: dict[str, Artifact]) -> Iterator[Deployment]:
    chain = DevChain(CHAIN.value, artifacts)  # deploy + seed below: ~1 s, once per module
    tokens = {s: chain.deploy_token(s, d) for s, d in (("WETH", 18), ("USDC", 6), ("DAI", 18))}
    pairs = {
        # a V2 pool (30 bps), a 25 bps pool (PancakeSwap-like) and a small 5 bps pool of the
        # same tokens as the first, which therefore needs a label.
        "weth_usdc": chain.deploy_pair(tokens["WETH"], tokens["USDC"], 30),
        "usdc_dai": chain.deploy_pair(tokens["USDC"], tokens["DAI"], 25),
        "weth_usdc_small": chain.deploy_pair(tokens["WETH"], tokens["USDC"], 5),
    }
    seeds = {"weth_usdc": {"WETH": 1000 * E18, "USDC": 3_000_000 * E6},
             "usdc_dai": {"USDC": 2_000_000 * E6, "DAI": 2_001_000 * E18},
             "weth_usdc_small": {"WETH": 10 * E18, "USDC": 29_000 * E6}}
    by_address = {t.address: s for s, t in tokens.items()}
    for name, amounts in seeds.items():
        pair = pairs[name]
        order = [by_address[pair.functions.token0().call()],
                 by_address[pair.functions.token1().call()]]
        chain.add_liquidity(pair, amounts[order[0]], amounts[order[1]])
    pools = [PoolConfig(address=pairs["weth_usdc"].address, fee_bps=30),
             PoolConfig(address=pairs["usdc_dai"].address, fee_bps=25),
             PoolConfig(address=pairs["weth_usdc_small"].address, fee_bps=5, label="SMALL")]
    with chain.serve(f"/v2/{API_KEY}") as server:
        yield Deployment(chain, server, tokens, pairs, pools)


@pytest.fixture(autouse=True)
def isolated(deployment: Deployment) -> Iterator[None]:
    snapshot = deployment.chain.snapshot()
    yield
    deployment.chain.revert(snapshot)


def make_adapter(d: Deployment, pools: list[PoolConfig] | None = None, url: str | None = None,
                 chain: ChainId = CHAIN, **kw: Any) -> DexPoolAdapter:
    return DexPoolAdapter(chain, SecretStr(url or d.server.url), pools or d.pools,
                          poll_interval_s=kw.pop("poll_interval_s", 0.02),
                          request_timeout_s=kw.pop("request_timeout_s", 5.0),
                          max_backoff_s=kw.pop("max_backoff_s", 0.2), **kw)


@pytest.fixture
async def adapter(deployment: Deployment) -> AsyncIterator[DexPoolAdapter]:
    a = make_adapter(deployment)
    await a.start()
    yield a
    await a.close()


@pytest.fixture
def contract(deployment: Deployment) -> ContractCase:
    ids = [deployment.instrument_id("weth_usdc"), deployment.instrument_id("usdc_dai"),
           deployment.instrument_id("weth_usdc_small", "SMALL")]
    return ContractCase(instrument_ids=ids, min_events=3, kinds=frozenset({"md.pool"}),
                        timeout_s=10.0)


class TestDexContract(AdapterContract):
    """The shared adapter contract, on the local EVM."""


async def collect(adapter: DexPoolAdapter, stop: Callable[[list[Any]], bool],
                  ids: list[str] | None = None, timeout_s: float = 10.0,
                  on_first: Callable[[], None] | None = None) -> list[Any]:
    items: list[Any] = []

    async def run() -> None:
        async for item in adapter.stream(ids or []):
            items.append(item)
            if len(items) == 1 and on_first is not None:
                on_first()
            if stop(items):
                return

    await asyncio.wait_for(run(), timeout_s)
    return items


def view(chain: DevChain, contract: Any, fn: str, *args: Any,
         block: int | str = "latest") -> Any:
    """A view function run on the EVM directly (not through the adapter); None if it reverts.

    Goes to eth-tester without web3's middleware: ~3 ms a call instead of ~7.
    """
    data = contract.encode_abi(fn, args=list(args))
    outputs = [o["type"] for o in contract.get_function_by_name(fn).abi["outputs"]]
    try:
        with chain.lock:
            raw = chain.tester.call({"from": chain.account, "to": contract.address,
                                     "data": data}, block)
    except TransactionFailed:
        return None
    values = abi_decode(outputs, bytes.fromhex(raw[2:]))
    return values[0] if len(values) == 1 else values


# -- quotes: off-chain maths == on-chain contract ----------------------------------------------

def amounts_to_try(reserve_in: int) -> list[int]:
    return [0, 1, 2, 3, 9, 10, 997, 1000, 10**6, 10**9, 10**12, 10**15, E18, reserve_in // 1000,
            reserve_in // 3, reserve_in // 2, reserve_in - 1, reserve_in, reserve_in + 1,
            10 * reserve_in, 10**6 * reserve_in, UINT112_MAX, 2**200]


async def test_offchain_quotes_equal_onchain_quote_out_for_many_amounts(
        adapter: DexPoolAdapter, deployment: Deployment) -> None:
    await adapter.poll()
    checked = reverted = 0
    for name in deployment.pairs:
        pair = deployment.pairs[name]
        state = adapter.pool_state(pair.address)
        assert state is not None
        for token_in, reserve_in in ((state.token0, state.reserve0),
                                     (state.token1, state.reserve1)):
            for amount in amounts_to_try(reserve_in):
                expected = view(deployment.chain, pair, "quoteOut", token_in, amount,
                                block=state.block_number)
                if expected is None:  # the contract reverts: the maths must refuse it too
                    with pytest.raises(AmmError):
                        adapter.quote(CHAIN, pair.address, token_in, amount)
                    reverted += 1
                else:
                    assert adapter.quote(CHAIN, pair.address, token_in, amount) == expected, (
                        name, token_in, amount)
                    checked += 1
    assert checked >= 100 and reverted >= 6  # 0 and 2**200 revert on both sides of each pool


async def test_the_maths_equals_the_contract_library_functions_on_chain(
        deployment: Deployment) -> None:
    # The pair's getAmountOut/getAmountIn(amount, reserveIn, reserveOut) at each pool's fee,
    # on reserves from 1 wei to uint112 max, against amm.get_amount_out/in.
    values = [1, 3, 1000, E18, UINT112_MAX]
    fees = {"weth_usdc": 30, "usdc_dai": 25, "weth_usdc_small": 5}
    for name, fee in fees.items():
        pair = deployment.pairs[name]
        for amount in values:
            for r_in in values:
                for r_out in values:
                    got = view(deployment.chain, pair, "getAmountOut", amount, r_in, r_out)
                    assert got == get_amount_out(amount, r_in, r_out, fee)
                    got_in = view(deployment.chain, pair, "getAmountIn", amount, r_in, r_out)
                    try:
                        assert got_in == get_amount_in(amount, r_in, r_out, fee)
                    except AmmError:
                        assert got_in is None  # both refuse (amount >= reserve, overflow)
    with pytest.raises(ArithmeticOverflow):
        get_amount_out(2**200, 2**100, 2**100)
    assert view(deployment.chain, deployment.pairs["weth_usdc"], "getAmountOut",
                2**200, 2**100, 2**100) is None


async def test_quote_is_exactly_what_the_pool_pays_one_more_wei_reverts(
        adapter: DexPoolAdapter, deployment: Deployment) -> None:
    chain, pair = deployment.chain, deployment.pairs["weth_usdc_small"]
    weth, usdc = deployment.tokens["WETH"], deployment.tokens["USDC"]
    await adapter.poll()
    for amount in (10**13, 3 * E18):  # 0.00001 WETH (~29,000 raw USDC), 3 WETH
        quoted = adapter.quote(CHAIN, pair.address, weth.address, amount)
        # Pay in, then ask for quoted + 1: the K check refuses it; quoted itself goes through.
        weth_is_0 = pair.functions.token0().call() == weth.address
        with chain.lock:
            chain.transact(weth.functions.mint(chain.account, amount))
            chain.transact(weth.functions.transfer(pair.address, amount))
            for ask, ok in ((quoted + 1, False), (quoted, True)):
                outs = (0, ask) if weth_is_0 else (ask, 0)
                swap = pair.functions.swap(outs[0], outs[1], chain.account)
                if not ok:
                    with pytest.raises((TransactionFailed, ContractLogicError), match="K"):
                        swap.transact({"from": chain.account})
                    continue
                before = usdc.functions.balanceOf(chain.account).call()
                chain.transact(swap)
                assert usdc.functions.balanceOf(chain.account).call() - before == quoted
        await adapter.poll()  # reserves moved: the next quote is from the new state


async def test_multi_hop_quote_equals_sequential_swaps_on_chain(
        adapter: DexPoolAdapter, deployment: Deployment) -> None:
    chain = deployment.chain
    weth, usdc = deployment.tokens["WETH"], deployment.tokens["USDC"]
    await adapter.poll()
    path = [deployment.instrument_id("weth_usdc"), deployment.instrument_id("usdc_dai")]
    amounts = adapter.quote_path(CHAIN, path, "WETH", 2 * E18)
    first = chain.swap_exact_in(deployment.pairs["weth_usdc"], weth.address, 2 * E18)
    second = chain.swap_exact_in(deployment.pairs["usdc_dai"], usdc.address, first)
    assert amounts == [2 * E18, first, second]
    assert 5_900 * E18 < second < 6_000 * E18  # ~2 x 3000 USDC, less fees and impact


# -- state: blocks, swaps, pinned reads -------------------------------------------------------

async def test_swap_on_chain_shows_in_the_next_pool_state(adapter: DexPoolAdapter,
                                                          deployment: Deployment) -> None:
    chain, pair = deployment.chain, deployment.pairs["weth_usdc"]
    weth = deployment.tokens["WETH"]
    swapped: dict[str, int] = {}

    def swap() -> None:
        swapped["out"] = chain.swap_exact_in(pair, weth.address, 5 * E18)

    def done(items: list[Any]) -> bool:
        return "out" in swapped and any(isinstance(i, PoolStateUpdated) and
                                        i.block_number == chain.block_number() for i in items)

    pool_id = deployment.instrument_id("weth_usdc")
    items = await collect(adapter, done, ids=[pool_id], on_first=swap)
    states = [i for i in items if isinstance(i, PoolStateUpdated)]
    before, after = states[0], states[-1]
    assert all(s.pool_address == pair.address for s in states)
    assert after.block_number > before.block_number and after.ts_event >= before.ts_event
    weth_is_0 = before.token0 == weth.address
    r_weth = (before.reserve0, before.reserve1)[0 if weth_is_0 else 1]
    r_usdc = (before.reserve0, before.reserve1)[1 if weth_is_0 else 0]
    assert swapped["out"] == get_amount_out(5 * E18, r_weth, r_usdc, 30)
    expected = ((r_weth + 5 * E18, r_usdc - swapped["out"]) if weth_is_0
                else (r_usdc - swapped["out"], r_weth + 5 * E18))
    assert (after.reserve0, after.reserve1) == expected
    assert (after.reserve0, after.reserve1) == view(chain, pair, "getReserves")[:2]
    with chain.lock:
        block = chain.tester.get_block_by_number(after.block_number)
    assert after.ts_event == block["timestamp"] * 10**9


async def test_each_new_block_yields_one_state_per_pool_read_at_that_block(
        adapter: DexPoolAdapter, deployment: Deployment) -> None:
    first = await adapter.poll()
    assert await adapter.poll() == []  # head unchanged: nothing to read
    deployment.chain.mine(2)
    second = await adapter.poll()
    assert len(first) == len(second) == 3
    assert {e.block_number for e in second} == {deployment.chain.block_number()}
    pinned = [p for m, p in list(deployment.server.calls)[-3:] if m == "eth_call"]
    assert [p[1] for p in pinned] == [hex(deployment.chain.block_number())] * 3


async def test_only_on_change_skips_pools_whose_reserves_did_not_move(
        deployment: Deployment) -> None:
    a = make_adapter(deployment, only_on_change=True)
    try:
        assert len(await a.poll()) == 3
        deployment.chain.mine()
        assert await a.poll() == []
        deployment.chain.swap_exact_in(deployment.pairs["usdc_dai"],
                                       deployment.tokens["DAI"].address, 1000 * E18)
        moved = await a.poll()
        assert [e.pool_address for e in moved] == [deployment.pairs["usdc_dai"].address]
    finally:
        await a.close()


async def test_instruments_name_each_pool_with_its_fee(adapter: DexPoolAdapter,
                                                       deployment: Deployment) -> None:
    info = {i.instrument_id: i for i in (await adapter.instruments()).instruments}
    small = info[deployment.instrument_id("weth_usdc_small", "SMALL")]
    assert small.symbol == deployment.pairs["weth_usdc_small"].address
    assert str(small.taker_fee) == "0.0005"
    dai = info[deployment.instrument_id("usdc_dai")]
    assert (dai.base, dai.quote) in {("USDC", "DAI"), ("DAI", "USDC")}
    assert str(dai.taker_fee) == "0.0025"


# -- errors -----------------------------------------------------------------------------------

async def test_a_pool_that_vanishes_gives_bad_messages_and_the_others_flow(
        deployment: Deployment) -> None:
    chain = deployment.chain
    before_deploy = chain.snapshot()
    extra = chain.deploy_pair(deployment.tokens["WETH"], deployment.tokens["DAI"], 30)
    chain.add_liquidity(extra, 10 * E18, 30_000 * E18)
    a = make_adapter(deployment, pools=[*deployment.pools, PoolConfig(address=extra.address)])
    try:
        assert len(await a.poll()) == 4
        chain.revert(before_deploy)  # a reorg drops the pool's deployment
        chain.mine(3)
        items = await a.poll()
        bad = [i for i in items if isinstance(i, BadMessage)]
        good = [i for i in items if isinstance(i, PoolStateUpdated)]
        assert len(good) == 3 and len(bad) == 1
        assert extra.address in bad[0].reason and "no data" in bad[0].reason
        assert a.stats.bad_messages == 1 and a.stats.extra["reorgs"] == 1
    finally:
        await a.close()


async def test_rate_limit_and_server_errors_are_retried_with_backoff(
        adapter: DexPoolAdapter, deployment: Deployment) -> None:
    deployment.server.fail_next(429, b'{"error":"slow down"}', count=2,
                                headers=(("Retry-After", "0"),))
    deployment.server.fail_next(503, b"upstream down")
    items = await collect(adapter, lambda xs: len(xs) >= 3)
    assert all(isinstance(i, PoolStateUpdated) for i in items)
    assert adapter.stats.rate_limited == 2 and adapter.stats.reconnects == 3


@pytest.mark.parametrize(("body", "reason"), [
    (b"<html>gateway</html>", "not JSON"),
    (b'{"jsonrpc":"2.0","id":0,"result":{"number":"nope","timestamp":"0x1"}}', "nope"),
    (b'{"jsonrpc":"2.0","id":0,"result":null}', "not found"),
])
async def test_an_unusable_answer_is_a_bad_message_and_polling_goes_on(
        adapter: DexPoolAdapter, deployment: Deployment, body: bytes, reason: str) -> None:
    deployment.server.fail_next(200, body)
    items = await collect(adapter, lambda xs: sum(isinstance(x, PoolStateUpdated)
                                                  for x in xs) >= 3)
    assert isinstance(items[0], BadMessage) and reason in items[0].reason
    assert items[0].venue == "DEX_ARBITRUM" and adapter.stats.bad_messages == 1
    assert all(isinstance(x, PoolStateUpdated) for x in items[1:])


async def test_wrong_chain_is_a_configuration_error(deployment: Deployment) -> None:
    a = make_adapter(deployment, chain=ChainId.BASE)
    with pytest.raises(ConfigurationError, match="chain id 42161, not 8453"):
        await a.start()
    await a.close()


async def test_a_token_or_an_empty_address_is_not_a_pair(deployment: Deployment) -> None:
    for address, why in ((deployment.tokens["WETH"].address, "revert"),
                         ("0x000000000000000000000000000000000000dEaD", "no data")):
        a = make_adapter(deployment, pools=[PoolConfig(address=address)])
        with pytest.raises(ConfigurationError, match=why):
            await a.start()
        await a.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_bad_key_and_dead_node_never_show_the_secret(
        deployment: Deployment, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "wr0ng-k3y-" + API_KEY[::-1]
    wrong = deployment.server.url.replace(API_KEY, secret)
    a = make_adapter(deployment, url=wrong)
    with pytest.raises(ConfigurationError, match="HTTP 401") as bad_key:
        await a.start()
    await a.close()
    dead = make_adapter(deployment, url=f"http://127.0.0.1:{free_port()}/v2/{secret}")
    with pytest.raises(TemporaryError) as unreachable:
        await dead.start()
    task = asyncio.ensure_future(dead.stream([]).__anext__())

    async def retried_twice() -> bool:  # failed rounds, retried in the background
        return dead.stats.reconnects >= 2

    await eventually(retried_twice, timeout=5)
    await dead.close()
    ended = await asyncio.gather(task, return_exceptions=True)
    assert isinstance(ended[0], StopAsyncIteration)  # close() ended the stream, nothing yielded
    for error in (bad_key.value, unreachable.value):
        chain_of_causes = [error, error.__cause__, error.__context__]
        assert all(secret not in repr(e) and secret not in str(e) for e in chain_of_causes)
    assert all(secret not in r.getMessage() for r in caplog.records)


async def test_close_ends_a_running_stream(adapter: DexPoolAdapter) -> None:
    async def consume() -> int:
        n = 0
        async for _ in adapter.stream([]):
            n += 1
        return n

    task = asyncio.create_task(consume())

    async def streaming() -> bool:
        return adapter.stats.events >= 3

    await eventually(streaming, timeout=5)
    await adapter.close()
    assert await asyncio.wait_for(task, 2.0) >= 3

