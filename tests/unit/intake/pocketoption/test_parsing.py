"""Pocket Option payloads -> records -> events, with a reason for every rejected element."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from libs.common.enums import InstrumentKind
from libs.common.events import decode, encode
from services.intake.adapters.pocketoption.parsing import (
    binary_assets_event,
    instrument_id_for,
    instruments_event,
    parse_asset_row,
    parse_update_assets,
    parse_update_stream,
    quote_from_tick,
    split_symbol,
    unix_to_ns,
)
from services.intake.adapters.pocketoption.protocol import decode_json
from services.intake.adapters.pocketoption.schemas import AssetRow, StreamTick

# The asset row of BinaryOptionsTools-v2's test `test_asset_deserialization`
# (crates/binary_options_tools/src/pocketoption/modules/assets.rs): the only sample of the
# broker's `updateAssets` row format available here.
AAPL_ROW = ('[5,"AAPL","Apple","stock",2,50,60,30,3,0,170,0,[],1751906100,false,'
            '[{"time":60},{"time":120},{"time":180},{"time":300},{"time":600},{"time":900},'
            '{"time":1800},{"time":2700},{"time":3600},{"time":7200},{"time":10800},'
            '{"time":14400}],-1,60,1751906100]')


def row(**changes: Any) -> list[Any]:
    """The AAPL row with fields replaced by index name."""
    r = decode_json(AAPL_ROW)
    index = {"id": 0, "symbol": 1, "name": 2, "type": 3, "payout": 5, "otc": 9, "active": 14,
             "times": 15}
    for key, value in changes.items():
        r[index[key]] = value
    return r


def test_library_sample_row_parses_to_its_fields() -> None:
    parsed = parse_asset_row(decode_json(AAPL_ROW))
    assert parsed == AssetRow(asset_id=5, symbol="AAPL", name="Apple", asset_type="stock",
                              payout_pct=Decimal(50), is_otc=False, is_active=False,
                              times_s=(60, 120, 180, 300, 600, 900, 1800, 2700, 3600, 7200,
                                       10800, 14400))


def test_otc_currency_row_keeps_its_flags() -> None:
    parsed = parse_asset_row(row(symbol="EURUSD_otc", name="EUR/USD OTC", type="currency",
                                 payout=92, otc=1, active=True, times=[{"time": 300},
                                                                       {"time": 60}]))
    assert (parsed.is_otc, parsed.is_active, parsed.payout_pct) == (True, True, Decimal(92))
    assert parsed.times_s == (60, 300)


@pytest.mark.parametrize(("changes", "why"), [
    ({"symbol": ""}, "symbol '' is not a non-empty string"),
    ({"id": "5"}, "asset id '5' is not an integer"),
    ({"type": "bond"}, "asset type 'bond'"),
    ({"payout": 150}, "payout 150 is not a percentage"),
    ({"payout": -1}, "payout -1 is not a percentage"),
    ({"payout": True}, "payout True is not a percentage"),
    ({"otc": 2}, "OTC flag 2 is not 0 or 1"),
    ({"active": 1}, "active flag 1 is not a boolean"),
    ({"times": [{"time": 0}]}, "duration {'time': 0}"),
    ({"times": [60]}, "duration 60"),
    ({"times": None}, "durations None are not a list"),
])
def test_bad_row_fields_are_named(changes: dict[str, Any], why: str) -> None:
    with pytest.raises(ValueError, match=why.replace("{", r"\{").replace("}", r"\}")
                       .replace("(", r"\(")):
        parse_asset_row(row(**changes))


def test_short_row_is_rejected() -> None:
    with pytest.raises(ValueError, match="at least 16 elements"):
        parse_asset_row(decode_json(AAPL_ROW)[:15])


def test_update_assets_keeps_good_rows_and_names_bad_ones() -> None:
    payload = [row(symbol="EURUSD", type="currency"), row(symbol="X", payout=101),
               row(symbol="EURUSD", payout=10), "junk"]
    rows, errors = parse_update_assets(payload)
    assert [r.symbol for r in rows] == ["EURUSD"]
    assert rows[0].payout_pct == Decimal(50)  # the first EURUSD row wins
    assert len(errors) == 3
    assert errors[0].startswith("X: payout 101")
    assert errors[1] == "EURUSD: listed twice; the first row is kept"
    assert "asset row is not a list" in errors[2]


def test_update_assets_that_is_not_a_list_is_one_error() -> None:
    rows, errors = parse_update_assets({"a": 1})
    assert rows == [] and errors == ["updateAssets payload is not a list: {'a': 1}"]


def test_stream_ticks_parse_with_exact_times_and_prices() -> None:
    payload = decode_json('[["EURUSD_otc",1770856131.3,1.19537],["USDJPY",1546383600,109.68]]')
    ticks, errors = parse_update_stream(payload)
    assert errors == []
    assert ticks == [StreamTick("EURUSD_otc", 1_770_856_131_300_000_000, Decimal("1.19537")),
                     StreamTick("USDJPY", 1_546_383_600_000_000_000, Decimal("109.68"))]


def test_millisecond_times_are_recognised() -> None:
    assert unix_to_ns(1_546_383_600_078) == 1_546_383_600_078_000_000
    assert unix_to_ns(Decimal("1546383600.078")) == 1_546_383_600_078_000_000


@pytest.mark.parametrize(("item", "why"), [
    (["EURUSD", 1], "tick is not [symbol, time, price]"),
    ([1, 1546383600, Decimal("1.1")], "tick symbol 1"),
    (["EURUSD", -5, Decimal("1.1")], "tick time -5"),
    (["EURUSD", "now", Decimal("1.1")], "tick time 'now'"),
    (["EURUSD", 1546383600, Decimal(0)], "tick price Decimal('0')"),
    (["EURUSD", 1546383600, "1.1"], "tick price '1.1'"),
    (["EURUSD", 1546383600, True], "tick price True"),
    (["EURUSD", 1546383600, Decimal("Infinity")], "tick price Decimal('Infinity')"),
])
def test_bad_ticks_are_named_and_good_ones_kept(item: list[Any], why: str) -> None:
    good = ["EURUSD", 1546383600, Decimal("1.14624")]
    ticks, errors = parse_update_stream([good, item])
    assert ticks == [StreamTick("EURUSD", 1_546_383_600_000_000_000, Decimal("1.14624"))]
    assert len(errors) == 1 and why in errors[0]


def test_empty_stream_payload_is_an_error() -> None:
    assert parse_update_stream([]) == ([], ["updateStream payload is not a non-empty list: []"])


@pytest.mark.parametrize(("symbol", "iid", "parts"), [
    ("EURUSD", "EUR/USD.POCKET_OPTION", ("EUR", "USD", False)),
    ("EURUSD_otc", "EUR/USD-OTC.POCKET_OPTION", ("EUR", "USD", True)),
    ("#AAPL", "AAPL.POCKET_OPTION", ("AAPL", "", False)),
    ("#AAPL_otc", "AAPL-OTC.POCKET_OPTION", ("AAPL", "", True)),
    ("AEX25", "AEX25.POCKET_OPTION", ("AEX25", "", False)),
])
def test_symbols_map_to_instrument_ids(symbol: str, iid: str, parts: tuple[str, str, bool],
                                       ) -> None:
    assert instrument_id_for(symbol) == iid
    assert split_symbol(symbol) == parts


def test_quote_has_the_single_price_on_both_sides() -> None:
    q = quote_from_tick(StreamTick("EURUSD", 1_546_383_600_078_000_000, Decimal("1.14624")),
                        ts_init=7)
    assert (q.instrument_id, q.bid, q.ask, q.ts_event) == (
        "EUR/USD.POCKET_OPTION", Decimal("1.14624"), Decimal("1.14624"),
        1_546_383_600_078_000_000)
    assert decode(encode(q)) == q


def test_asset_events_list_every_row_in_symbol_order_and_round_trip() -> None:
    rows = [parse_asset_row(row(symbol="USDJPY", type="currency", active=True)),
            parse_asset_row(decode_json(AAPL_ROW))]
    assets = binary_assets_event(rows, ts_event=5, ts_init=6)
    assert [a.symbol for a in assets.assets] == ["AAPL", "USDJPY"]
    assert assets.assets[0].active is False and assets.assets[0].expiries_s[-1] == 14400
    assert decode(encode(assets)) == assets
    info = instruments_event(rows, ts_event=5, ts_init=6)
    assert [(i.instrument_id, i.instrument_kind, i.active) for i in info.instruments] == [
        ("AAPL.POCKET_OPTION", InstrumentKind.SPOT, False),
        ("USD/JPY.POCKET_OPTION", InstrumentKind.FX, True)]
    assert decode(encode(info)) == info
