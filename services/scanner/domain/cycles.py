"""Negative 3- and 4-cycles of a rate graph, kept up to date one quote at a time. Pure.

Method: enumerate every simple directed cycle of 3 and 4 edges once per market set, index for
each edge the cycles that contain it, keep every cycle's weight sum, and on a quote change add
the two changed edges' weight deltas to the sums of their cycles only, then read which of those
are below zero.

Why this and not an incremental Bellman-Ford/SPFA from the changed edge:
- hop count is what we can trade: every hop pays a taker fee and a round of latency, so
  cycles longer than 4 hops are not wanted, and Bellman-Ford's cycles can be of any length;
- it is complete: every negative cycle through the changed edge is found, with its sum.
  Bellman-Ford gives one cycle per source (in the benchmark, 385 sources and 4,881 negative
  cycles gave 5 distinct ones). The scanner can rank them all and emit near misses (positive
  gross, negative net) the same way the two-leg scanner does;
- the work per quote is bounded and known in advance: O(cycles through the changed market),
  830 cycles on average over Binance's markets, 2,816 at most (BTC/USDT; see
  bench/negative_cycles.py), done in a handful of numpy calls, against O(V x E) for a
  relaxation pass that has to prove there is no cycle;
- sums are int64 fixed point (graph.SCALE), so incremental sums equal a full recomputation
  exactly, whatever the number of updates.
The price is memory and a start-up cost: Binance's 1,262 spot markets (385 assets) have
262,280 such cycles, about 34 MB of arrays and 0.3-0.5 s of enumeration, paid again only when
the market set changes.

Sums are of the fee-inclusive weights, the graph's -log(rate after fee): below zero is a
negative cycle. Each cycle's fee part is fixed per market set, so "positive before fees" (a
near miss at worst) is "sum below the fee part", which the scanner asks for instead.
"""
from __future__ import annotations

from array import array
from collections.abc import Iterable

import numpy as np

from services.scanner.domain.graph import UNQUOTED, RateGraph

CYCLE_LENGTHS = (3, 4)
_NONE = np.empty(0, dtype=np.int64)
_NONE.flags.writeable = False


def enumerate_cycles(src: np.ndarray, dst: np.ndarray, n_nodes: int,
                     lengths: Iterable[int] = CYCLE_LENGTHS) -> np.ndarray:
    """Every simple directed cycle of the given lengths (3 and/or 4), each exactly once.

    Returns an (n, 4) int32 array of edge ids in travel order, starting at the cycle's
    lowest-ranked node; 3-cycles are padded with the dummy edge id `len(src)`. Parallel edges
    (two markets between the same assets, e.g. on two venues) give distinct cycles.
    Nodes are ranked by degree, busiest last: a cycle is searched from its least connected node,
    which keeps the paths explored close to the cycles found.
    """
    wanted = set(lengths)
    if not wanted <= {3, 4}:
        raise ValueError(f"cycle lengths must be 3 and/or 4, got {sorted(wanted)}")
    n_edges = len(src)
    dummy = n_edges
    degree = np.bincount(src, minlength=n_nodes) + np.bincount(dst, minlength=n_nodes)
    order = np.argsort(degree, kind="stable")
    rank = np.empty(n_nodes, dtype=np.int64)
    rank[order] = np.arange(n_nodes)
    rsrc, rdst = rank[src].tolist(), rank[dst].tolist()
    out: list[list[tuple[int, int]]] = [[] for _ in range(n_nodes)]
    into: list[dict[int, list[int]]] = [{} for _ in range(n_nodes)]
    between: dict[tuple[int, int], list[int]] = {}
    for e in range(n_edges):
        a, b = rsrc[e], rdst[e]
        out[a].append((e, b))
        into[b].setdefault(a, []).append(e)
        between.setdefault((a, b), []).append(e)
    three, four = 3 in wanted, 4 in wanted
    flat = array("i")
    for s in range(n_nodes):
        back = {a: es for a, es in into[s].items() if a > s}  # edges closing a cycle at s
        if not back:
            continue
        for e1, a in out[s]:
            if a <= s:
                continue
            for e2, b in out[a]:
                if b <= s:
                    continue
                if three:
                    for e3 in back.get(b, ()):
                        flat.extend((e1, e2, e3, dummy))
                if not four:
                    continue
                if len(back) <= len(out[b]):
                    for c, e4s in back.items():
                        if c == a or c == b:
                            continue
                        for e3 in between.get((b, c), ()):
                            for e4 in e4s:
                                flat.extend((e1, e2, e3, e4))
                else:
                    for e3, c in out[b]:
                        if c == a or c <= s:
                            continue
                        for e4 in back.get(c, ()):
                            flat.extend((e1, e2, e3, e4))
    return np.frombuffer(flat, dtype=np.int32).reshape(-1, 4).copy()


