"""Calibration of the binary-option probability model on the recorded forex ticks.

Replays every recorded tick file in data/recorded/forex/ (TrueFX USDJPY 2013, HistData EURUSD
2020, the decoded 2019 EURUSD and USDJPY) through `BinarySignalScanner`, one quote at a time
(the scanner's clock follows event time). Every candidate the model prices (each quote after
warm-up x each expiry, the better direction of the two, whether or not it clears the EV margin)
is settled at its expiry on the recorded mid path with the Pocket Option settlement rule
(services/intake/adapters/pocketoption/settlement.py: strictly above/below wins, equal = tie,
refunded). Candidates whose expiry falls after the end of the file are dropped.

Prints per expiry and overall: a reliability table (predicted P(win) bins vs the observed win
frequency), the Brier score of P(win) beside two same-run baselines (always 0.5; the observed
base rate, fitted in-sample, so favouring the baseline), and how many candidates and emitted
(throttled) signals had positive EV with their realized EV per unit stake.

Candidates at consecutive ticks overlap almost entirely in time, so the counts overstate the
number of independent outcomes: read the bins' frequencies with wide error bars.

Run: .venv/bin/python bench/binary_calibration.py [--payout 92] [--drift-prior 1e-7]
"""
from __future__ import annotations

import argparse
import csv
import math
import sys
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from libs.common.clock import TestClock  # noqa: E402
from libs.common.events.market import QuoteTick  # noqa: E402
from services.intake.adapters.pocketoption.settlement import (  # noqa: E402
    Direction,
    OptionRequest,
    Outcome,
    PricePath,
    PricePoint,
    SettlementUnavailable,
    settle,
)
from services.intake.recording.forex import PARSERS  # noqa: E402
from services.scanner.domain.binary import (  # noqa: E402
    BinaryCandidate,
    BinarySignalConfig,
    BinarySignalScanner,
)

FOREX = ROOT / "data" / "recorded" / "forex"
FILES = [  # (path, layout, has header, instrument id)
    (FOREX / "truefx" / "usdjpy-ticks.csv", "truefx", True, "USD/JPY.TRUEFX"),
    (FOREX / "histdata" / "eurusd_ticks_2020-01-01_quote_tick_data.csv", "histdata", False,
     "EUR/USD.HISTDATA"),
    (FOREX / "nautilus_sim_2019" / "eurusd_ticks_2019-01-01T23_decoded.csv", "decoded", True,
     "EUR/USD.SIM2019"),
    (FOREX / "nautilus_sim_2019" / "usdjpy_ticks_2019-01-01T23_decoded.csv", "decoded", True,
     "USD/JPY.SIM2019"),
]
BINS = [(0.0, 0.40)] + [(0.40 + 0.05 * i, 0.45 + 0.05 * i) for i in range(5)] + [(0.65, 1.01)]


@dataclass(frozen=True, slots=True)
class Settled:
    expiry_s: int
    p_win: float
    ev: float
    won: bool
    pnl: float  # per unit stake
    p_up: float  # direction-free check: P(strictly above) vs what happened
    up: bool
    p_tie: float
    tie: bool


def load(path: Path, layout: str, header: bool, iid: str) -> list[QuoteTick]:
    """QuoteTicks of one recorded file (rows the intake parser rejects are skipped)."""
    venue, symbol = iid.split(".")[1], iid.split(".")[0].replace("/", "")
    quotes = []
    with path.open(newline="") as fh:
        rows = csv.reader(fh)
        if header:
            next(rows)
        for fields in rows:
            try:
                ts, bid, ask = PARSERS[layout](fields)
            except ValueError:
                continue
            quotes.append(QuoteTick(ts_event=ts, ts_init=ts, instrument_id=iid, venue=venue,
                                    symbol=symbol, bid=bid, ask=ask))
    return quotes


def settle_one(path: PricePath, c: BinaryCandidate, payout: Decimal) -> Settled | None:
    req = OptionRequest(option_id="cal", symbol=c.instrument_id,
                        direction=Direction(c.direction), stake=Decimal(1),
                        payout_pct=payout, expiry_s=c.expiry_s, requested_ts_ns=c.ts_ns)
    try:
        s = settle(path, req)
    except SettlementUnavailable:
        return None
    entry, close = s.opened.entry_price, s.close_price
    return Settled(c.expiry_s, c.p_win, c.ev, s.outcome is Outcome.WIN, float(s.pnl),
                   c.outcome.p_up, close > entry, c.outcome.p_tie, close == entry)


def run(config: BinarySignalConfig
        ) -> tuple[list[Settled], list[Settled], dict[str, tuple[int, int, int, float]]]:
    cands: list[Settled] = []
    signals: list[Settled] = []
    counts: dict[str, tuple[int, int, int, float]] = {}
    for path, layout, header, iid in FILES:
        quotes = load(path, layout, header, iid)
        ppath = PricePath([PricePoint(q.ts_event, (q.bid + q.ask) / 2) for q in quotes])
        clock = TestClock()
        scanner = BinarySignalScanner(clock, config)
        n, n_sig_before = 0, len(signals)
        for q in quotes:
            clock.set(q.ts_event)
            sigs = scanner.on_quote(q)
            by_expiry = {c.expiry_s: c for c in scanner.candidates}
            for c in scanner.candidates:
                s = settle_one(ppath, c, c.payout_pct)
                if s is not None:
                    cands.append(s)
                    n += 1
            for sig in sigs:
                s = settle_one(ppath, by_expiry[sig.expiry_s], sig.payout_pct)
                if s is not None:
                    signals.append(s)
        sig_here = signals[n_sig_before:]
        wins = sum(x.won for x in sig_here)
        pnl = sum(x.pnl for x in sig_here)
        counts[f"{iid} ({len(quotes)} ticks)"] = (n, len(sig_here), wins, pnl)
    return cands, signals, counts


