"""Negative-cycle search on Binance's spot graph: our 3/4-cycle search (services/scanner/domain/
cycles.py) beside networkx Bellman-Ford run from every source on a graph built per sweep, the
way Peregrine (wardbradt/peregrine) does it, on the same graph in the same run.

Graph: every TRADING market of the recorded exchangeInfo (data/recorded/ccxt_fixtures/raw_rest/
binance__api_v3_exchangeInfo.json.gz, 2021-10-12): 1,262 markets (of 1,695 listed), 385 assets.

Rates (synthetic: recorded books exist for 4 of these symbols only), all from one seeded
numpy Generator (--seed):
- each asset gets a reference price p_a with ln p_a ~ U(ln 1e-4, ln 1e5);
- market BASE/QUOTE has mid = p_BASE / p_QUOTE x exp(eps), eps ~ N(0, 1 bp) per quote;
- `--dislocated` markets (default 12, chosen by the same Generator) carry a fixed +60 bp
  offset on their mid, as a lagging market would: the cycles through them are the negative ones;
- bid = mid x (1 - 1 bp), ask = mid x (1 + 1 bp): a fixed 2 bp spread;
- taker fee 0.1 % on every edge (Binance spot VIP 0, the FeeSchedule default).
Edge rate after fee: bid x 0.999 (sell base), 0.999 / ask (buy base); weight -log(rate).

Measured:
- full search: ours recomputes every cycle sum from the edge weights and lists the negative
  ones; networkx builds an nx.DiGraph from the quotes, then calls find_negative_cycle from each
  of the 385 sources (one cycle per source, any length). Both with and without dislocations;
- per-quote incremental update: one market's new bid/ask -> the negative cycles through it
  (CycleSearch.quote), for --updates quotes on uniformly drawn markets, and again on the 20
  markets in the most cycles (the worst case); then the same in the scanner's mode
  (near_misses=True: every cycle positive before fees, which it depth-checks).

    .venv/bin/python bench/negative_cycles.py [--updates 20000] [--seed 7] [--repeat 20]
"""
from __future__ import annotations

import argparse
import gzip
import json
import math
import platform
import sys
import time
from pathlib import Path

import networkx as nx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.scanner.domain.cycles import CycleSearch  # noqa: E402
from services.scanner.domain.fees import FeeSchedule  # noqa: E402
from services.scanner.domain.graph import Market, RateGraph  # noqa: E402

EXCHANGE_INFO = ROOT / "data/recorded/ccxt_fixtures/raw_rest/binance__api_v3_exchangeInfo.json.gz"
NOISE = 1e-4  # 1 bp
HALF_SPREAD = 1e-4
DISLOCATION = 0.006  # 60 bp


def load_markets() -> list[Market]:
    info = json.loads(gzip.decompress(EXCHANGE_INFO.read_bytes()))
    fee = FeeSchedule().rate("BINANCE")
    return [Market(f"{s['baseAsset']}/{s['quoteAsset']}.BINANCE", "BINANCE", s["baseAsset"],
                   s["quoteAsset"], fee)
            for s in info["symbols"] if s["status"] == "TRADING"]


class Rates:
    """The synthetic quotes described in the module docstring."""

    def __init__(self, markets: list[Market], rng: np.random.Generator, dislocated: int) -> None:
        assets = sorted({a for m in markets for a in (m.base, m.quote)})
        log_p = dict(zip(assets, rng.uniform(math.log(1e-4), math.log(1e5), len(assets)),
                         strict=True))
        self.rng = rng
        self.log_fair = np.array([log_p[m.base] - log_p[m.quote] for m in markets])
        self.offset = np.zeros(len(markets))
        if dislocated:
            self.offset[rng.choice(len(markets), dislocated, replace=False)] = DISLOCATION
        eps = rng.normal(0, NOISE, len(markets))
        self.mid = np.exp(self.log_fair + self.offset + eps)

    def requote(self, m: int) -> tuple[float, float]:
        """A new quote for market m: fresh noise, same fair price and offset."""
        mid = math.exp(self.log_fair[m] + self.offset[m] + self.rng.normal(0, NOISE))
        self.mid[m] = mid
        return mid * (1 - HALF_SPREAD), mid * (1 + HALF_SPREAD)

    def quote(self, m: int) -> tuple[float, float]:
        mid = float(self.mid[m])
        return mid * (1 - HALF_SPREAD), mid * (1 + HALF_SPREAD)


def networkx_sweep(markets: list[Market], rates: Rates,
                   ) -> tuple[float, float, int, list[list[str]]]:
    """(build s, search s, sources, cycles): Peregrine-style, a fresh DiGraph and
    Bellman-Ford from every node."""
    t0 = time.perf_counter()
    g = nx.DiGraph()
    for i, m in enumerate(markets):
        bid, ask = rates.quote(i)
        keep = 1 - float(m.taker_rate)
        g.add_edge(m.base, m.quote, weight=-math.log(bid * keep))
        g.add_edge(m.quote, m.base, weight=-math.log(keep / ask))
    t1 = time.perf_counter()
    found = []
    for source in g.nodes:
        try:
            found.append(nx.find_negative_cycle(g, source, weight="weight"))
        except nx.NetworkXError:  # no negative cycle reachable from this source
            pass
    return t1 - t0, time.perf_counter() - t1, g.number_of_nodes(), found


def our_full_search(search: CycleSearch, repeat: int) -> tuple[float, np.ndarray]:
    times = []
    negative = np.empty(0, dtype=np.int64)
    for _ in range(repeat):
        t0 = time.perf_counter()
        negative = search.full_search()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), negative


