"""Scanner throughput: the recorded Binance BTC window (spot, USD-M perp, COIN-M perp, 6 min)
through CrossVenueArbitrage.on_book at full speed, in one process, beside a same-run baseline
loop that only reads each update's best bid and ask.

The books are rebuilt first, untimed, with intake's IntakePipeline over data/recorded/binance
(as tests/unit/intake/test_recorded_data.py does): 25,103 OrderBookUpdated events. Then each
timed pass runs a fresh scanner (default settings: 0.01 BTC, Binance VIP 0 fees) over all of
them. No Redis, no serialisation: this is the domain's own ceiling per replica.

    .venv/bin/python bench/scanner_throughput.py [--repeat 5]
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from libs.common.clock import TestClock  # noqa: E402
from libs.common.events import OrderBookUpdated  # noqa: E402
from services.intake.adapters.recorded import recorded_sources  # noqa: E402
from services.intake.domain.instruments import BINANCE_INSTRUMENTS  # noqa: E402
from services.intake.domain.pipeline import IntakePipeline, replay_key  # noqa: E402
from services.intake.domain.replay import merge_ordered  # noqa: E402
from services.scanner.domain.arbitrage import CrossVenueArbitrage  # noqa: E402
from services.scanner.domain.fees import FeeSchedule  # noqa: E402


def rebuild_books() -> list[OrderBookUpdated]:
    clock = TestClock(1)
    pipeline = IntakePipeline(clock, BINANCE_INSTRUMENTS)
    records = merge_ordered(recorded_sources(clock=clock, specs=BINANCE_INSTRUMENTS), replay_key)
    out = [e for r in records for e in pipeline.process(r)]
    # The window also carries the trade tape (TradeTick) and, on a gap, BookGapDetected; the
    # scanner's hot path is the books.
    return [e for e in out if isinstance(e, OrderBookUpdated)]


def baseline(books: list[OrderBookUpdated]) -> tuple[float, int]:
    """Seconds to read every update's best bid and ask (and compare them)."""
    t0 = time.perf_counter()
    crossed = 0
    for b in books:
        if b.bids[0][0] >= b.asks[0][0]:
            crossed += 1
    return time.perf_counter() - t0, crossed


def scanner_pass(books: list[OrderBookUpdated]) -> tuple[float, int, np.ndarray]:
    """Seconds for a fresh scanner over all books, opportunities emitted, per-update ns."""
    scan = CrossVenueArbitrage(TestClock(0), FeeSchedule())
    per = np.empty(len(books), dtype=np.int64)
    emitted = 0
    perf = time.perf_counter_ns
    t0 = time.perf_counter()
    for i, b in enumerate(books):
        s = perf()
        emitted += len(scan.on_book(b))
        per[i] = perf() - s
    return time.perf_counter() - t0, emitted, per


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {platform.machine()}")
    t0 = time.perf_counter()
    books = rebuild_books()
    print(f"rebuilt {len(books):,} book updates with IntakePipeline in "
          f"{time.perf_counter() - t0:.1f} s (untimed below)")
    for run in range(args.repeat):
        base_s, _ = baseline(books)
        scan_s, emitted, per = scanner_pass(books)
        p50, p99 = np.percentile(per, [50, 99]) / 1e3
        print(f"run {run + 1}: CrossVenueArbitrage.on_book {len(books) / scan_s:>10,.0f} updates/s "
              f"({scan_s * 1e3:.0f} ms, p50 {p50:.1f} us, p99 {p99:.1f} us per update, "
              f"{emitted:,} opportunities)")
        print(f"       baseline best bid/ask read {len(books) / base_s:>10,.0f} updates/s "
              f"({base_s * 1e3:.1f} ms)   scanner / baseline = {base_s / scan_s:.2%}")


if __name__ == "__main__":
    main()
