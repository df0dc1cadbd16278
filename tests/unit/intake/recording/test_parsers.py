"""Pure row and symbol parsing."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from services.intake.recording.fields import FieldInvalid
from services.intake.recording.forex import parse_decoded, parse_histdata, parse_truefx
from services.intake.recording.readers import seconds_to_ns
from services.intake.recording.symbols import Pair, SymbolTable, split_symbol


def ns(*args: int) -> int:
    dt = datetime(*args, tzinfo=UTC)  # type: ignore[misc]
    return int(dt.timestamp()) * 10**9


def test_histdata_est_evening_becomes_the_next_utc_day() -> None:
    ts, bid, ask = parse_histdata(["20200101 235959999", "1.1", "1.2", "0"])
    assert ts == ns(2020, 1, 2, 4, 59, 59) + 999_000_000
    assert (bid, ask) == (Decimal("1.1"), Decimal("1.2"))


def test_histdata_is_est_all_year_even_in_summer() -> None:
    ts, _, _ = parse_histdata(["20200701 120000000", "1.1", "1.2", "0"])
    assert ts == ns(2020, 7, 1, 17, 0, 0)


@pytest.mark.parametrize("fields, reason", [
    (["2020010 1200000000", "1", "2", "0"], "YYYYMMDD"),
    (["20201301 120000000", "1", "2", "0"], "datetime"),
    (["20200101 120000000", "1", "2", "x"], "volume"),
    (["20200101 120000000", "1", "2"], "3 fields"),
])
def test_histdata_rejects_malformed_rows(fields: list[str], reason: str) -> None:
    with pytest.raises(FieldInvalid, match=reason):
        parse_histdata(fields)


def test_decoded_row_must_agree_with_its_own_rendering() -> None:
    ts, _, _ = parse_decoded(["2019-01-01T23:00:00.078000Z", "1546383600078000128", "1.1", "1.2"])
    assert ts == 1546383600078000128
    with pytest.raises(FieldInvalid, match="disagrees"):
        parse_decoded(["2019-01-01T23:00:00.079000Z", "1546383600078000128", "1.1", "1.2"])


def test_truefx_rejects_crossed_and_naive_times() -> None:
    with pytest.raises(FieldInvalid, match="above ask"):
        parse_truefx(["2013-01-01 22:00:00+00:00", "2", "1"])
    with pytest.raises(FieldInvalid, match="UTC offset"):
        parse_truefx(["2013-01-01 22:00:00", "1", "2"])


def test_cryptofeed_seconds_become_exact_ns() -> None:
    assert seconds_to_ns("1641343697.4033659") == 1_641_343_697_403_365_900
    assert seconds_to_ns("1633998511") == 1_633_998_511_000_000_000
    with pytest.raises(ValueError):
        seconds_to_ns("soon")


@pytest.mark.parametrize("venue, symbol, pair", [
    ("POLONIEX", "BCH_BTC", Pair("BCH", "BTC")),
    ("OKX", "BTC-USD-220527", Pair("BTC", "USD")),
    ("KRAKEN", "XBT/CHF", Pair("BTC", "CHF")),
    ("BINANCE", "NKNUSDT", Pair("NKN", "USDT")),
    ("BINANCE_COINM", "BTCUSD_PERP", Pair("BTC", "USD")),
    ("GEMINI", "ETHEUR", Pair("ETH", "EUR")),
])
def test_symbols_split_into_base_and_quote(venue: str, symbol: str, pair: Pair) -> None:
    assert split_symbol(venue, symbol) == pair


def test_rest_metadata_beats_the_suffix_guess() -> None:
    table = SymbolTable()
    assert table.pair("BINANCE", "BTCUSDC") == Pair("BTC", "USDC")
    learned = table.learn_from_rest("BINANCE", "https://api.binance.com/api/v3/exchangeInfo",
                                    {"symbols": [{"symbol": "ABCBTC", "baseAsset": "A",
                                                  "quoteAsset": "BCBTC"}]})
    assert learned == 1 and table.pair("BINANCE", "ABCBTC") == Pair("A", "BCBTC")
    assert table.pair("BINANCE", "???") is None
