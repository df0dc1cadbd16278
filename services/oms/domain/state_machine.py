"""The order state machine as an explicit `{(status, trigger): next_status}` table.

An order is born PENDING (the OMS heard of it before execution acknowledged it). Execution's
`OrderSubmitted` is the SUBMIT trigger (PENDING -> OPEN); fills move it to PARTIAL or FILLED;
`OrderClosed` ends it CANCELLED, REJECTED or EXPIRED. REJECTED is reachable from OPEN too: a
venue may refuse an order after acknowledging it (the paper venue does when it has no book
at the due time). Terminal states have no exits, so a late or duplicated report can never
reopen an order; asking for a transition the table lacks raises.
"""
from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from libs.common.enums import OrderStatus
from libs.common.errors import IllegalTransition


class OrderTrigger(StrEnum):
    """What happened to an order, as reported by execution."""

    SUBMIT = "SUBMIT"  # OrderSubmitted: the venue accepted the order
    FILL_PARTIAL = "FILL_PARTIAL"  # OrderFilled with status PARTIAL
    FILL_FULL = "FILL_FULL"  # OrderFilled with status FILLED
    CANCEL = "CANCEL"  # OrderClosed CANCELLED (e.g. IOC remainder)
    REJECT = "REJECT"  # OrderClosed REJECTED
    EXPIRE = "EXPIRE"  # OrderClosed EXPIRED


_S, _T = OrderStatus, OrderTrigger

ORDER_STATE_TABLE: Mapping[tuple[OrderStatus, OrderTrigger], OrderStatus] = MappingProxyType({
    (_S.PENDING, _T.SUBMIT): _S.OPEN,
    (_S.PENDING, _T.CANCEL): _S.CANCELLED,
    (_S.PENDING, _T.REJECT): _S.REJECTED,
    (_S.PENDING, _T.EXPIRE): _S.EXPIRED,
    (_S.OPEN, _T.FILL_PARTIAL): _S.PARTIAL,
    (_S.OPEN, _T.FILL_FULL): _S.FILLED,
    (_S.OPEN, _T.CANCEL): _S.CANCELLED,
    (_S.OPEN, _T.REJECT): _S.REJECTED,
    (_S.OPEN, _T.EXPIRE): _S.EXPIRED,
    (_S.PARTIAL, _T.FILL_PARTIAL): _S.PARTIAL,
    (_S.PARTIAL, _T.FILL_FULL): _S.FILLED,
    (_S.PARTIAL, _T.CANCEL): _S.CANCELLED,
    (_S.PARTIAL, _T.EXPIRE): _S.EXPIRED,
})

TERMINAL_STATUSES: frozenset[OrderStatus] = frozenset(
    {_S.FILLED, _S.CANCELLED, _S.REJECTED, _S.EXPIRED})

# The trigger each closing status stands for, as reported by OrderClosed.
CLOSE_TRIGGERS: Mapping[OrderStatus, OrderTrigger] = MappingProxyType({
    _S.CANCELLED: _T.CANCEL, _S.REJECTED: _T.REJECT, _S.EXPIRED: _T.EXPIRE,
})

# The trigger a fill stands for, from the order status the fill reports.
FILL_TRIGGERS: Mapping[OrderStatus, OrderTrigger] = MappingProxyType({
    _S.PARTIAL: _T.FILL_PARTIAL, _S.FILLED: _T.FILL_FULL,
})


class IllegalOrderTransition(IllegalTransition):
    """The table has no entry for (status, trigger); carries both for the dead-letter reason."""

    def __init__(self, status: OrderStatus, trigger: OrderTrigger) -> None:
        super().__init__(f"order in state {status.value} cannot take trigger {trigger.value}")
        self.status = status
        self.trigger = trigger


def next_status(status: OrderStatus, trigger: OrderTrigger) -> OrderStatus:
    """The status after `trigger`, or raise IllegalOrderTransition."""
    try:
        return ORDER_STATE_TABLE[(status, trigger)]
    except KeyError:
        raise IllegalOrderTransition(status, trigger) from None


class OrderStateMachine:
    """One order's status, moved only through ORDER_STATE_TABLE."""

    def __init__(self, status: OrderStatus = OrderStatus.PENDING) -> None:
        self._status = status

    @property
    def status(self) -> OrderStatus:
        return self._status

    @property
    def is_terminal(self) -> bool:
        return self._status in TERMINAL_STATUSES

    def apply(self, trigger: OrderTrigger) -> OrderStatus:
        """Move by `trigger`; on an illegal one raise and leave the status unchanged."""
        self._status = next_status(self._status, trigger)
        return self._status
