"""The incremental cycle search against a brute-force enumeration on small random graphs."""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from decimal import Decimal as D

import numpy as np
import pytest

from services.scanner.domain.cycles import CycleSearch, enumerate_cycles
from services.scanner.domain.graph import UNQUOTED, Market, RateGraph

Edge = tuple[str, str, int, float, float]  # from, to, edge id, gross rate, net rate


@dataclass
class Quote:
    bid: float
    ask: float


def random_markets(rng: np.random.Generator, n_assets: int
                   ) -> tuple[list[Market], list[Quote]]:
    """Random spot markets between n assets (some pairs listed twice, on two venues) with
    quotes around a consistent price plus 1% noise: plenty of cycles on both sides of zero."""
    assets = [f"A{i}" for i in range(n_assets)]
    log_price = rng.uniform(-3, 3, n_assets)
    markets: list[Market] = []
    quotes: list[Quote] = []
    for i, j in itertools.combinations(range(n_assets), 2):
        for venue in ("V1", "V2"):
            if rng.random() > (0.6 if venue == "V1" else 0.15):
                continue
            b, q = (i, j) if rng.random() < 0.5 else (j, i)
            fee = D(str(rng.choice(["0", "0.001", "0.002"])))
            markets.append(Market(f"{assets[b]}/{assets[q]}.{venue}", venue, assets[b],
                                  assets[q], fee))
            mid = math.exp(log_price[b] - log_price[q] + rng.normal(0, 0.01))
            half = rng.uniform(0, 0.002)
            quotes.append(Quote(mid * (1 - half), mid * (1 + half)))
    return markets, quotes


def edges_of(markets: list[Market], quotes: list[Quote | None]) -> list[Edge]:
    """Both edges of every quoted market with their rates, computed directly (no logs)."""
    out: list[Edge] = []
    for m, (mk, qt) in enumerate(zip(markets, quotes, strict=True)):
        if qt is None:
            continue
        keep = 1 - float(mk.taker_rate)
        out.append((mk.base, mk.quote, 2 * m, qt.bid, qt.bid * keep))
        out.append((mk.quote, mk.base, 2 * m + 1, 1 / qt.ask, keep / qt.ask))
    return out


def brute_force(markets: list[Market], quotes: list[Quote | None]
                ) -> dict[tuple[int, ...], tuple[float, float]]:
    """Every simple directed 3- and 4-cycle (as edge ids from its smallest asset) with its
    gross and net rate products, by trying every ordered tuple of distinct assets."""
    edges = edges_of(markets, quotes)
    by_pair: dict[tuple[str, str], list[Edge]] = {}
    for e in edges:
        by_pair.setdefault((e[0], e[1]), []).append(e)
    assets = sorted({a for mk in markets for a in (mk.base, mk.quote)})
    found: dict[tuple[int, ...], tuple[float, float]] = {}
    for length in (3, 4):
        for nodes in itertools.permutations(assets, length):
            if nodes[0] != min(nodes):
                continue
            hops = [by_pair.get((nodes[k], nodes[(k + 1) % length]), [])
                    for k in range(length)]
            for combo in itertools.product(*hops):
                found[tuple(e[2] for e in combo)] = (math.prod(e[3] for e in combo),
                                                     math.prod(e[4] for e in combo))
    return found


def canonical(search: CycleSearch, cycle: int) -> tuple[int, ...]:
    """A cycle's edges rotated to start at its alphabetically smallest asset."""
    edges = search.edges(cycle)
    starts = [search.graph.edge_assets(e)[0] for e in edges]
    k = starts.index(min(starts))
    return edges[k:] + edges[:k]


def build(markets: list[Market], quotes: list[Quote | None], near_misses: bool = False,
          ) -> CycleSearch:
    search = CycleSearch(RateGraph(markets), near_misses=near_misses)
    for m, qt in enumerate(quotes):
        if qt is not None:
            search.quote(m, qt.bid, qt.ask)
    return search