def brier(rows: list[Settled], p: float | None = None) -> float:
    return sum(((r.p_win if p is None else p) - r.won) ** 2 for r in rows) / len(rows)


def report(title: str, rows: list[Settled]) -> None:
    if not rows:
        print(f"\n== {title}: no settled candidates")
        return
    n = len(rows)
    base = sum(r.won for r in rows) / n
    print(f"\n== {title}: {n} settled candidates")
    print(f"{'P(win) bin':>14} {'count':>8} {'mean pred':>10} {'observed':>9} {'±2se':>7}")
    for lo, hi in BINS:
        b = [r for r in rows if lo <= r.p_win < hi]
        if not b:
            continue
        obs = sum(r.won for r in b) / len(b)
        se = 2 * math.sqrt(max(obs * (1 - obs), 1e-12) / len(b))
        label = f"{lo:.2f}-{min(hi, 1.0):.2f}"
        print(f"{label:>14} {len(b):>8} {sum(r.p_win for r in b) / len(b):>10.4f} "
              f"{obs:>9.4f} {se:>7.4f}")
    b_model, b_half, b_base = brier(rows), brier(rows, 0.5), brier(rows, base)
    print(f"Brier: model {b_model:.5f} | always 0.5 {b_half:.5f} | base rate {base:.4f} "
          f"(in-sample) {b_base:.5f}")
    best = min(b_half, b_base)
    verdict = "BETTER than" if b_model < best else "NOT better than"
    print(f"=> P(win) is {verdict} the best constant baseline "
          f"(skill {1 - b_model / best:+.4f})")
    up_rate = sum(r.up for r in rows) / n
    bu_model = sum((r.p_up - r.up) ** 2 for r in rows) / n
    bu_base = sum((up_rate - r.up) ** 2 for r in rows) / n
    bu_half = sum((0.5 - r.up) ** 2 for r in rows) / n
    print(f"direction-free, P(up) vs finished strictly above: Brier model {bu_model:.5f} | "
          f"always 0.5 {bu_half:.5f} | base rate {up_rate:.4f} {bu_base:.5f}")
    best_up = min(bu_half, bu_base)
    print(f"=> P(up) is {'BETTER than' if bu_model < best_up else 'NOT better than'} the best "
          f"constant baseline (skill {1 - bu_model / best_up:+.4f})")
    print(f"ties: predicted mean P(tie) {sum(r.p_tie for r in rows) / n:.4f}, observed "
          f"{sum(r.tie for r in rows) / n:.4f}")
    pos = [r for r in rows if r.ev > 0]
    if pos:
        print(f"positive-EV candidates: {len(pos)} ({len(pos) / n:.2%}); predicted EV mean "
              f"{sum(r.ev for r in pos) / len(pos):+.4f}, realized EV per unit stake "
              f"{sum(r.pnl for r in pos) / len(pos):+.4f}")
    else:
        print("positive-EV candidates: 0")
    print(f"all candidates: realized EV per unit stake {sum(r.pnl for r in rows) / n:+.4f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--payout", type=Decimal, default=Decimal(92),
                    help="payout %% (92 is a placeholder, not a quoted payout)")
    ap.add_argument("--drift-prior", type=float, default=BinarySignalConfig().drift_prior_sd)
    ap.add_argument("--halflife", type=float, default=BinarySignalConfig().vol_halflife_s)
    args = ap.parse_args()
    cfg = BinarySignalConfig(default_payout_pct=args.payout, drift_prior_sd=args.drift_prior,
                             vol_halflife_s=args.halflife)
    cands, signals, counts = run(cfg)
    print(f"config: expiries {cfg.expiries_s}, payout {cfg.default_payout_pct}% (placeholder), "
          f"vol half-life {cfg.vol_halflife_s}s, drift prior sd {cfg.drift_prior_sd}/s, "
          f"min_ev {cfg.min_ev}, throttle {cfg.throttle_s}s")
    for k, (n, ns, wins, pnl) in counts.items():
        realized = f"{pnl / ns:+.4f}" if ns else "n/a"
        print(f"  {k}: {n} settled candidates; emitted signals {ns}, wins {wins}, "
              f"realized EV per unit stake {realized}")
    by_exp: dict[int, list[Settled]] = defaultdict(list)
    for r in cands:
        by_exp[r.expiry_s].append(r)
    for e in sorted(by_exp):
        report(f"expiry {e}s", by_exp[e])
    report("all expiries", cands)
    if signals:
        print(f"\nemitted signals (EV > {cfg.min_ev}, throttled): {len(signals)}, wins "
              f"{sum(s.won for s in signals)}, realized EV per unit stake "
              f"{sum(s.pnl for s in signals) / len(signals):+.4f}")
    else:
        print(f"\nemitted signals (EV > {cfg.min_ev}, throttled): 0")


if __name__ == "__main__":
    main()
