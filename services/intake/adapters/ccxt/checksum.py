"""Order-book checksums of the venues that send one (Kraken, OKX). Pure: no I/O, no ccxt.

Both are a CRC32 over the text of the top levels, so they are computed on the price and size
*text* (trailing zeros matter), never on floats:

- Kraken (WS v1 and v2): the top 10 asks (best first), then the top 10 bids; each price and
  size with the decimal point and the leading zeros removed, all concatenated; CRC32 as an
  unsigned 32-bit integer. v1 sends the text; v2 sends numbers, whose text is the number
  written with the pair's price / quantity decimals (`fixed_text`).
- OKX v5: for i in 0..24, `bid_i_price:bid_i_size` then `ask_i_price:ask_i_size` (a side that
  has run out is skipped), joined by ":"; CRC32 as a signed 32-bit integer.
"""
from __future__ import annotations

import zlib
from collections.abc import Sequence
from decimal import Decimal

TextLevel = tuple[str, str]  # (price text, size text) exactly as the venue wrote them

KRAKEN_LEVELS = 10
OKX_LEVELS = 25


def _kraken_part(text: str) -> str:
    return text.replace(".", "").lstrip("0")


def kraken_checksum(asks: Sequence[TextLevel], bids: Sequence[TextLevel]) -> int:
    """Kraken's book checksum of asks and bids (each best first, text as sent)."""
    parts = [_kraken_part(p) + _kraken_part(s)
             for p, s in (*asks[:KRAKEN_LEVELS], *bids[:KRAKEN_LEVELS])]
    return zlib.crc32("".join(parts).encode())


def okx_checksum(bids: Sequence[TextLevel], asks: Sequence[TextLevel]) -> int:
    """OKX's book checksum of bids and asks (each best first, text as sent)."""
    parts: list[str] = []
    for i in range(OKX_LEVELS):
        if i < len(bids):
            parts.extend(bids[i])
        if i < len(asks):
            parts.extend(asks[i])
    value = zlib.crc32(":".join(parts).encode())
    return value - (1 << 32) if value >= 1 << 31 else value


def decimals_of(step: float | str | Decimal | None) -> int | None:
    """Number of decimals of a tick or lot size (1e-06 -> 6, 0.5 -> 1, 1 -> 0); None if unknown."""
    if step is None:
        return None
    exponent = Decimal(str(step)).normalize().as_tuple().exponent
    if not isinstance(exponent, int):
        return None
    return max(0, -exponent)


def fixed_text(value: float | str | Decimal, decimals: int) -> str:
    """`value` written with exactly `decimals` decimals (Kraken v2 checksum text)."""
    return f"{Decimal(str(value)):.{decimals}f}"


def plain_text(value: float | str | Decimal) -> str:
    """`value` in its shortest plain decimal form, no exponent, no trailing zeros."""
    return f"{Decimal(str(value)).normalize():f}"


class LevelTexts:
    """The venue's text of every level of one book, keyed by float price like ccxt's book.

    ccxt keeps prices and sizes as floats, which lose the text a checksum is computed on
    ("56218.30000" becomes 56218.3). This keeps the text beside ccxt's book so the checksum can
    be checked on what the venue sent.
    """

    __slots__ = ("asks", "bids")

    def __init__(self) -> None:
        self.bids: dict[float, TextLevel] = {}
        self.asks: dict[float, TextLevel] = {}

    def clear(self) -> None:
        """Forget every level (a new snapshot follows)."""
        self.bids.clear()
        self.asks.clear()

    def side(self, name: str) -> dict[float, TextLevel]:
        """The price -> text map of "bids" or "asks"."""
        if name == "bids":
            return self.bids
        if name == "asks":
            return self.asks
        raise ValueError(f"side must be 'bids' or 'asks', not {name!r}")

    def apply(self, side: str, price: str, size: str) -> None:
        """Record one level as sent; a zero size deletes it (as in the book)."""
        levels = self.side(side)
        key = float(price)
        if float(size) == 0:
            levels.pop(key, None)
        else:
            levels[key] = (price, size)

    def texts(self, side: str, prices: Sequence[float]) -> list[TextLevel]:
        """The text of the levels at `prices`; ValueError if one was never received."""
        levels = self.side(side)
        try:
            return [levels[p] for p in prices]
        except KeyError as e:
            raise ValueError(f"no venue text for {side} level {e.args[0]!r}") from None

    def keep_only(self, side: str, prices: Sequence[float]) -> None:
        """Forget levels the book no longer holds (e.g. cut off by its depth)."""
        levels = self.side(side)
        keep = set(prices)
        for p in [p for p in levels if p not in keep]:
            del levels[p]