def assert_clear_of_zero(cycles: dict[tuple[int, ...], tuple[float, float]]) -> None:
    # Fixed-point weights round each edge by <= 5e-13 in log: no cycle may sit that close to 0.
    for gross, net in cycles.values():
        assert abs(math.log(gross)) > 1e-9 and abs(math.log(net)) > 1e-9


@pytest.mark.parametrize("seed", range(25))
def test_same_negative_cycles_and_same_best_as_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    markets, quotes = random_markets(rng, int(rng.integers(5, 8)))
    truth = brute_force(markets, list(quotes))
    assert_clear_of_zero(truth)
    search = build(markets, list(quotes))
    near = build(markets, list(quotes), near_misses=True)

    assert {canonical(search, c) for c in range(len(search))} == set(truth)
    positive_gross = {k for k, (g, _) in truth.items() if g > 1}
    assert {canonical(near, int(c)) for c in near.full_search()} == positive_gross
    every = np.arange(len(search))
    assert {canonical(search, int(c)) for c in search.gross_negative(every)} == positive_gross
    net_neg_ids = search.full_search()
    net_neg = {canonical(search, int(c)) for c in net_neg_ids}
    assert net_neg == {k for k, (_, n) in truth.items() if n > 1}
    assert set(search.net_negative(every).tolist()) == set(net_neg_ids.tolist())
    if net_neg:
        best = int(net_neg_ids[np.argmin(search.net_sums(net_neg_ids))])
        assert canonical(search, best) == max(net_neg, key=lambda k: truth[k][1])
        best_sum = int(search.net_sums(np.array([best]))[0])
        assert best_sum / 1e12 == pytest.approx(-math.log(truth[canonical(search, best)][1]),
                                                abs=1e-11)


def test_random_graphs_do_have_negative_cycles_to_find() -> None:
    # guards the test above against passing on graphs where there is nothing to find
    counts = []
    for seed in range(25):
        rng = np.random.default_rng(seed)
        markets, quotes = random_markets(rng, int(rng.integers(5, 8)))
        truth = brute_force(markets, list(quotes))
        counts.append(sum(1 for _, n in truth.values() if n > 1))
    assert sum(c > 0 for c in counts) >= 15
    assert sum(counts) > 100


@pytest.mark.parametrize("seed", range(6))
def test_incremental_updates_find_what_a_full_recount_finds(seed: int) -> None:
    rng = np.random.default_rng(1000 + seed)
    markets, base_quotes = random_markets(rng, 7)
    quotes: list[Quote | None] = list(base_quotes)
    search = build(markets, quotes)  # reports negative cycles
    near = build(markets, quotes, near_misses=True)  # reports positive gross edges
    checked = 0
    for _ in range(150):
        m = int(rng.integers(len(markets)))
        if rng.random() < 0.1:
            quotes[m] = None
            search.unquote(m)
            near.unquote(m)
            got, got_net = set(), set()
        else:
            mid = math.sqrt(base_quotes[m].bid * base_quotes[m].ask) * math.exp(
                rng.normal(0, 0.01))
            half = rng.uniform(0, 0.002)
            new = Quote(mid * (1 - half), mid * (1 + half))
            old = quotes[m]
            if old is not None and rng.random() < 0.3:  # one side moves, the other stays
                new = (Quote(old.bid, max(new.ask, old.bid * 1.0001)) if rng.random() < 0.5
                       else Quote(min(new.bid, old.ask * 0.9999), old.ask))
            quotes[m] = new
            got = {canonical(near, int(c)) for c in near.quote(m, new.bid, new.ask)}
            got_net = {canonical(search, int(c)) for c in search.quote(m, new.bid, new.ask)}
        truth = brute_force(markets, quotes)
        through = {k for k in truth if 2 * m in k or 2 * m + 1 in k}
        assert got == {k for k in through if truth[k][0] > 1}
        assert got_net == {k for k in through if truth[k][1] > 1}
        checked += len(got_net)
    assert checked > 0
    for s in (search, near):
        kept = s.sums.copy()
        assert set(s.candidates().tolist()) == set(s.full_search().tolist())
        assert np.array_equal(kept, s.sums)  # integer sums: no drift after 150 updates