def node_cycle(search: CycleSearch, cycle: int) -> tuple[str, ...]:
    """A cycle as its asset sequence, rotated to start at the smallest asset."""
    nodes = [search.graph.edge_assets(e)[0] for e in search.edges(cycle)]
    k = nodes.index(min(nodes))
    return tuple(nodes[k:] + nodes[:k])


def rotate(nodes: list[str]) -> tuple[str, ...]:
    k = nodes.index(min(nodes))
    return tuple(nodes[k:] + nodes[:k])


def scenario(name: str, markets: list[Market], search: CycleSearch, rates: Rates,
             repeat: int) -> None:
    for m in range(len(markets)):
        search.quote(m, *rates.quote(m))
    ours_s, negative = our_full_search(search, repeat)
    build_s, bf_s, sources, nx_cycles = networkx_sweep(markets, rates)
    ours_set = {node_cycle(search, int(c)) for c in negative}
    short = [rotate(c[:-1]) for c in nx_cycles if len(c) - 1 <= 4]
    missing = [c for c in short if c not in ours_set]
    nx_total = build_s + bf_s
    best = ""
    if len(negative):
        b = int(negative[np.argmin(search.net_sums(negative))])
        edge_bps = (math.exp(-int(search.net_sums(np.array([b]))[0]) / 1e12) - 1) * 1e4
        best = f"; best {'>'.join(node_cycle(search, b))} {edge_bps:+.2f} bp net"
    print(f"\n[{name}] negative cycles (after fees), 3-4 hops: {len(negative):,}{best}")
    print(f"  ours: full search of {len(search):,} cycles        {ours_s * 1e3:9.2f} ms "
          f"(median of {repeat})")
    print(f"  networkx: DiGraph build                     {build_s * 1e3:9.2f} ms")
    print(f"  networkx: find_negative_cycle x {sources} sources   {bf_s * 1e3:9.2f} ms  "
          f"({len(nx_cycles)} cycles returned, "
          f"{len(short)} of <= 4 hops, {len(set(short))} distinct, "
          f"{len(missing)} of those missing from ours)")
    print(f"  ratio networkx (build + search) / ours      {nx_total / ours_s:9.0f}x "
          f"(search only: {bf_s / ours_s:.0f}x)")


def incremental(name: str, search: CycleSearch, rates: Rates, picks: np.ndarray) -> None:
    ns = np.empty(len(picks), dtype=np.int64)
    examined = 0
    found = 0
    perf = time.perf_counter_ns
    quote = search.quote
    for k, m in enumerate(picks.tolist()):
        bid, ask = rates.requote(m)
        t0 = perf()
        reported = quote(m, bid, ask)
        ns[k] = perf() - t0
        found += len(reported)
        examined += int(search.offsets[2 * m + 2] - search.offsets[2 * m])
    p50, p90, p99 = np.percentile(ns, [50, 90, 99]) / 1e3
    print(f"  {name:<47} p50 {p50:6.1f} us  p90 {p90:6.1f} us  p99 {p99:6.1f} us  "
          f"max {ns.max() / 1e3:7.1f} us  mean {ns.mean() / 1e3:6.1f} us  "
          f"({examined / len(picks):,.0f} cycles re-examined, "
          f"{found / len(picks):.2f} reported per quote)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--updates", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--dislocated", type=int, default=12)
    args = parser.parse_args()

    print(f"python {platform.python_version()}, numpy {np.__version__}, networkx "
          f"{nx.__version__}, {platform.machine()}")
    markets = load_markets()
    t0 = time.perf_counter()
    graph = RateGraph(markets)
    search = CycleSearch(graph)
    build_s = time.perf_counter() - t0
    n3 = int((search.lengths == 3).sum())
    members = np.diff(search.offsets)
    print(f"graph: {len(markets):,} TRADING markets, {len(graph.assets)} assets, "
          f"{graph.n_edges:,} edges; {n3:,} 3-cycles + {len(search) - n3:,} 4-cycles; "
          f"enumeration + index {build_s:.2f} s (once per market-set change)")
    print(f"cycles per edge: p50 {np.percentile(members, 50):.0f}, "
          f"p99 {np.percentile(members, 99):.0f}, max {members.max()}")

    rng = np.random.default_rng(args.seed)
    rates = Rates(markets, rng, args.dislocated)
    scenario(f"{args.dislocated} dislocated markets", markets, search, rates, args.repeat)

    print(f"\n[per-quote incremental update, {args.updates:,} quotes each; "
          f"{args.dislocated} dislocated markets]")
    uniform = rng.integers(len(markets), size=args.updates)
    per_market = members[0::2] + members[1::2]
    busiest = rng.choice(np.argsort(per_market)[-20:], size=args.updates)
    near = CycleSearch(graph, near_misses=True)
    for m in range(len(markets)):
        near.quote(m, *rates.quote(m))
    for label, s in (("negative cycles", search), ("scanner mode, gross > 0", near)):
        incremental(f"{label}: uniform over markets", s, rates, uniform)
        incremental(f"{label}: 20 busiest markets", s, rates, busiest)
        kept = s.sums.copy()
        same = set(s.candidates().tolist()) == set(s.full_search().tolist())
        print(f"  after {2 * args.updates:,} incremental updates: sums equal a full recount: "
              f"{np.array_equal(kept, s.sums)}; same cycles reported: {same}")

    calm = Rates(markets, np.random.default_rng(args.seed + 1), 0)
    scenario("no dislocation", markets, search, calm, args.repeat)


if __name__ == "__main__":
    main()
