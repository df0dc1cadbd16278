"""Venue book checksums, checked against every checksum the venues sent in the recordings."""
from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from services.intake.adapters.ccxt.checksum import (
    LevelTexts,
    decimals_of,
    fixed_text,
    kraken_checksum,
    okx_checksum,
    plain_text,
)

WS = Path(__file__).resolve().parents[4] / "data" / "recorded" / "cryptofeed" / "master_format1"


def received(name: str) -> Iterator[Any]:
    with gzip.open(WS / name, "rt") as fh:
        for line in fh:
            head, sep, body = line.partition(": ")
            if sep and head[:1].isdigit() and " " not in head:
                yield json.loads(body)


class _Book:
    """A plain Decimal-keyed book of (price text, size text), for the test only."""

    def __init__(self) -> None:
        self.sides: dict[str, dict[Decimal, tuple[str, str]]] = {"bids": {}, "asks": {}}

    def set(self, side: str, price: str, size: str) -> None:
        if Decimal(size) == 0:
            self.sides[side].pop(Decimal(price), None)
        else:
            self.sides[side][Decimal(price)] = (price, size)

    def best(self, side: str, depth: int | None = None) -> list[tuple[str, str]]:
        levels = self.sides[side]
        keys = sorted(levels, reverse=side == "bids")[:depth]
        return [levels[k] for k in keys]

    def truncate(self, depth: int) -> None:
        for side in ("bids", "asks"):
            for k in sorted(self.sides[side], reverse=side == "bids")[depth:]:
                del self.sides[side][k]


def test_kraken_checksum_matches_every_checksum_kraken_sent() -> None:
    books: dict[str, _Book] = {}
    checked = mismatched = 0
    for msg in received("KRAKEN.ws.50.0.gz"):
        if not isinstance(msg, list):
            continue
        pair, parts = msg[-1], [p for p in msg[1:-2] if isinstance(p, dict)]
        if "as" in parts[0]:
            books[pair] = _Book()
        book = books[pair]
        for part in parts:
            for key, side in (("as", "asks"), ("bs", "bids"), ("a", "asks"), ("b", "bids")):
                for level in part.get(key, []):
                    book.set(side, level[0], level[1])
        book.truncate(1000)  # the subscribed depth
        sent = next((p["c"] for p in parts if "c" in p), None)
        if sent is not None:
            checked += 1
            mismatched += kraken_checksum(book.best("asks", 10), book.best("bids", 10)) != int(sent)
    assert (checked, mismatched) == (4269, 0)


def test_okx_checksum_matches_every_checksum_okx_sent() -> None:
    books: dict[str, _Book] = {}
    checked = mismatched = 0
    for msg in received("OKX.ws.1.0.gz"):
        if (msg.get("arg") or {}).get("channel") != "books" or "action" not in msg:
            continue
        inst = msg["arg"]["instId"]
        for item in msg["data"]:
            if msg["action"] == "snapshot":
                books[inst] = _Book()
            for side in ("bids", "asks"):
                for level in item[side]:
                    books[inst].set(side, level[0], level[1])
            checked += 1
            ours = okx_checksum(books[inst].best("bids", 25), books[inst].best("asks", 25))
            mismatched += ours != item["checksum"]
    assert (checked, mismatched) == (290, 0)


def test_kraken_checksum_uses_the_text_so_trailing_zeros_count() -> None:
    asks = [("0.05005000", "1.57000000")]
    assert kraken_checksum(asks, []) != kraken_checksum([("0.05005", "1.57")], [])


def test_okx_checksum_is_signed_and_interleaves_bids_and_asks() -> None:
    bids, asks = [("3366.1", "7"), ("3366", "6")], [("3366.8", "9")]
    # "3366.1:7:3366.8:9:3366:6" by OKX's rule (bid, ask, then the next bid alone)
    import zlib

    raw = zlib.crc32(b"3366.1:7:3366.8:9:3366:6")
    expected = raw - (1 << 32) if raw >= 1 << 31 else raw
    assert okx_checksum(bids, asks) == expected
    assert -(1 << 31) <= okx_checksum(bids, asks) < (1 << 31)


@pytest.mark.parametrize(("step", "places"), [(1e-06, 6), ("0.5", 1), (1.0, 0), (10, 0),
                                              ("0.00010000", 4), (None, None)])
def test_decimals_of_a_step(step: Any, places: int | None) -> None:
    assert decimals_of(step) == places


def test_text_forms_of_numbers() -> None:
    assert fixed_text(56218.3, 5) == "56218.30000"
    assert fixed_text("0.1", 8) == "0.10000000"
    assert plain_text(6.8e-05) == "0.000068"
    assert plain_text("30244.000") == "30244"


def test_level_texts_follow_the_book_and_refuse_unknown_levels() -> None:
    texts = LevelTexts()
    texts.apply("bids", "100.50", "2.00")
    texts.apply("asks", "101.00", "1.0")
    texts.apply("bids", "100.40", "3")
    assert texts.texts("bids", [100.5, 100.4]) == [("100.50", "2.00"), ("100.40", "3")]
    texts.apply("bids", "100.50", "0.000")  # deleted
    with pytest.raises(ValueError, match="no venue text"):
        texts.texts("bids", [100.5])
    texts.keep_only("bids", [])
    assert texts.bids == {} and texts.asks == {101.0: ("101.00", "1.0")}
    with pytest.raises(ValueError, match="side"):
        texts.apply("middle", "1", "1")
