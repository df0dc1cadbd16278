"""Token equivalence across chains: which ERC-20 on which chain is "the same" asset. Pure.

A cross-chain arbitrage is only meaningful between tokens that are claims on one underlying
asset. The registry maps a canonical asset ("ETH", "USDC", "USDT", "BTC") to its tokens per
`ChainId` (address, symbol, decimals, `TokenType`) and converts amounts between them:

- NATIVE, WRAPPED (WETH, WBTC on Ethereum): 1:1, redeemable by contract.
- BRIDGED (USDC.e, Binance-Peg, Polygon PoS WETH...): 1:1, but the claim is only as good as
  the bridge that minted it; `TokenInfo.bridge_risk` is True and `bridge` names it.
- LIQUID_STAKING (wstETH): an exchange rate to the canonical asset that grows over time; the
  caller must pass it (read it from the token contract or an oracle). It is never assumed 1:1.
- SYNTHETIC: priced by a protocol, not redeemable; refused unless the caller allows it.

The seed (`SEED_TOKENS`) is small and each address cites where it is published. Every address
is checked against its EIP-55 checksum at load, which catches a mistyped character. Fantom is
in `ChainId` but has no seed entry: its USDC/WETH were Multichain bridge tokens (the bridge
failed in 2023) and no official list was at hand. Extend it with `TokenRegistry.from_json`.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from eth_utils import is_checksum_address, is_hex_address, to_checksum_address

from libs.common.enums import ChainId, TokenType
from libs.common.errors import ConfigurationError, ValidationFailed

# Placeholder address for a chain's gas token (no ERC-20 contract), as used by many DEX APIs.
NATIVE_ADDRESS = "0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE"

_ONE_TO_ONE = frozenset({TokenType.NATIVE, TokenType.WRAPPED, TokenType.BRIDGED})


class UnknownToken(ValidationFailed):
    """A token (chain, address) the registry does not list: it has no known equivalent."""


class ConversionRefused(ValidationFailed):
    """Two tokens cannot be converted: different assets, a missing LST rate, a synthetic."""


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """One token on one chain and what it is a claim on.

    asset: the canonical asset ("ETH"); address: EIP-55 checksummed; bridge: for BRIDGED
    tokens, the bridge that mints them; source: where the address is published.
    """

    asset: str
    chain: ChainId
    address: str
    symbol: str
    decimals: int
    token_type: TokenType
    source: str
    bridge: str | None = None

    def __post_init__(self) -> None:
        if not self.asset or not self.symbol:
            raise ConfigurationError(f"token needs an asset and a symbol: {self!r}")
        if not 0 <= self.decimals <= 36:
            raise ConfigurationError(f"{self.symbol} decimals must be in [0, 36]")
        if not is_hex_address(self.address):
            raise ConfigurationError(f"{self.symbol} on {self.chain.name}: not an address")
        if self.address != self.address.lower() and not is_checksum_address(self.address):
            # Mixed case is a checksum claim; a wrong one means a mistyped character.
            raise ConfigurationError(
                f"{self.symbol} on {self.chain.name}: {self.address} fails its EIP-55 checksum")
        object.__setattr__(self, "address", to_checksum_address(self.address))
        if self.token_type is TokenType.BRIDGED and not self.bridge:
            raise ConfigurationError(f"{self.symbol} on {self.chain.name}: BRIDGED needs `bridge`")

    @property
    def bridge_risk(self) -> bool:
        """True when the token is only as good as a bridge (it can de-peg if the bridge fails)."""
        return self.token_type is TokenType.BRIDGED

    @property
    def key(self) -> tuple[ChainId, str]:
        """(chain, lower-case address): how the registry finds it."""
        return (self.chain, self.address.lower())


class TokenRegistry:
    """Canonical asset -> tokens per chain, with the conversion rules between them."""

    def __init__(self, tokens: Iterable[TokenInfo] = ()) -> None:
        self._by_key: dict[tuple[ChainId, str], TokenInfo] = {}
        for token in tokens:
            self.add(token)

    @classmethod
    def default(cls) -> TokenRegistry:
        """The documented seed set (`SEED_TOKENS`)."""
        return cls(SEED_TOKENS)

    @classmethod
    def from_json(cls, text: str, base: TokenRegistry | None = None) -> TokenRegistry:
        """Tokens from JSON, added to a copy of `base` (the seed when None; pass an empty
        registry to start blank). Format: ``{"tokens": [{"asset", "chain" (id or name),
        "address", "symbol", "decimals", "token_type", "source", "bridge"?}, ...]}``.
        Raises ConfigurationError naming the bad entry.
        """
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as e:
            raise ConfigurationError(f"token registry JSON is invalid: {e}") from e
        if not isinstance(doc, dict) or not isinstance(doc.get("tokens"), list):
            raise ConfigurationError('token registry JSON needs {"tokens": [...]}')
        registry = cls((base if base is not None else cls.default()).tokens())
        for i, raw in enumerate(doc["tokens"]):
            registry.add(_token_from_mapping(raw, i))
        return registry

    def add(self, token: TokenInfo) -> None:
        """Add a token; a second, different entry for the same (chain, address) is refused."""
        known = self._by_key.get(token.key)
        if known is not None and known != token:
            raise ConfigurationError(
                f"{token.address} on {token.chain.name} is already {known.symbol} "
                f"({known.asset}); refusing {token.symbol} ({token.asset})")
        self._by_key[token.key] = token

    def tokens(self) -> tuple[TokenInfo, ...]:
        """Every token, in insertion order."""
        return tuple(self._by_key.values())

    def assets(self) -> frozenset[str]:
        """The canonical assets listed."""
        return frozenset(t.asset for t in self._by_key.values())

    def get(self, chain: ChainId | int, address: str) -> TokenInfo | None:
        """The token at `address` on `chain`, or None."""
        try:
            return self._by_key.get((ChainId(chain), address.lower()))
        except ValueError:
            return None

    def lookup(self, chain: ChainId | int, address: str) -> TokenInfo:
        """The token at `address` on `chain`; UnknownToken when it is not listed."""
        token = self.get(chain, address)
        if token is None:
            raise UnknownToken(f"token {address} on chain {int(chain)} is not in the registry")
        return token

    def on_chain(self, asset: str, chain: ChainId) -> tuple[TokenInfo, ...]:
        """The tokens of `asset` on `chain` (there can be several: USDC and USDC.e)."""
        return tuple(t for t in self._by_key.values() if t.asset == asset and t.chain == chain)

    def equivalent(self, a: TokenInfo, b: TokenInfo, allow_synthetic: bool = False) -> bool:
        """True when both tokens are claims on the same asset and may be converted."""
        if a.asset != b.asset:
            return False
        return allow_synthetic or TokenType.SYNTHETIC not in (a.token_type, b.token_type)

    def to_canonical(self, token: TokenInfo, amount: Fraction, rate: Fraction | None = None,
                     allow_synthetic: bool = False) -> Fraction:
        """`amount` of `token` (human units) as an amount of its canonical asset.

        `rate` is canonical units per token unit, required for LIQUID_STAKING (wstETH -> ETH)
        and refused for 1:1 types when it is not 1, so a wrong rate cannot slip in.
        """
        if token.token_type is TokenType.SYNTHETIC and not allow_synthetic:
            raise ConversionRefused(f"{token.symbol} on {token.chain.name} is SYNTHETIC")
        if token.token_type is TokenType.LIQUID_STAKING:
            if rate is None:
                raise ConversionRefused(
                    f"{token.symbol} is LIQUID_STAKING: its exchange rate to {token.asset} "
                    f"must be given, it is never assumed 1:1")
            if rate <= 0:
                raise ConversionRefused(f"{token.symbol} rate must be > 0, got {rate}")
            return amount * rate
        if rate is not None and rate != 1:
            raise ConversionRefused(f"{token.symbol} is {token.token_type}: 1:1, not {rate}")
        return amount

    def convert_raw(self, raw: int, src: TokenInfo, dst: TokenInfo,
                    rates: Mapping[tuple[ChainId, str], Fraction] | None = None,
                    allow_synthetic: bool = False) -> int:
        """`raw` units of `src` as raw units of `dst`, floored (a bridge never pays a fraction).

        `rates` gives LIQUID_STAKING rates keyed by `TokenInfo.key`. Raises ConversionRefused
        when the tokens are not equivalent or a rate is missing.
        """
        if not self.equivalent(src, dst, allow_synthetic):
            raise ConversionRefused(
                f"{src.symbol} ({src.asset}) on {src.chain.name} is not equivalent to "
                f"{dst.symbol} ({dst.asset}) on {dst.chain.name}")
        rates = rates or {}
        human = Fraction(raw, 10**src.decimals)
        canonical = self.to_canonical(src, human, rates.get(src.key), allow_synthetic)
        dst_rate = rates.get(dst.key)
        if dst.token_type is TokenType.LIQUID_STAKING:
            if dst_rate is None or dst_rate <= 0:
                raise ConversionRefused(f"{dst.symbol} is LIQUID_STAKING: give its rate (> 0)")
            canonical /= dst_rate
        elif dst_rate is not None and dst_rate != 1:
            raise ConversionRefused(f"{dst.symbol} is {dst.token_type}: 1:1, not {dst_rate}")
        return int(canonical * 10**dst.decimals)  # floor: both are >= 0


def _token_from_mapping(raw: Any, index: int) -> TokenInfo:
    if not isinstance(raw, dict):
        raise ConfigurationError(f"token #{index} must be an object")
    allowed = {"asset", "chain", "address", "symbol", "decimals", "token_type", "source",
               "bridge"}
    extra = set(raw) - allowed
    if extra:
        raise ConfigurationError(f"token #{index} has unknown fields {sorted(extra)}")
    try:
        chain_raw = raw["chain"]
        chain = (ChainId[chain_raw.upper()] if isinstance(chain_raw, str)
                 else ChainId(chain_raw))
        decimals = raw["decimals"]
        if not isinstance(decimals, int) or isinstance(decimals, bool):
            raise TypeError("decimals must be an int")
        return TokenInfo(asset=str(raw["asset"]), chain=chain, address=str(raw["address"]),
                         symbol=str(raw["symbol"]), decimals=decimals,
                         token_type=TokenType(raw["token_type"]), source=str(raw["source"]),
                         bridge=raw.get("bridge"))
    except ConfigurationError as e:
        raise ConfigurationError(f"token #{index}: {e}") from e
    except (KeyError, ValueError, TypeError) as e:
        raise ConfigurationError(f"token #{index} is invalid: {e!r}") from e


def rate(value: str | int | Decimal) -> Fraction:
    """An exact exchange rate from its decimal string (for `convert_raw`'s `rates`)."""
    return Fraction(Decimal(value))


# --- The seed -----------------------------------------------------------------------------
# Sources (official pages publishing each address; all re-checked against EIP-55 here):
_CIRCLE = "https://developers.circle.com/stablecoins/usdc-contract-addresses"
_TETHER = "https://tether.to/en/supported-protocols"
_WETH9 = "WETH9, https://etherscan.io/token/0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"
_WBTC = "https://wbtc.network (WBTC DAO), https://etherscan.io/token/0x2260FAC5E5542a773Aa44fBCfeDf7C193bc2C599"
_ARB = "https://docs.arbitrum.io/build-decentralized-apps/reference/contract-addresses"
_OP_PREDEPLOY = "OP Stack predeploy WETH9, https://docs.optimism.io/stack/smart-contracts#predeploys"
_BASE = "https://docs.base.org/base-chain/network-information/base-contracts (OP Stack predeploy)"
_OP_TOKENS = ("https://github.com/ethereum-optimism/ethereum-optimism.github.io"
              " (Superchain token list)")
_POLYGON = "https://docs.polygon.technology/pos/ (PoS bridge mapped tokens), polygonscan"
_BSC = "https://www.bnbchain.org (Binance-Peg tokens), bscscan token pages"
_AVAX = "https://core.app/bridge (Avalanche Bridge .e tokens), snowtrace token pages"
_LIDO = "https://docs.lido.fi/deployed-contracts/"

_E, _A, _O, _B = ChainId.ETHEREUM, ChainId.ARBITRUM, ChainId.OPTIMISM, ChainId.BASE
_P, _S, _V = ChainId.POLYGON, ChainId.BSC, ChainId.AVALANCHE
_N, _W, _BR, _LST = TokenType.NATIVE, TokenType.WRAPPED, TokenType.BRIDGED, \
    TokenType.LIQUID_STAKING

SEED_TOKENS: tuple[TokenInfo, ...] = (
    # ETH
    TokenInfo("ETH", _E, "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", "WETH", 18, _W, _WETH9),
    TokenInfo("ETH", _A, "0x82aF49447D8a07e3bd95BD0d56f35241523fBab1", "WETH", 18, _W, _ARB),
    TokenInfo("ETH", _O, "0x4200000000000000000000000000000000000006", "WETH", 18, _W,
              _OP_PREDEPLOY),
    TokenInfo("ETH", _B, "0x4200000000000000000000000000000000000006", "WETH", 18, _W, _BASE),
    TokenInfo("ETH", _P, "0x7ceB23fD6bC0adD59E62ac25578270cFf1b9f619", "WETH", 18, _BR,
              _POLYGON, bridge="Polygon PoS bridge"),
    TokenInfo("ETH", _S, "0x2170Ed0880ac9A755fd29B2688956BD959F933F8", "ETH", 18, _BR, _BSC,
              bridge="Binance-Peg (custodial)"),
    TokenInfo("ETH", _V, "0x49D5c2BdFfac6CE2BFdB6640F4F80f226bc10bAB", "WETH.e", 18, _BR,
              _AVAX, bridge="Avalanche Bridge"),
    TokenInfo("ETH", _E, "0x7f39C581F595B53c5cb19bD0b3f8dA6c935E2Ca0", "wstETH", 18, _LST,
              _LIDO),
    TokenInfo("ETH", _A, "0x5979D7b546E38E414F7E9822514be443A4800529", "wstETH", 18, _LST,
              _LIDO),
    TokenInfo("ETH", _O, "0x1F32b1c2345538c0c6f582fCB022739c4A194Ebb", "wstETH", 18, _LST,
              _LIDO),
    TokenInfo("ETH", _B, "0xc1CBa3fCea344f92D9239c08C0568f6F2F0ee452", "wstETH", 18, _LST,
              _LIDO),
    # USDC: Circle-issued (NATIVE) and the older bridged versions (USDC.e, USDbC)
    TokenInfo("USDC", _E, "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", "USDC", 6, _N, _CIRCLE),
    TokenInfo("USDC", _A, "0xaf88d065e77c8cC2239327C5EDb3A432268e5831", "USDC", 6, _N, _CIRCLE),
    TokenInfo("USDC", _O, "0x0b2C639c533813f4Aa9D7837CAf62653d097Ff85", "USDC", 6, _N, _CIRCLE),
    TokenInfo("USDC", _B, "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", "USDC", 6, _N, _CIRCLE),
    TokenInfo("USDC", _P, "0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359", "USDC", 6, _N, _CIRCLE),
    TokenInfo("USDC", _V, "0xB97EF9Ef8734C71904D8002F8b6Bc66Dd9c48a6E", "USDC", 6, _N, _CIRCLE),
    TokenInfo("USDC", _A, "0xFF970A61A04b1cA14834A43f5dE4533eBDDB5CC8", "USDC.e", 6, _BR, _ARB,
              bridge="Arbitrum canonical bridge"),
    TokenInfo("USDC", _O, "0x7F5c764cBc14f9669B88837ca1490cCa17c31607", "USDC.e", 6, _BR,
              _OP_TOKENS, bridge="Optimism standard bridge"),
    TokenInfo("USDC", _B, "0xd9aAEc86B65D86f6A7B5B1b0c42FFA531710b6CA", "USDbC", 6, _BR, _BASE,
              bridge="Base standard bridge"),
    TokenInfo("USDC", _P, "0x2791Bca1f2de4661ED88A30C99A7a9449Aa84174", "USDC.e", 6, _BR,
              _POLYGON, bridge="Polygon PoS bridge"),
    TokenInfo("USDC", _S, "0x8AC76a51cc950d9822D68b83fE1Ad97B32Cd580d", "USDC", 18, _BR, _BSC,
              bridge="Binance-Peg (custodial)"),
    # USDT
    TokenInfo("USDT", _E, "0xdAC17F958D2ee523a2206206994597C13D831ec7", "USDT", 6, _N, _TETHER),
    TokenInfo("USDT", _V, "0x9702230A8Ea53601f5cD2dc00fDBc13d4dF4A8c7", "USDt", 6, _N, _TETHER),
    TokenInfo("USDT", _A, "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9", "USDT", 6, _BR, _ARB,
              bridge="Arbitrum canonical bridge / USDT0"),
    TokenInfo("USDT", _O, "0x94b008aA00579c1307B0EF2c499aD98a8ce58e58", "USDT", 6, _BR,
              _OP_TOKENS, bridge="Optimism standard bridge / USDT0"),
    TokenInfo("USDT", _P, "0xc2132D05D31c914a87C6611C10748AEb04B58e8F", "USDT", 6, _BR,
              _POLYGON, bridge="Polygon PoS bridge"),
    TokenInfo("USDT", _S, "0x55d398326f99059fF775485246999027B3197955", "USDT", 18, _BR, _BSC,
              bridge="Binance-Peg (custodial)"),
    # BTC
    TokenInfo("BTC", _E, "0x2260FAC5E5542a773Aa44fBCfeDf7C193bc2C599", "WBTC", 8, _W, _WBTC),
    TokenInfo("BTC", _A, "0x2f2a2543B76A4166549F7aaB2e75Bef0aefC5B0f", "WBTC", 8, _BR, _ARB,
              bridge="Arbitrum canonical bridge"),
    TokenInfo("BTC", _O, "0x68f180fcCe6836688e9084f035309E29Bf0A2095", "WBTC", 8, _BR,
              _OP_TOKENS, bridge="Optimism standard bridge"),
    TokenInfo("BTC", _P, "0x1BFD67037B42Cf73acF2047067bd4F2C47D9BfD6", "WBTC", 8, _BR,
              _POLYGON, bridge="Polygon PoS bridge"),
    TokenInfo("BTC", _S, "0x7130d2A12B9BCbFAe4f2634d864A1Ee1Ce3Ead9c", "BTCB", 18, _BR, _BSC,
              bridge="Binance-Peg (custodial)"),
)
