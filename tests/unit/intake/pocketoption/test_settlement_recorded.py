"""Paper options settled on the real recorded ticks, checked against the file read on its own.

The oracle below reads the CSV with the csv module, takes the mid of bid and ask itself, and
finds the price in force with a forward walk over the rows (no bisect, no tick reader); the
paper venue must agree with it on every option. Three options are also checked against rows
looked up by hand (line numbers of the file in the comments).
"""
from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

from libs.common.clock import TestClock
from services.intake.adapters.pocketoption.config import PaperPocketOptionConfig
from services.intake.adapters.pocketoption.paper import PaperPocketOption
from services.intake.adapters.pocketoption.settlement import Direction, Outcome
from services.intake.adapters.recorded import DEFAULT_DATA_DIR

S = 1_000_000_000
EURUSD = DEFAULT_DATA_DIR / "forex/nautilus_sim_2019/eurusd_ticks_2019-01-01T23_decoded.csv"
USDJPY = DEFAULT_DATA_DIR / "forex/nautilus_sim_2019/usdjpy_ticks_2019-01-01T23_decoded.csv"
T_2301 = 1546383660 * S  # 2019-01-01T23:01:00Z


def prices_in_force(path: Path, times: list[int]) -> dict[int, tuple[int, Decimal]]:
    """time -> (row ts, mid) of the last row at or before it, by one forward walk."""
    with path.open(newline="") as fh:
        rows = [(int(r["ts_event_ns"]), (Decimal(r["bid"]) + Decimal(r["ask"])) / 2)
                for r in csv.DictReader(fh)]
    out: dict[int, tuple[int, Decimal]] = {}
    i = -1
    for t in sorted(set(times)):
        while i + 1 < len(rows) and rows[i + 1][0] <= t:
            i += 1
        out[t] = rows[i]
    return out


async def venue(latency_ns: int = 0) -> PaperPocketOption:
    paper = PaperPocketOption(PaperPocketOptionConfig(latency_ns=latency_ns), clock=TestClock())
    await paper.start()
    return paper


async def test_call_and_put_every_minute_match_the_file() -> None:
    paper = await venue()
    last_ts = paper.price_path("EURUSD").last_ts
    assert last_ts is not None
    opens = list(range(T_2301, last_ts - 60 * S + 1, 60 * S))
    assert len(opens) == 155  # 23:01 .. 01:35, every minute with a full minute after it
    oracle = prices_in_force(EURUSD, opens + [t + 60 * S for t in opens])
    outcomes: dict[Direction, list[Outcome]] = {Direction.CALL: [], Direction.PUT: []}
    total = Decimal(0)
    for t in opens:
        for direction in Direction:
            opened = paper.open_option("EURUSD", direction, Decimal("10"), 60,
                                       requested_ts_ns=t)
            result = paper.settle(opened.request.option_id)
            entry_ts, entry = oracle[t]
            close_ts, close = oracle[t + 60 * S]
            assert (opened.entry_tick_ts_ns, opened.entry_price) == (entry_ts, entry)
            assert (result.close_tick_ts_ns, result.close_price) == (close_ts, close)
            up, down = close > entry, close < entry
            expected = (Outcome.TIE if not (up or down) else
                        Outcome.WIN if up == (direction is Direction.CALL) else Outcome.LOSS)
            assert result.outcome is expected
            assert result.pnl == {Outcome.WIN: Decimal("9.2"), Outcome.LOSS: Decimal("-10"),
                                  Outcome.TIE: Decimal(0)}[expected]
            outcomes[direction].append(result.outcome)
            total += result.pnl
    calls, puts = outcomes[Direction.CALL], outcomes[Direction.PUT]
    # A CALL and a PUT on the same minute are mirror images; ties hit both.
    mirror = {Outcome.WIN: Outcome.LOSS, Outcome.LOSS: Outcome.WIN, Outcome.TIE: Outcome.TIE}
    assert puts == [mirror[o] for o in calls]
    assert (calls.count(Outcome.WIN), calls.count(Outcome.LOSS), calls.count(Outcome.TIE)) == (
        64, 84, 7)
    # 148 decided minutes: one side wins 9.2, the other loses 10 -> 148 x -0.8.
    assert total == Decimal("-118.4")


async def test_options_checked_against_rows_read_by_hand() -> None:
    paper = await venue()
    # Request 23:01:00.000: entry row 546 (23:00:59.936, 1.14603/1.14678, mid 1.146405);
    # expiry 23:02:00.000: row 726 (23:01:59.234999808, 1.14664/1.14672, mid 1.14668).
    call = paper.settle(paper.open_option("EURUSD", Direction.CALL, Decimal("10"), 60,
                                          requested_ts_ns=T_2301).request.option_id)
    assert (call.opened.entry_price, call.close_price) == (Decimal("1.146405"),
                                                           Decimal("1.14668"))
    assert (call.outcome, call.pnl) == (Outcome.WIN, Decimal("9.2"))
    put = paper.settle(paper.open_option("EURUSD", Direction.PUT, Decimal("10"), 60,
                                         requested_ts_ns=T_2301).request.option_id)
    assert (put.outcome, put.pnl, put.returned) == (Outcome.LOSS, Decimal("-10"), Decimal(0))
    # Request 23:14:00.000: entry row 1533 (23:13:59.892, 1.14655/1.14662); expiry
    # 23:15:00.000: row 1633 (23:14:54.897000192, 1.14655/1.14662): same mid, a tie.
    tie = paper.settle(paper.open_option("EURUSD", Direction.CALL, Decimal("10"), 60,
                                         requested_ts_ns=T_2301 + 13 * 60 * S).request.option_id)
    assert (tie.opened.entry_price, tie.close_price) == (Decimal("1.146585"),
                                                         Decimal("1.146585"))
    assert (tie.outcome, tie.pnl, tie.returned) == (Outcome.TIE, Decimal(0), Decimal("10"))


async def test_latency_and_five_minute_expiry_on_usdjpy_match_the_file() -> None:
    latency = 250_000_000
    paper = await venue(latency)
    last_ts = paper.price_path("USDJPY").last_ts
    assert last_ts is not None
    opens = list(range(T_2301, last_ts - 300 * S - latency + 1, 60 * S))
    oracle = prices_in_force(USDJPY, [t + latency for t in opens]
                             + [t + latency + 300 * S for t in opens])
    for t in opens:
        opened = paper.open_option("USDJPY", Direction.PUT, Decimal("3"), 300, requested_ts_ns=t)
        result = paper.settle(opened.request.option_id)
        entry, close = oracle[t + latency][1], oracle[t + latency + 300 * S][1]
        assert (result.opened.open_ts_ns, result.opened.expiry_ts_ns) == (
            t + latency, t + latency + 300 * S)
        assert (result.opened.entry_price, result.close_price) == (entry, close)
        assert result.pnl == (Decimal("2.76") if close < entry else
                              Decimal("-3") if close > entry else Decimal(0))
