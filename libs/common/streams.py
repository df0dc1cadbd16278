"""Stream names and who reads them. Every service creates every group here at start-up,
at id 0, before it publishes anything: a group created after entries were added at `$`
would never see them (STACK_NOTES pitfall 1)."""
from __future__ import annotations

MD_BOOKS = "md.books"
MD_BARS = "md.bars"
MD_QUOTES = "md.quotes"
MD_SIGNALS = "md.signals"
MD_INSTRUMENTS = "md.instruments"  # markets metadata, on change
MD_POOLS = "md.pools"  # DEX pool states
MD_TRADES = "md.trades"  # venue trade tapes
OPPORTUNITIES = "opportunities"
ORDERS_INTENTS = "orders.intents"
DECISIONS_REJECTED = "decisions.rejected"
ORDERS_REPORTS = "orders.reports"
OMS_TRADES = "oms.trades"
OMS_POSITIONS = "oms.positions"
LEARNING_POLICIES = "learning.policies"
DECISIONS_ALLOCATIONS = "decisions.allocations"  # the governor's capital allocation
CONTROL = "control"
DLQ = "dlq"

ALL_STREAMS = (
    MD_BOOKS, MD_BARS, MD_QUOTES, MD_SIGNALS, MD_INSTRUMENTS, MD_POOLS, MD_TRADES,
    OPPORTUNITIES, ORDERS_INTENTS, DECISIONS_REJECTED, ORDERS_REPORTS, OMS_TRADES, OMS_POSITIONS,
    LEARNING_POLICIES, DECISIONS_ALLOCATIONS, CONTROL, DLQ,
)

# consumer group (= service) -> streams it reads
SUBSCRIPTIONS: dict[str, tuple[str, ...]] = {
    "scanner": (MD_BOOKS, MD_BARS, MD_INSTRUMENTS, MD_QUOTES, MD_POOLS),
    "decision": (OPPORTUNITIES, OMS_POSITIONS, OMS_TRADES, LEARNING_POLICIES, CONTROL,
                 MD_INSTRUMENTS),
    "execution": (ORDERS_INTENTS, MD_BOOKS, MD_BARS, MD_TRADES, CONTROL),
    "oms": (ORDERS_INTENTS, ORDERS_REPORTS, MD_BARS),
    "learning": (OMS_TRADES, DECISIONS_REJECTED, OPPORTUNITIES, ORDERS_INTENTS, ORDERS_REPORTS),
}

# Approximate MAXLEN per stream (XADD MAXLEN ~). Market data is the bulk; the order trail is
# kept long enough to rebuild OMS state and to audit a whole replay.
MAXLEN: dict[str, int] = {MD_BOOKS: 200_000, MD_BARS: 100_000, MD_QUOTES: 200_000,
                          MD_POOLS: 100_000, MD_TRADES: 200_000}
DEFAULT_MAXLEN = 1_000_000
