"""Venue symbols -> base and quote currencies, and our instrument ids. Pure.

Symbols with a separator (`BTC_USDT`, `BTC-USDT`, `XBT/CHF`) split on it. Run-together symbols
(`NKNUSDT`, `ethusd`, `BTCGBP`) are looked up in what the venue's own REST metadata said, when
the recording holds it (Binance exchangeInfo, Bitstamp trading-pairs-info, Gemini symbol
details, Poloniex markets), else split at the longest known quote-currency suffix.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from libs.common.enums import InstrumentKind
from services.intake.domain.instruments import InstrumentSpec

# Longest first, so USDT wins over USD and BUSD over USD.
KNOWN_QUOTES = tuple(sorted(
    ("USDT", "USDC", "BUSD", "TUSD", "USDP", "GUSD", "USD", "EUR", "GBP", "CHF", "JPY", "AUD",
     "CAD", "SGD", "TRY", "BRL", "RUB", "UAH", "DAI", "BTC", "XBT", "ETH", "BNB", "BIDR", "IDRT",
     "NGN", "ZAR", "PAX", "UST", "LTC", "BCH"),
    key=len, reverse=True))
KRAKEN_ALIASES = {"XBT": "BTC", "XDG": "DOGE"}


@dataclass(frozen=True, slots=True)
class Pair:
    base: str
    quote: str


class SymbolTable:
    """What each venue's symbols mean, learned from recorded REST metadata as it replays."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, str], Pair] = {}

    def learn(self, venue: str, symbol: str, base: str, quote: str) -> None:
        if symbol and base and quote:
            self._known[(venue, symbol.upper())] = Pair(base.upper(), quote.upper())

    def learn_from_rest(self, venue: str, url: str, body: Any) -> int:
        """Learn from a REST body if it is a market list we know; return how many symbols."""
        path = urlsplit(url).path.rstrip("/")
        before = len(self._known)
        if venue.startswith("BINANCE") and path.endswith("/exchangeInfo") \
                and isinstance(body, dict):
            for s in _dicts(body.get("symbols")):
                self.learn(venue, _s(s, "symbol"), _s(s, "baseAsset"), _s(s, "quoteAsset"))
        elif venue == "BITSTAMP" and path.endswith("/trading-pairs-info"):
            for s in _dicts(body):
                base, _, quote = _s(s, "name").partition("/")
                self.learn(venue, _s(s, "url_symbol"), base, quote)
        elif venue == "GEMINI" and "/symbols/details/" in path and isinstance(body, dict):
            self.learn(venue, _s(body, "symbol"), _s(body, "base_currency"),
                       _s(body, "quote_currency"))
        elif venue == "POLONIEX" and path.endswith("/markets"):
            for s in _dicts(body):
                self.learn(venue, _s(s, "symbol"), _s(s, "baseCurrencyName"),
                           _s(s, "quoteCurrencyName"))
        return len(self._known) - before

    def pair(self, venue: str, symbol: str) -> Pair | None:
        """(base, quote) of `symbol`, or None when it cannot be told."""
        known = self._known.get((venue, symbol.upper()))
        if known is not None:
            return known
        return split_symbol(venue, symbol)


def split_symbol(venue: str, symbol: str) -> Pair | None:
    """Split on `/`, `_` or `-` (first two parts), else at a known quote suffix."""
    s = symbol.upper()
    if venue.startswith("BINANCE") and "_" in s:
        s = s.split("_")[0]  # futures: BTCUSD_PERP, BTCUSDT_240927 -> the pair before "_"
    for sep in ("/", "_", "-"):
        if sep in s:
            parts = s.split(sep)
            if len(parts) >= 2 and parts[0] and parts[1]:
                return _alias(venue, Pair(parts[0], parts[1]))
            return None
    for q in KNOWN_QUOTES:
        if s.endswith(q) and len(s) > len(q):
            return _alias(venue, Pair(s[: -len(q)], q))
    return None


def _alias(venue: str, pair: Pair) -> Pair:
    if venue == "KRAKEN":
        return Pair(KRAKEN_ALIASES.get(pair.base, pair.base),
                    KRAKEN_ALIASES.get(pair.quote, pair.quote))
    return pair


def instrument_spec(venue: str, symbol: str, pair: Pair, *, market: str = "spot",
                    kind: InstrumentKind = InstrumentKind.SPOT, suffix: str = "",
                    ) -> InstrumentSpec:
    """A spec for a symbol met in a recording. Its one `files` entry, `<VENUE>:<symbol>`, is
    the `source` the pipeline stamps on this symbol's records, so an `IntakePipeline` built
    on the spec finds its book."""
    return InstrumentSpec(venue=venue, symbol=symbol, base=pair.base, quote=pair.quote,
                          kind=kind, market=market,  # type: ignore[arg-type]
                          files=(book_source(venue, symbol),), pair_suffix=suffix)


def book_source(venue: str, symbol: str) -> str:
    """`<VENUE>:<symbol>` (a `/` in the symbol becomes `-`: the name must be one path part)."""
    return f"{venue}:{symbol.replace('/', '-')}"


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _s(d: Mapping[str, Any], key: str) -> str:
    v = d.get(key)
    return v if isinstance(v, str) else ""
