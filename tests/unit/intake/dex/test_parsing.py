"""Decoding of node answers into checked values and events (no node involved)."""
from __future__ import annotations

from decimal import Decimal

import pytest
from eth_abi import encode

from libs.common.enums import ChainId, InstrumentKind
from libs.common.errors import ValidationFailed
from libs.common.events import decode
from libs.common.events import encode as encode_event
from services.intake.adapters.dex.parsing import (
    GET_RESERVES,
    BlockHead,
    PoolMeta,
    decode_address,
    decode_decimals,
    decode_reserves,
    decode_symbol,
    id_symbol,
    instrument_info,
    parse_block,
    pool_state_event,
)

WETH = "0x82aF49447D8a07e3bd95BD0d56f35241523fBab1"  # checksummed form
USDC = "0xaf88d065e77c8cC2239327C5EDb3A432268e5831"
POOL = "0x1111111111111111111111111111111111111111"


def meta(label: str | None = None, symbol1: str = "USDC") -> PoolMeta:
    return PoolMeta(chain=ChainId.ARBITRUM, address=POOL, token0=WETH, token1=USDC,
                    symbol0="WETH", symbol1=symbol1, decimals0=18, decimals1=6, fee_bps=30,
                    label=label)


def test_selectors_are_the_v2_ones() -> None:
    assert GET_RESERVES.hex() == "0902f1ac"  # UniswapV2Pair.getReserves()


def test_reserves_decode_from_abi_words() -> None:
    raw = encode(["uint112", "uint112", "uint32"], [3 * 10**12, 10**21, 1_700_000_000])
    assert decode_reserves(raw, "getReserves()") == (3 * 10**12, 10**21, 1_700_000_000)


def test_reserves_from_no_code_or_short_answer_are_refused_with_reason() -> None:
    with pytest.raises(ValidationFailed, match="no data"):
        decode_reserves(b"", "getReserves() of pool X")
    with pytest.raises(ValidationFailed, match="getReserves"):
        decode_reserves(b"\x00" * 40, "getReserves() of pool X")
    too_big = encode(["uint256", "uint256", "uint256"], [2**112, 1, 1])
    with pytest.raises(ValidationFailed):
        decode_reserves(too_big, "getReserves() of pool X")


def test_symbol_as_string_or_bytes32() -> None:
    assert decode_symbol(encode(["string"], ["WETH"]), "symbol()") == "WETH"
    assert decode_symbol(b"MKR".ljust(32, b"\x00"), "symbol()") == "MKR"  # MKR's bytes32
    with pytest.raises(ValidationFailed):
        decode_symbol(b"\x01\x02", "symbol()")
    with pytest.raises(ValidationFailed, match="unusable"):
        decode_symbol(encode(["string"], [""]), "symbol()")
    with pytest.raises(ValidationFailed, match="unusable"):
        decode_symbol(encode(["string"], ["A\nB"]), "symbol()")


def test_address_and_decimals_are_checked() -> None:
    assert decode_address(encode(["address"], [WETH.lower()]), "token0()") == WETH
    with pytest.raises(ValidationFailed, match="zero address"):
        decode_address(encode(["address"], ["0x" + "00" * 20]), "token0()")
    assert decode_decimals(encode(["uint8"], [6]), "decimals()") == 6
    with pytest.raises(ValidationFailed, match="outside"):
        decode_decimals(encode(["uint256"], [77]), "decimals()")


def test_block_needs_number_and_timestamp() -> None:
    assert parse_block({"number": 7, "timestamp": 1_700_000_000}) == BlockHead(7, 1_700_000_000)
    assert BlockHead(7, 1_700_000_000).ts_ns == 1_700_000_000 * 10**9
    with pytest.raises(ValidationFailed, match="null"):
        parse_block(None)
    with pytest.raises(ValidationFailed, match="timestamp"):
        parse_block({"number": 7})
    with pytest.raises(ValidationFailed, match="number"):
        parse_block({"number": "0x7", "timestamp": 1})


def test_instrument_ids_are_safe_and_labelled() -> None:
    assert id_symbol("USDC.e") == "USDC_e"
    assert meta().instrument_id == "WETH/USDC.DEX_ARBITRUM"
    assert meta(label="SUSHI").instrument_id == "WETH/USDC-SUSHI.DEX_ARBITRUM"
    assert meta(symbol1="USDC.e").instrument_id == "WETH/USDC_e.DEX_ARBITRUM"


def test_token_index_by_address_or_symbol() -> None:
    m = meta()
    assert m.token_index(WETH.lower()) == 0
    assert m.token_index("USDC") == 1
    with pytest.raises(ValueError, match="not a token"):
        m.token_index("DAI")
    same = PoolMeta(chain=ChainId.BASE, address=POOL, token0=WETH, token1=USDC, symbol0="X",
                    symbol1="X", decimals0=18, decimals1=18, fee_bps=30)
    with pytest.raises(ValueError):
        same.token_index("X")  # ambiguous: give the address


def test_pool_state_event_carries_block_time_and_round_trips() -> None:
    event = pool_state_event(meta(), (5, 7, 99), BlockHead(123, 1_700_000_000), ts_init=42)
    assert (event.kind, event.chain_id, event.block_number) == ("md.pool", ChainId.ARBITRUM, 123)
    assert (event.reserve0, event.reserve1, event.fee_bps) == (5, 7, 30)
    assert (event.symbol0, event.decimals0, event.symbol1, event.decimals1) == ("WETH", 18,
                                                                                 "USDC", 6)
    assert event.ts_event == 1_700_000_000 * 10**9 and event.ts_init == 42
    assert decode(encode_event(event)) == event


def test_instrument_info_is_spot_with_the_pool_fee() -> None:
    info = instrument_info(meta())
    assert info.instrument_kind is InstrumentKind.SPOT
    assert (info.venue, info.symbol, info.base, info.quote) == ("DEX_ARBITRUM", POOL, "WETH",
                                                                 "USDC")
    assert info.taker_fee == Decimal("0.003")
    assert info.lot_size == Decimal("1E-18")
