"""The event contract: every event survives a JSON round trip exactly; bad input is refused."""
from __future__ import annotations

import json
from decimal import Decimal

import pydantic
import pytest

from libs.common.errors import ValidationFailed
from libs.common.events import EVENT_TYPES, OrderFilled, decode, encode
from libs.common.testing.factories import STUBS, filled, forex_signal


def test_every_event_type_has_a_stub() -> None:
    assert set(STUBS) == set(EVENT_TYPES)


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=lambda c: c.__name__)
def test_json_round_trip_is_exact(cls: type) -> None:
    event = STUBS[cls]()
    assert type(event) is cls
    back = decode(encode(event))
    assert type(back) is cls
    assert back == event
    assert encode(back) == encode(event)


def test_money_travels_as_strings_never_floats() -> None:
    doc = json.loads(encode(filled(price=Decimal("61837.64000000"))))
    assert doc["price"] == "61837.64000000"
    assert doc["fee"] == "0.6183764"
    assert decode(json.dumps(doc)).price == Decimal("61837.64000000")  # type: ignore[attr-defined]


def test_first_event_of_a_chain_is_its_own_correlation_root_and_causes_the_next() -> None:
    root = forex_signal()
    assert root.correlation_id == root.event_id and root.causation_id is None
    child = filled(**root.caused())
    assert child.correlation_id == root.event_id and child.causation_id == root.event_id


def test_unknown_schema_version_is_refused_with_reason() -> None:
    doc = json.loads(encode(filled()))
    doc["schema_version"] = 2
    with pytest.raises(ValidationFailed, match="schema_version 2 not supported"):
        decode(json.dumps(doc))


def test_unknown_field_and_unknown_kind_are_refused() -> None:
    doc = json.loads(encode(filled()))
    with pytest.raises(ValidationFailed, match="surprise: Extra inputs are not permitted"):
        decode(json.dumps(doc | {"surprise": 1}))
    with pytest.raises(ValidationFailed):
        decode(json.dumps(doc | {"kind": "order.teleported"}))
    with pytest.raises(ValidationFailed):
        decode(b"\\xff not json")


def test_events_are_immutable() -> None:
    e = filled()
    with pytest.raises(pydantic.ValidationError):
        e.price = Decimal(1)  # type: ignore[misc]
    assert isinstance(e, OrderFilled)
