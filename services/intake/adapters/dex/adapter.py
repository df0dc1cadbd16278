"""`DexPoolAdapter`: Uniswap-V2-style pools of one chain, polled over JSON-RPC each new block.

One adapter per chain (venue `DEX_<CHAIN>`). `start()` checks the node's chain id and reads
each pool's `token0()`/`token1()` and the tokens' `symbol()`/`decimals()`. `stream()` then
watches the head block and, each time it moves, reads every pool's `getReserves()` pinned to
that block number (so all pools of one round are from the same state) and yields one
`PoolStateUpdated` per pool, stamped with the block's timestamp. Blocks that come and go
between two polls are not read: the adapter follows the head, it does not replay history.

`quote()` prices a swap off-chain from the last reserves with `amm.get_amount_out`, which is
the V2 contract's integer maths, so it equals what the pool would pay at that block.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence

from eth_utils import to_checksum_address
from pydantic import SecretStr

from libs.common import amm
from libs.common.clock import Clock, LiveClock
from libs.common.enums import ChainId
from libs.common.errors import ConfigurationError, RateLimited, TemporaryError, ValidationFailed
from libs.common.events import InstrumentsUpdated, PoolStateUpdated
from services.intake.adapters.base import AdapterStats, BadMessage

from .config import DexSettings, PoolConfig, parse_chain, redact_url, venue_name
from .parsing import (
    DECIMALS,
    GET_RESERVES,
    SYMBOL,
    TOKEN0,
    TOKEN1,
    BlockHead,
    PoolMeta,
    decode_address,
    decode_decimals,
    decode_reserves,
    decode_symbol,
    instrument_info,
    parse_block,
    pool_state_event,
)
from .rpc import RpcClient, RpcRateLimited

logger = logging.getLogger(__name__)


class DexPoolAdapter:
    """VenueAdapter for the constant-product pools of one chain. See the module docstring."""

    def __init__(self, chain: ChainId | int | str, rpc_url: SecretStr | str,
                 pools: Sequence[PoolConfig], *, clock: Clock | None = None,
                 poll_interval_s: float = 1.0, request_timeout_s: float = 10.0,
                 max_backoff_s: float = 30.0, only_on_change: bool = False) -> None:
        self.chain = parse_chain(chain)
        self.venue = venue_name(self.chain)
        self.stats = AdapterStats()
        if not pools:
            raise ConfigurationError(f"{self.venue}: no pool configured")
        seen: set[str] = set()
        for pool in pools:
            address = to_checksum_address(pool.address)
            if address in seen:
                raise ConfigurationError(f"{self.venue}: pool {address} is listed twice")
            seen.add(address)
        if poll_interval_s <= 0 or request_timeout_s <= 0 or max_backoff_s <= 0:
            raise ConfigurationError(f"{self.venue}: intervals and timeouts must be > 0")
        self._rpc_url = rpc_url if isinstance(rpc_url, SecretStr) else SecretStr(rpc_url)
        self._pools = tuple(pools)
        self._clock: Clock = clock or LiveClock()
        self._poll_interval_s = poll_interval_s
        self._timeout_s = request_timeout_s
        self._max_backoff_s = max_backoff_s
        self._only_on_change = only_on_change
        self._client: RpcClient | None = None
        self._meta: dict[str, PoolMeta] = {}  # by checksummed pool address
        self._by_id: dict[str, str] = {}  # instrument id -> pool address
        self._states: dict[str, PoolStateUpdated] = {}
        self._head: BlockHead | None = None
        self._start_head: BlockHead | None = None
        self._start_lock = asyncio.Lock()
        self._closed = asyncio.Event()

    @classmethod
    def from_settings(cls, settings: DexSettings, chain: ChainId | int | str, *,
                      clock: Clock | None = None) -> DexPoolAdapter:
        """The adapter for one chain of `settings`; ConfigurationError if it has no URL/pool."""
        chain = parse_chain(chain)
        if chain not in settings.rpc_urls:
            raise ConfigurationError(f"TRIFECTA_DEX_RPC_URLS has no URL for {chain.name}")
        return cls(chain, settings.rpc_urls[chain], settings.pools.get(chain, ()), clock=clock,
                   poll_interval_s=settings.poll_interval_s,
                   request_timeout_s=settings.request_timeout_s,
                   max_backoff_s=settings.max_backoff_s,
                   only_on_change=settings.only_on_change)

    @property
    def endpoint(self) -> str:
        """The node as `scheme://host[:port]`, safe to show."""
        return redact_url(self._rpc_url.get_secret_value())

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Check the node's chain id and read every pool's tokens; idempotent.

        Raises ConfigurationError (wrong chain, not a V2 pair, duplicate instrument ids) or
        TemporaryError (node unreachable: try again).
        """
        async with self._start_lock:
            if self._meta:
                return
            self._closed.clear()
            if self._client is None:
                self._client = RpcClient(self._rpc_url, timeout_s=self._timeout_s,
                                         label=f"{self.venue} node {self.endpoint}")
            client = self._client
            got = await client.eth_chain_id()
            if got != self.chain.value:
                raise ConfigurationError(
                    f"{self.venue}: the node at {self.endpoint} serves chain id {got}, "
                    f"not {self.chain.value} ({self.chain.name})")
            head = parse_block(await client.eth_get_block_by_number("latest"))
            metas = await asyncio.gather(*(self._read_meta(client, p) for p in self._pools))
            by_id: dict[str, str] = {}
            for meta in metas:
                if meta.instrument_id in by_id:
                    raise ConfigurationError(
                        f"{self.venue}: pools {by_id[meta.instrument_id]} and {meta.address} "
                        f"are both {meta.instrument_id}; give them a `label`")
                by_id[meta.instrument_id] = meta.address
            self._meta = {m.address: m for m in metas}
            self._by_id = by_id
            self._start_head = head
            logger.info("%s: %d pools on %s, head block %d", self.venue, len(metas),
                        self.endpoint, head.number)

    async def _read_meta(self, client: RpcClient, pool: PoolConfig) -> PoolMeta:
        address = to_checksum_address(pool.address)
        try:
            token0 = decode_address(await client.eth_call(address, TOKEN0),
                                    f"token0() of pool {address}")
            token1 = decode_address(await client.eth_call(address, TOKEN1),
                                    f"token1() of pool {address}")
            (symbol0, decimals0), (symbol1, decimals1) = await asyncio.gather(
                self._read_token(client, token0), self._read_token(client, token1))
            # One getReserves() now, so a wrong address fails at start, not on every block.
            decode_reserves(await client.eth_call(address, GET_RESERVES),
                            f"getReserves() of pool {address}")
        except ValidationFailed as e:
            raise ConfigurationError(
                f"{self.venue}: {address} is not a usable V2 pair: {e}") from e
        return PoolMeta(chain=self.chain, address=address, token0=token0, token1=token1,
                        symbol0=symbol0, symbol1=symbol1, decimals0=decimals0,
                        decimals1=decimals1, fee_bps=pool.fee_bps, label=pool.label)

    @staticmethod
    async def _read_token(client: RpcClient, token: str) -> tuple[str, int]:
        symbol = decode_symbol(await client.eth_call(token, SYMBOL), f"symbol() of {token}")
        decimals = decode_decimals(await client.eth_call(token, DECIMALS),
                                   f"decimals() of {token}")
        return symbol, decimals

    async def close(self) -> None:
        """Stop the streams and release the HTTP session; idempotent. `start()` reopens."""
        self._closed.set()
        client, self._client = self._client, None
        self._meta, self._by_id, self._head = {}, {}, None
        if client is not None:
            await client.close()

    # -- VenueAdapter ------------------------------------------------------------------------

    async def instruments(self) -> InstrumentsUpdated:
        """One InstrumentInfo per pool (SPOT, base token0, quote token1, fee as taker fee)."""
        await self.start()
        assert self._start_head is not None
        return InstrumentsUpdated(
            ts_event=self._start_head.ts_ns, ts_init=self._clock.now_ns(), venue=self.venue,
            instruments=tuple(instrument_info(m) for m in self._meta.values()))

    async def stream(self, instrument_ids: list[str]) -> AsyncIterator[PoolStateUpdated |
                                                                         BadMessage]:
        """`PoolStateUpdated` for the pools named (all if empty) each new block, until close().

        Node failures are retried with exponential backoff (`stats.reconnects`, and
        `stats.rate_limited` when the node throttles); an answer that cannot be used becomes a
        `BadMessage` and polling goes on. ConfigurationError and OperationalError propagate.
        """
        backoff = self._poll_interval_s
        selected: list[str] | None = None
        while not self._closed.is_set():
            items: list[PoolStateUpdated | BadMessage] = []
            try:
                await self.start()
                if selected is None:
                    selected = self._select(instrument_ids)
                items = await self._poll_unless_closed(selected)
                if items is None:  # close() while a request was in flight
                    break
                backoff = self._poll_interval_s
                delay = self._poll_interval_s
            except TemporaryError as e:
                if self._closed.is_set():
                    break
                self.stats.reconnects += 1
                delay = backoff
                if isinstance(e, RateLimited):
                    self.stats.rate_limited += 1
                    if isinstance(e, RpcRateLimited) and e.retry_after_s is not None:
                        delay = max(delay, e.retry_after_s)
                logger.warning("%s: %s; retrying in %.1fs", self.venue, e, delay)
                backoff = min(backoff * 2, self._max_backoff_s)
            except ValidationFailed as e:
                self.stats.bad_messages += 1
                items = [BadMessage(self.venue, str(e), payload="eth_getBlockByNumber(latest)")]
                delay = self._poll_interval_s
            for item in items:
                yield item
            if await self._wait_closed(delay):
                break

    async def _poll_unless_closed(self, selected: list[str],
                                  ) -> list[PoolStateUpdated | BadMessage] | None:
        """One poll, abandoned (None) as soon as close() is called: a request in flight on a
        slow or dead node must not keep a closed stream alive for its whole timeout."""
        poll = asyncio.ensure_future(self.poll(selected))
        closed = asyncio.ensure_future(self._closed.wait())
        try:
            await asyncio.wait({poll, closed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closed.cancel()
        if not poll.done():
            poll.cancel()
            await asyncio.gather(poll, return_exceptions=True)
            return None
        return poll.result()

    async def _wait_closed(self, delay: float) -> bool:
        try:
            await asyncio.wait_for(self._closed.wait(), delay)
        except TimeoutError:
            return False
        return True

    def _select(self, instrument_ids: Sequence[str]) -> list[str]:
        if not instrument_ids:
            return list(self._meta)
        addresses: list[str] = []
        unknown: list[str] = []
        for key in instrument_ids:
            address = self._resolve(key)
            if address is None:
                unknown.append(key)
            else:
                addresses.append(address)
        if unknown:
            raise ConfigurationError(f"{self.venue}: unknown instruments {unknown}; known: "
                                     f"{sorted(self._by_id)}")
        return list(dict.fromkeys(addresses))

    def _resolve(self, key: str) -> str | None:
        if key in self._by_id:
            return self._by_id[key]
        for address in self._meta:
            if address.lower() == key.lower():
                return address
        return None

    # -- polling -----------------------------------------------------------------------------

    async def poll(self, pools: Sequence[str] | None = None,
                   ) -> list[PoolStateUpdated | BadMessage]:
        """One round: if the head block moved, read the pools' reserves at it.

        `pools` are addresses or instrument ids (all pools if None or empty). Returns the new
        events (none if the head has not moved). A pool whose answer cannot be used gives a
        BadMessage; a node failure raises TemporaryError and no state changes.
        """
        await self.start()
        assert self._client is not None
        client, metas = self._client, self._meta  # close() may clear them meanwhile
        head = parse_block(await client.eth_get_block_by_number("latest"))
        self.stats.messages += 1
        if self._head is not None and head.number == self._head.number:
            return []
        if self._head is not None and head.number < self._head.number:
            self.stats.extra["reorgs"] = self.stats.extra.get("reorgs", 0) + 1
        addresses = self._select(pools) if pools else list(metas)
        answers = await asyncio.gather(
            *(client.eth_call(a, GET_RESERVES, head.number) for a in addresses),
            return_exceptions=True)
        for answer in answers:  # a node failure aborts the whole round
            if isinstance(answer, BaseException) and not isinstance(answer, ValidationFailed):
                raise answer
        out: list[PoolStateUpdated | BadMessage] = []
        ts_init = self._clock.now_ns()
        for address, answer in zip(addresses, answers, strict=True):
            self.stats.messages += 1
            what = f"getReserves() of pool {address} at block {head.number}"
            try:
                if isinstance(answer, BaseException):
                    raise answer
                reserves = decode_reserves(answer, what)
            except ValidationFailed as e:
                self.stats.bad_messages += 1
                reason = str(e) if str(e).startswith(what) else f"{what}: {e}"
                payload = "0x" + answer.hex() if isinstance(answer, bytes) else ""
                out.append(BadMessage(self.venue, reason, payload))
                continue
            event = pool_state_event(metas[address], reserves, head, ts_init)
            previous = self._states.get(address)
            self._states[address] = event
            if (self._only_on_change and previous is not None
                    and (previous.reserve0, previous.reserve1) == (event.reserve0,
                                                                   event.reserve1)):
                continue
            self.stats.events += 1
            out.append(event)
        self._head = head
        return out

    # -- quotes ------------------------------------------------------------------------------

    def pool_state(self, pool: str) -> PoolStateUpdated | None:
        """The last reserves read for a pool (address or instrument id), None before any."""
        address = self._require_pool(pool)
        return self._states.get(address)

    def quote(self, chain: ChainId | int | str, pool: str, token_in: str, amount_in: int) -> int:
        """Raw units of the other token paid for `amount_in` raw units of `token_in`.

        `pool` is an address or an instrument id; `token_in` an address or a symbol. Uses the
        last reserves read (`pool_state`); raises TemporaryError if none yet, and the
        `amm.AmmError` the pool contract would revert with (zero amount, empty reserve...).
        """
        return self.quote_path(chain, [pool], token_in, amount_in)[-1]

    def quote_path(self, chain: ChainId | int | str, pools: Sequence[str], token_in: str,
                   amount_in: int) -> list[int]:
        """Amounts along a multi-hop path of this chain's pools, `amount_in` first."""
        if parse_chain(chain) is not self.chain:
            raise ValueError(f"{self.venue} quotes {self.chain.name} pools, not "
                             f"{parse_chain(chain).name}")
        hops: list[amm.Hop] = []
        token = token_in
        for pool in pools:
            address = self._require_pool(pool)
            meta, state = self._meta[address], self._states.get(address)
            if state is None:
                raise TemporaryError(f"{self.venue}: no reserves read yet for {address}")
            index = meta.token_index(token)
            reserves = (state.reserve0, state.reserve1)
            hops.append(amm.Hop(reserves[index], reserves[1 - index], meta.fee_bps))
            token = (meta.token0, meta.token1)[1 - index]
        return amm.get_amounts_out(amount_in, hops)

    def _require_pool(self, pool: str) -> str:
        address = self._resolve(pool)
        if address is None:
            raise ValueError(f"{self.venue}: unknown pool {pool!r} (not started, or not "
                             "configured)")
        return address


def adapters_from_settings(settings: DexSettings, *,
                           clock: Clock | None = None) -> list[DexPoolAdapter]:
    """One adapter per chain that has both an RPC URL and pools; other chains are not polled."""
    return [DexPoolAdapter.from_settings(settings, c, clock=clock)
            for c in settings.polled_chains()]