def test_enumeration_counts_on_a_complete_graph_of_four_assets() -> None:
    # K4 with one market per pair: 8 directed triangles (4 triples x 2 directions) and
    # 6 directed Hamiltonian 4-cycles ((4-1)! orderings).
    assets = ["A", "B", "C", "D"]
    markets = [Market(f"{a}/{b}.X", "X", a, b, D(0)) for a, b in itertools.combinations(assets, 2)]
    graph = RateGraph(markets)
    cycles = enumerate_cycles(graph.src, graph.dst, len(graph.assets))
    lengths = np.where(cycles[:, 3] == graph.dummy_edge, 3, 4)
    assert (int((lengths == 3).sum()), int((lengths == 4).sum())) == (8, 6)
    assert len({tuple(r) for r in cycles.tolist()}) == len(cycles)
    only3 = enumerate_cycles(graph.src, graph.dst, len(graph.assets), lengths=(3,))
    assert len(only3) == 8


def test_parallel_markets_make_distinct_cycles_and_two_hops_are_not_cycles() -> None:
    markets = [Market("B/A.X", "X", "B", "A", D(0)), Market("B/A.Y", "Y", "B", "A", D(0)),
               Market("C/B.X", "X", "C", "B", D(0)), Market("C/A.X", "X", "C", "A", D(0))]
    search = CycleSearch(RateGraph(markets))
    # A->B->C->A and A->C->B->A, each through either B/A market: 4 triangles, no 2-cycles.
    assert len(search) == 4
    assert set(search.lengths.tolist()) == {3}


def test_unquoted_market_takes_its_cycles_out_and_back_in() -> None:
    markets = [Market("BTC/USDT.X", "X", "BTC", "USDT", D("0.001")),
               Market("ETH/BTC.X", "X", "ETH", "BTC", D("0.001")),
               Market("ETH/USDT.X", "X", "ETH", "USDT", D("0.001"))]
    search = CycleSearch(RateGraph(markets))
    search.quote(0, 19_990.0, 20_000.0)
    search.quote(1, 0.0499, 0.05)
    [cyc] = search.quote(2, 1010.0, 1011.0)  # USDT->BTC->ETH->USDT: 1010/1000 = 1.01 gross
    assert [search.graph.edge_assets(e)[0] for e in canonical(search, int(cyc))] == [
        "BTC", "ETH", "USDT"]
    # 1% gross less three 0.1% fees: net product 1.01 x 0.999^3
    assert int(search.net_sums(np.array([cyc]))[0]) / 1e12 == pytest.approx(
        -math.log(1.01 * 0.999 ** 3), abs=1e-11)
    assert int(search.gross_sums(np.array([cyc]))[0]) / 1e12 == pytest.approx(
        -math.log(1.01), abs=1e-11)
    search.unquote(1)
    assert len(search.candidates()) == 0
    assert int(search.weights[2]) == int(search.weights[3]) == UNQUOTED
    assert search.quote(1, 0.0499, 0.05).tolist() == [cyc]


def test_cycle_sums_are_exact_sums_of_edge_weights() -> None:
    rng = np.random.default_rng(7)
    markets, quotes = random_markets(rng, 7)
    search = build(markets, list(quotes))
    for m in rng.integers(len(markets), size=300).tolist():
        mid = math.sqrt(quotes[m].bid * quotes[m].ask) * math.exp(rng.normal(0, 0.01))
        search.quote(m, mid * 0.999, mid * 1.001)
    recomputed = search.weights[search.cycles].sum(axis=1)
    assert np.array_equal(search.sums, recomputed)