class CycleSearch:
    """All 3- and 4-cycles of a `RateGraph`, their weight sums and per-edge membership.

    Build once per market set; then `quote` each book's top as it changes. Edge weights and
    cycle sums are net of taker fees (the graph's -log(rate after fee)); `fee_cost` is each
    cycle's fixed fee part, so sum - fee_cost is the gross (before-fee) sum.

    What `quote`, `full_search` and `candidates` return depends on `near_misses`:
    - False: the negative cycles (net sum < 0: profitable after fees at the touch);
    - True: every cycle with a positive gross edge at the touch (net sum < fee cost), which
      includes the negative ones: what a scanner that reports near misses depth-checks.
    Every method that returns cycles returns an int array of cycle ids (rows of `cycles`).
    """

    def __init__(self, graph: RateGraph, lengths: Iterable[int] = CYCLE_LENGTHS, *,
                 near_misses: bool = False) -> None:
        self.graph = graph
        self.near_misses = near_misses
        n_edges = graph.n_edges
        cycles = enumerate_cycles(graph.src, graph.dst, len(graph.assets), lengths)
        self.cycles = cycles
        self.lengths = np.where(cycles[:, 3] == graph.dummy_edge, 3, 4).astype(np.int8)
        self.weights = np.full(n_edges + 1, UNQUOTED, dtype=np.int64)
        self.weights[graph.dummy_edge] = 0
        # column k = the k-th edge of every cycle, contiguous: four takes beat one 2-D gather
        self._cols = [np.ascontiguousarray(cycles[:, k], dtype=np.int64) for k in range(4)]
        self.fee_cost = self._sum_over_cycles(graph.fee_weight)
        self.sums = self._sum_over_cycles(self.weights)
        # CSR: cycles through edge e are members[offsets[e]:offsets[e + 1]].
        flat = cycles.ravel()
        real = flat != graph.dummy_edge
        edge_of = flat[real]
        cycle_of = np.repeat(np.arange(len(cycles), dtype=np.int64), 4)[real]
        order = np.argsort(edge_of, kind="stable")
        self.members = cycle_of[order]
        counts = np.bincount(edge_of, minlength=n_edges)
        self.offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        # Per member, the sum below which its cycle is reported: aligned with `members`, so a
        # market's thresholds are a slice, not a gather.
        self._threshold = self.fee_cost[self.members] if near_misses else None
        self._off: list[int] = self.offsets.tolist()  # scalar reads are faster from a list
        self._w: list[int] = self.weights.tolist()
        self._fee: list[int] = graph.fee_weight.tolist()

    def __len__(self) -> int:
        return len(self.cycles)

    def through(self, edge: int) -> np.ndarray:
        """Ids of the cycles that use `edge`."""
        return self.members[self.offsets[edge]:self.offsets[edge + 1]]

    def quote(self, market: int, bid: float, ask: float) -> np.ndarray:
        """A new top of book for market `market` (needs 0 < bid, ask): the reported cycles
        (see the class docstring) among those through either of its two edges."""
        sell_w, buy_w = RateGraph.gross_weights(bid, ask)
        e = 2 * market
        fee = self._fee
        return self._set_market(market, sell_w + fee[e], buy_w + fee[e + 1])

    def unquote(self, market: int) -> None:
        """Market `market` has no usable book: its cycles can no longer be negative."""
        self._set_market(market, UNQUOTED, UNQUOTED)

    def _set_market(self, market: int, sell_w: int, buy_w: int) -> np.ndarray:
        # The two edges of a market are adjacent ids, so their members are one contiguous
        # run of the CSR: one gather and one scatter serve both.
        e = 2 * market
        off, w = self._off, self._w
        lo, mid, hi = off[e], off[e + 1], off[e + 2]
        idx = self.members[lo:hi]
        d_sell, d_buy = sell_w - w[e], buy_w - w[e + 1]
        sums = self.sums[idx]
        if d_sell or d_buy:
            w[e], w[e + 1] = sell_w, buy_w
            self.weights[e] = sell_w
            self.weights[e + 1] = buy_w
            if d_sell:
                sums[:mid - lo] += d_sell
            if d_buy:
                sums[mid - lo:] += d_buy
            self.sums[idx] = sums
        if not len(sums):
            return _NONE
        if self._threshold is None:
            if sums.min() >= 0:  # the usual case: cheaper than a boolean mask
                return _NONE
            return idx[sums < 0]
        hit = sums < self._threshold[lo:hi]
        return idx[hit] if hit.any() else _NONE

    def _sum_over_cycles(self, edge_values: np.ndarray) -> np.ndarray:
        c0, c1, c2, c3 = self._cols
        out = np.take(edge_values, c0)
        out += np.take(edge_values, c1)
        out += np.take(edge_values, c2)
        out += np.take(edge_values, c3)
        return out

    def _reported(self, sums: np.ndarray) -> np.ndarray:
        limit = self.fee_cost if self.near_misses else 0
        return np.flatnonzero(sums < limit)

    def full_search(self) -> np.ndarray:
        """Recompute every sum from the edge weights; all reported cycles."""
        self.sums = self._sum_over_cycles(self.weights)
        return self._reported(self.sums)

    def candidates(self) -> np.ndarray:
        """All reported cycles, from the sums as kept (no recomputation)."""
        return self._reported(self.sums)

    def net_sums(self, ids: np.ndarray) -> np.ndarray:
        """Fee-inclusive weight sums of cycles `ids` (< 0: profitable after taker fees)."""
        return self.sums[ids]

    def gross_sums(self, ids: np.ndarray) -> np.ndarray:
        """Before-fee weight sums of cycles `ids` (< 0: positive gross edge at the touch)."""
        return self.sums[ids] - self.fee_cost[ids]

    def net_negative(self, ids: np.ndarray) -> np.ndarray:
        """The cycles of `ids` that are negative after fees."""
        return ids[self.sums[ids] < 0] if len(ids) else ids

    def gross_negative(self, ids: np.ndarray) -> np.ndarray:
        """The cycles of `ids` with a positive gross edge at the touch."""
        return ids[self.gross_sums(ids) < 0] if len(ids) else ids

    def edges(self, cycle: int) -> tuple[int, ...]:
        """Edge ids of one cycle, in travel order (no padding)."""
        row = self.cycles[cycle]
        return tuple(int(e) for e in row[:int(self.lengths[cycle])])
