"""Token equivalence registry: seed, JSON extension, conversions between token types."""
from __future__ import annotations

import json
from fractions import Fraction

import pytest

from libs.common.enums import ChainId, TokenType
from libs.common.errors import ConfigurationError
from services.scanner.domain.tokens import (
    ConversionRefused,
    TokenRegistry,
    UnknownToken,
    rate,
)

REG = TokenRegistry.default()
WETH_ETH = "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"
WETH_ARB = "0x82aF49447D8a07e3bd95BD0d56f35241523fBab1"
WETH_POLY = "0x7ceB23fD6bC0adD59E62ac25578270cFf1b9f619"
WSTETH_ARB = "0x5979D7b546E38E414F7E9822514be443A4800529"
USDC_ARB = "0xaf88d065e77c8cC2239327C5EDb3A432268e5831"
USDC_E_ARB = "0xFF970A61A04b1cA14834A43f5dE4533eBDDB5CC8"
USDC_BSC = "0x8AC76a51cc950d9822D68b83fE1Ad97B32Cd580d"


def test_seed_lists_four_assets_with_checksummed_unique_addresses_and_sources() -> None:
    tokens = REG.tokens()
    assert REG.assets() == {"ETH", "USDC", "USDT", "BTC"}
    assert len({t.key for t in tokens}) == len(tokens)
    assert all(t.source.startswith(("http", "WETH9", "OP Stack")) for t in tokens)
    assert all(t.bridge for t in tokens if t.token_type is TokenType.BRIDGED)
    assert not any(t.chain is ChainId.FANTOM for t in tokens)  # no official list at hand


def test_lookup_is_case_insensitive_and_unknown_token_is_refused() -> None:
    assert REG.lookup(ChainId.ARBITRUM, WETH_ARB.lower()).symbol == "WETH"
    assert REG.lookup(42161, USDC_E_ARB).token_type is TokenType.BRIDGED
    with pytest.raises(UnknownToken):
        REG.lookup(ChainId.ARBITRUM, "0x0000000000000000000000000000000000000001")
    with pytest.raises(UnknownToken):  # right address, wrong chain
        REG.lookup(ChainId.BASE, WETH_ARB)
    assert REG.get(999, WETH_ARB) is None  # not a ChainId


def test_wrapped_converts_one_to_one_across_chains() -> None:
    src, dst = REG.lookup(ChainId.ETHEREUM, WETH_ETH), REG.lookup(ChainId.ARBITRUM, WETH_ARB)
    assert REG.convert_raw(1_234_567_890_123_456_789, src, dst) == 1_234_567_890_123_456_789


def test_bridged_converts_one_to_one_rescaling_decimals_and_flags_bridge_risk() -> None:
    native = REG.lookup(ChainId.ARBITRUM, USDC_ARB)
    bsc = REG.lookup(ChainId.BSC, USDC_BSC)  # Binance-Peg USDC has 18 decimals
    assert bsc.bridge_risk and not native.bridge_risk
    assert REG.convert_raw(2_500_000, native, bsc) == 2_500_000 * 10**12
    assert REG.convert_raw(2_500_000 * 10**12 + 999, bsc, native) == 2_500_000  # floored
    poly = REG.lookup(ChainId.POLYGON, WETH_POLY)
    assert poly.bridge == "Polygon PoS bridge"
    assert REG.convert_raw(10**18, poly, REG.lookup(ChainId.ARBITRUM, WETH_ARB)) == 10**18


def test_liquid_staking_needs_its_rate_and_applies_it_both_ways() -> None:
    wst = REG.lookup(ChainId.ARBITRUM, WSTETH_ARB)
    weth = REG.lookup(ChainId.ARBITRUM, WETH_ARB)
    with pytest.raises(ConversionRefused, match="never assumed 1:1"):
        REG.convert_raw(10**18, wst, weth)
    rates = {wst.key: rate("1.2")}
    assert REG.convert_raw(10**18, wst, weth, rates) == 1_200_000_000_000_000_000
    # 1.2 ETH -> 1 wstETH; 1 ETH -> floor(1e18 / 1.2) = 833333333333333333
    assert REG.convert_raw(12 * 10**17, weth, wst, rates) == 10**18
    assert REG.convert_raw(10**18, weth, wst, rates) == 833_333_333_333_333_333
    assert REG.to_canonical(wst, Fraction(5), Fraction(6, 5)) == 6
    with pytest.raises(ConversionRefused):  # a 1:1 token given a rate other than 1
        REG.to_canonical(weth, Fraction(1), Fraction(6, 5))


def test_different_assets_are_not_converted() -> None:
    with pytest.raises(ConversionRefused, match="not equivalent"):
        REG.convert_raw(10**6, REG.lookup(ChainId.ARBITRUM, USDC_ARB),
                        REG.lookup(ChainId.ARBITRUM, WETH_ARB))


def _synthetic_json(**over: object) -> str:
    token = {"asset": "USDC", "chain": "base", "symbol": "sUSD", "decimals": 18,
             "address": "0x000000000000000000000000000000000000dEaD",
             "token_type": "SYNTHETIC", "source": "test"} | over
    return json.dumps({"tokens": [token]})


def test_json_extends_the_seed_and_synthetic_is_refused_unless_allowed() -> None:
    reg = TokenRegistry.from_json(_synthetic_json())
    assert len(reg.tokens()) == len(REG.tokens()) + 1
    synth = reg.lookup(ChainId.BASE, "0x000000000000000000000000000000000000dead")
    usdc = reg.lookup(ChainId.ARBITRUM, USDC_ARB)
    assert not reg.equivalent(synth, usdc)
    with pytest.raises(ConversionRefused):
        reg.convert_raw(10**18, synth, usdc)
    assert reg.convert_raw(10**18, synth, usdc, allow_synthetic=True) == 10**6
    blank = TokenRegistry.from_json(_synthetic_json(chain=8453), base=TokenRegistry())
    assert len(blank.tokens()) == 1


@pytest.mark.parametrize("text, reason", [
    ("not json", "invalid"),
    ('{"tok": []}', "tokens"),
    (_synthetic_json(address="0x000000000000000000000000000000000000DEAD"), "checksum"),
    (_synthetic_json(address="0x1234"), "not an address"),
    (_synthetic_json(chain="mars"), "invalid"),
    (_synthetic_json(decimals="18"), "invalid"),
    (_synthetic_json(extra=1), "unknown fields"),
    (_synthetic_json(token_type="BRIDGED"), "needs `bridge`"),
    (_synthetic_json(address=WETH_ETH, chain=1), "already WETH"),
])
def test_bad_json_entries_are_refused_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(ConfigurationError, match=reason):
        TokenRegistry.from_json(text)
