"""DEX settings: chains by name or number, secret RPC URLs, which chains are polled."""
from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from libs.common.enums import ChainId
from libs.common.errors import (
    ConfigurationError,
    OperationalError,
    RateLimited,
    TemporaryError,
    ValidationFailed,
)
from services.intake.adapters.dex import (
    DexPoolAdapter,
    DexSettings,
    PoolConfig,
    adapters_from_settings,
    venue_name,
)
from services.intake.adapters.dex.config import parse_chain, redact_url
from services.intake.adapters.dex.rpc import RpcRateLimited, Scrubber, SecretHTTPProvider

KEY = "k3y-5ecret-0123456789"
URL = f"https://arb-mainnet.example.org/v2/{KEY}"
POOL = "0x1111111111111111111111111111111111111111"


def test_venue_names_cover_every_chain() -> None:
    assert venue_name(ChainId.ARBITRUM) == "DEX_ARBITRUM"
    assert {venue_name(c) for c in ChainId} == {
        "DEX_ETHEREUM", "DEX_POLYGON", "DEX_ARBITRUM", "DEX_OPTIMISM", "DEX_BASE", "DEX_BSC",
        "DEX_AVALANCHE", "DEX_FANTOM"}


def test_chains_by_name_or_number() -> None:
    assert parse_chain("arbitrum") is ChainId.ARBITRUM
    assert parse_chain("8453") is ChainId.BASE
    assert parse_chain(56) is ChainId.BSC
    with pytest.raises(ConfigurationError, match="unknown chain"):
        parse_chain("SOLANA")


def test_settings_from_env_keep_the_url_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIFECTA_DEX_RPC_URLS", f'{{"ARBITRUM": "{URL}", "10": "{URL}"}}')
    monkeypatch.setenv("TRIFECTA_DEX_POOLS", f'{{"42161": [{{"address": "{POOL}"}}]}}')
    settings = DexSettings()
    assert isinstance(settings.rpc_urls[ChainId.ARBITRUM], SecretStr)
    assert settings.rpc_urls[ChainId.OPTIMISM].get_secret_value() == URL
    assert settings.pools[ChainId.ARBITRUM] == (PoolConfig(address=POOL, fee_bps=30),)
    for shown in (repr(settings), str(settings), settings.model_dump_json()):
        assert KEY not in shown
    # OPTIMISM has a URL but no pool, the other chains nothing: only ARBITRUM is polled.
    assert settings.polled_chains() == [ChainId.ARBITRUM]


def test_a_chain_without_url_is_not_polled() -> None:
    settings = DexSettings(rpc_urls={ChainId.ARBITRUM: URL},
                           pools={ChainId.ARBITRUM: [PoolConfig(address=POOL)],
                                  ChainId.BASE: [PoolConfig(address=POOL)]})
    adapters = adapters_from_settings(settings)
    assert [a.venue for a in adapters] == ["DEX_ARBITRUM"]
    assert KEY not in repr(adapters[0].__dict__)
    assert adapters[0].endpoint == "https://arb-mainnet.example.org"
    with pytest.raises(ConfigurationError, match="no URL for BASE"):
        DexPoolAdapter.from_settings(settings, ChainId.BASE)


def test_websocket_url_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigurationError) as info:
        DexSettings(rpc_urls={"BASE": f"wss://base.example.org/{KEY}"})
    assert "BASE" in str(info.value) and KEY not in str(info.value)


def test_pool_config_is_validated() -> None:
    with pytest.raises(ValidationError):
        PoolConfig(address="0x123")
    with pytest.raises(ValidationError):
        PoolConfig(address=POOL, fee_bps=10_000)
    with pytest.raises(ValidationError):
        PoolConfig(address=POOL, label="has space")
    with pytest.raises(ConfigurationError, match="listed twice"):
        DexPoolAdapter(ChainId.BSC, URL, [PoolConfig(address=POOL),
                                          PoolConfig(address=POOL.upper().replace("X", "x"))])
    with pytest.raises(ConfigurationError, match="no pool"):
        DexPoolAdapter(ChainId.BSC, URL, [])


def test_redaction_keeps_scheme_and_host_only() -> None:
    assert redact_url(URL) == "https://arb-mainnet.example.org"
    assert redact_url(f"http://user:{KEY}@127.0.0.1:8545/?apikey={KEY}") == "http://127.0.0.1:8545"
    scrub = Scrubber(f"https://node.example.org/rpc?apikey={KEY}")
    assert KEY not in scrub(f"failed POST https://node.example.org/rpc?apikey={KEY} (x)")
    assert KEY not in scrub(f"bad query apikey={KEY}")


@pytest.mark.parametrize(("error", "expected"), [
    ({"code": 3, "message": "execution reverted: UNKNOWN_TOKEN"}, ValidationFailed),
    ({"code": -32000, "message": "execution reverted"}, ValidationFailed),
    ({"code": -32005, "message": "daily request count exceeded, request rate limited"},
     RpcRateLimited),
    ({"code": 429, "message": "Too Many Requests"}, RateLimited),
    ({"code": -32601, "message": "the method eth_foo does not exist/is not available"},
     OperationalError),
    ({"code": -32602, "message": "invalid argument 0"}, OperationalError),
    ({"code": -32000, "message": "header not found"}, TemporaryError),
    ({"code": -32603, "message": "internal error"}, TemporaryError),
    ("not an object", ValidationFailed),
])
def test_json_rpc_errors_are_sorted_by_reaction(error: object, expected: type) -> None:
    provider = SecretHTTPProvider(URL)
    translated = provider._rpc_error("eth_call", error)
    assert isinstance(translated, expected)
    assert KEY not in str(translated) and "arb-mainnet.example.org" in str(translated)
    assert KEY not in repr(provider)
