"""Raw `eth_call` answers and blocks -> validated values and our events. Pure: no I/O, no clock.

Every decoder takes the bytes a node returned and either gives a checked value or raises
`ValidationFailed` with the reason (what was called, on which contract, what came back), so the
adapter can turn one bad answer into a `BadMessage` and keep polling the other pools.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

from libs.common.amm import FEE_DENOMINATOR, UINT112_MAX
from libs.common.enums import ChainId, InstrumentKind
from libs.common.errors import ValidationFailed
from libs.common.events import InstrumentInfo, PoolStateUpdated
from libs.common.identifiers import instrument_id

from .config import venue_name

NS_PER_S = 1_000_000_000
MAX_DECIMALS = 36  # PoolStateUpdated's bound

# The few V2 pair and ERC20 views the adapter reads, as 4-byte selectors.
GET_RESERVES = function_signature_to_4byte_selector("getReserves()")
TOKEN0 = function_signature_to_4byte_selector("token0()")
TOKEN1 = function_signature_to_4byte_selector("token1()")
SYMBOL = function_signature_to_4byte_selector("symbol()")
DECIMALS = function_signature_to_4byte_selector("decimals()")

_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def _short(raw: bytes) -> str:
    text = "0x" + raw.hex()
    return text if len(text) <= 80 else f"{text[:74]}...({len(raw)} bytes)"


def _decode(types: list[str], raw: bytes, what: str) -> tuple[Any, ...]:
    if not raw:
        raise ValidationFailed(f"{what} returned no data (no contract at that address, or not "
                               "a V2 pair / ERC20)")
    try:
        return tuple(abi_decode(types, bytes(raw)))
    except (DecodingError, OverflowError, ValueError) as e:
        raise ValidationFailed(f"{what} returned {_short(raw)}, not ({', '.join(types)}): "
                               f"{e}") from e


def decode_address(raw: bytes, what: str) -> str:
    """An `address` return value, checksummed; the zero address is refused."""
    (address,) = _decode(["address"], raw, what)
    if int(address, 16) == 0:
        raise ValidationFailed(f"{what} returned the zero address")
    return to_checksum_address(address)


def decode_decimals(raw: bytes, what: str) -> int:
    """ERC20 `decimals()` (uint8 by the standard; a few tokens return uint256)."""
    (value,) = _decode(["uint256"], raw, what)
    if not 0 <= value <= MAX_DECIMALS:
        raise ValidationFailed(f"{what} returned {value}, outside 0..{MAX_DECIMALS}")
    return int(value)


def decode_symbol(raw: bytes, what: str) -> str:
    """ERC20 `symbol()`: an ABI string, or a bytes32 as some early tokens (MKR) return."""
    text: str | None = None
    if len(raw) >= 64:
        try:
            (text,) = abi_decode(["string"], bytes(raw))
        except (DecodingError, OverflowError, ValueError, UnicodeDecodeError):
            text = None
    if text is None and len(raw) == 32:
        try:
            text = bytes(raw).rstrip(b"\x00").decode("utf-8")
        except UnicodeDecodeError:
            text = None
    if text is None:
        raise ValidationFailed(f"{what} returned {_short(raw)}, neither a string nor a bytes32")
    text = text.strip()
    if not 1 <= len(text) <= 32 or not text.isprintable():
        raise ValidationFailed(f"{what} returned an unusable symbol {text!r}")
    return text


def decode_reserves(raw: bytes, what: str) -> tuple[int, int, int]:
    """V2 `getReserves()`: (reserve0 uint112, reserve1 uint112, blockTimestampLast uint32)."""
    reserve0, reserve1, ts_last = _decode(["uint112", "uint112", "uint32"], raw, what)
    if not (0 <= reserve0 <= UINT112_MAX and 0 <= reserve1 <= UINT112_MAX):
        raise ValidationFailed(f"{what} returned reserves outside uint112")
    return int(reserve0), int(reserve1), int(ts_last)


@dataclass(frozen=True)
class BlockHead:
    number: int
    timestamp_s: int

    @property
    def ts_ns(self) -> int:
        return self.timestamp_s * NS_PER_S


def parse_block(block: Mapping[str, Any] | None) -> BlockHead:
    """Number and timestamp of an `eth_getBlockByNumber` answer, checked."""
    if block is None:
        raise ValidationFailed("eth_getBlockByNumber returned null")
    number, timestamp = block.get("number"), block.get("timestamp")
    if not isinstance(number, int) or isinstance(number, bool) or number < 0:
        raise ValidationFailed(f"block has no valid number: {number!r}")
    if not isinstance(timestamp, int) or isinstance(timestamp, bool) or timestamp <= 0:
        raise ValidationFailed(f"block {number} has no valid timestamp: {timestamp!r}")
    return BlockHead(number, timestamp)


def id_symbol(symbol: str) -> str:
    """A token symbol made safe inside an instrument id (`USDC.e` -> `USDC_e`)."""
    return _ID_UNSAFE.sub("_", unicodedata.normalize("NFKC", symbol))


@dataclass(frozen=True)
class PoolMeta:
    """What does not change about a pool: read once from the chain at start."""

    chain: ChainId
    address: str  # checksummed
    token0: str
    token1: str
    symbol0: str
    symbol1: str
    decimals0: int
    decimals1: int
    fee_bps: int
    label: str | None = None

    @property
    def venue(self) -> str:
        return venue_name(self.chain)

    @property
    def instrument_id(self) -> str:
        """`WETH/USDC.DEX_ARBITRUM` (token0/token1), `WETH/USDC-SUSHI.DEX_ARBITRUM` if labelled."""
        pair = f"{id_symbol(self.symbol0)}/{id_symbol(self.symbol1)}"
        if self.label:
            pair = f"{pair}-{self.label}"
        return instrument_id(pair, self.venue)

    def token_index(self, token: str) -> int:
        """0 or 1 for a token given by address (any case) or by symbol; ValueError else."""
        if token.lower() == self.token0.lower():
            return 0
        if token.lower() == self.token1.lower():
            return 1
        by_symbol = [i for i, s in enumerate((self.symbol0, self.symbol1)) if s == token]
        if len(by_symbol) == 1:
            return by_symbol[0]
        raise ValueError(f"{token!r} is not a token of pool {self.address} "
                         f"({self.symbol0} {self.token0}, {self.symbol1} {self.token1})")


def pool_state_event(meta: PoolMeta, reserves: tuple[int, int, int], head: BlockHead,
                     ts_init: int) -> PoolStateUpdated:
    """The `md.pool` event for a pool's reserves at a block; ts_event is the block time."""
    reserve0, reserve1, _ = reserves
    return PoolStateUpdated(
        ts_event=head.ts_ns, ts_init=ts_init, chain_id=meta.chain, pool_address=meta.address,
        token0=meta.token0, token1=meta.token1, symbol0=meta.symbol0, symbol1=meta.symbol1,
        decimals0=meta.decimals0, decimals1=meta.decimals1, reserve0=reserve0,
        reserve1=reserve1, fee_bps=meta.fee_bps, block_number=head.number,
    )


def instrument_info(meta: PoolMeta) -> InstrumentInfo:
    """One pool as an instrument: SPOT, base token0, quote token1, the pool fee as taker fee."""
    return InstrumentInfo(
        instrument_id=meta.instrument_id, venue=meta.venue, symbol=meta.address,
        base=meta.symbol0, quote=meta.symbol1, instrument_kind=InstrumentKind.SPOT,
        lot_size=Decimal(1).scaleb(-meta.decimals0),
        taker_fee=Decimal(meta.fee_bps) / FEE_DENOMINATOR,
    )
