from __future__ import annotations

import itertools

import pytest

from libs.common.enums import OrderStatus as S
from libs.common.errors import IllegalTransition
from services.oms.domain.state_machine import (
    ORDER_STATE_TABLE,
    TERMINAL_STATUSES,
    IllegalOrderTransition,
    OrderStateMachine,
    next_status,
)
from services.oms.domain.state_machine import OrderTrigger as T

LEGAL = [
    (S.PENDING, T.SUBMIT, S.OPEN),
    (S.PENDING, T.CANCEL, S.CANCELLED),
    (S.PENDING, T.REJECT, S.REJECTED),
    (S.PENDING, T.EXPIRE, S.EXPIRED),
    (S.OPEN, T.FILL_PARTIAL, S.PARTIAL),
    (S.OPEN, T.FILL_FULL, S.FILLED),
    (S.OPEN, T.CANCEL, S.CANCELLED),
    (S.OPEN, T.REJECT, S.REJECTED),
    (S.OPEN, T.EXPIRE, S.EXPIRED),
    (S.PARTIAL, T.FILL_PARTIAL, S.PARTIAL),
    (S.PARTIAL, T.FILL_FULL, S.FILLED),
    (S.PARTIAL, T.CANCEL, S.CANCELLED),
    (S.PARTIAL, T.EXPIRE, S.EXPIRED),
]


def test_table_is_exactly_the_documented_transitions() -> None:
    assert dict(ORDER_STATE_TABLE) == {(s, t): n for s, t, n in LEGAL}


@pytest.mark.parametrize(("status", "trigger", "expected"), LEGAL)
def test_legal_transition_moves_to_the_next_status(status: S, trigger: T, expected: S) -> None:
    machine = OrderStateMachine(status)
    assert machine.apply(trigger) is expected
    assert machine.status is expected


ILLEGAL = [(s, t) for s, t in itertools.product(S, T) if (s, t) not in ORDER_STATE_TABLE]


@pytest.mark.parametrize(("status", "trigger"), ILLEGAL)
def test_illegal_transition_raises_naming_state_and_trigger(status: S, trigger: T) -> None:
    machine = OrderStateMachine(status)
    with pytest.raises(IllegalOrderTransition) as info:
        machine.apply(trigger)
    assert isinstance(info.value, IllegalTransition)
    assert (info.value.status, info.value.trigger) == (status, trigger)
    assert status.value in str(info.value) and trigger.value in str(info.value)
    assert machine.status is status  # unchanged


@pytest.mark.parametrize("terminal", sorted(TERMINAL_STATUSES))
def test_terminal_states_have_no_exits(terminal: S) -> None:
    assert not [t for t in T if (terminal, t) in ORDER_STATE_TABLE]
    assert OrderStateMachine(terminal).is_terminal


def test_terminal_states_are_filled_cancelled_rejected_expired() -> None:
    assert TERMINAL_STATUSES == {S.FILLED, S.CANCELLED, S.REJECTED, S.EXPIRED}


def test_every_live_state_can_end() -> None:
    for status in set(S) - TERMINAL_STATUSES:
        assert {next_status(status, t) for t in T if (status, t) in ORDER_STATE_TABLE} & (
            TERMINAL_STATUSES)


def test_fill_before_submit_and_reject_after_partial_fill_are_illegal() -> None:
    with pytest.raises(IllegalTransition):
        next_status(S.PENDING, T.FILL_FULL)
    with pytest.raises(IllegalTransition):
        next_status(S.PARTIAL, T.REJECT)
    with pytest.raises(IllegalTransition):
        next_status(S.OPEN, T.SUBMIT)


def test_new_order_starts_pending() -> None:
    assert OrderStateMachine().status is S.PENDING
