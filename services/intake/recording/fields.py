"""Validation of venue payload fields: JSON objects, decimals, price levels. Pure.

Every helper raises `FieldInvalid` naming the field and what was wrong; parsers turn it into a
`BadLine` for the message's file and line. Numbers become `Decimal` from their text, never via a
binary float.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from libs.common.errors import ValidationFailed

_LIMIT = Decimal("1e15")  # no price or size we read comes near; also rejects Infinity
_DECODER = json.JSONDecoder(parse_float=Decimal)

Level = tuple[Decimal, Decimal]


class FieldInvalid(ValidationFailed):
    """A payload field is missing or has the wrong shape or value."""


def json_value(payload: str | bytes) -> Any:
    """Decode JSON with fractions as Decimal; FieldInvalid if it is not JSON."""
    try:
        text = payload.decode("utf-8") if isinstance(payload, bytes) else payload
        return _DECODER.decode(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise FieldInvalid(f"invalid JSON: {e}") from None


def json_object(payload: str | bytes) -> dict[str, Any]:
    value = json_value(payload)
    if not isinstance(value, dict):
        raise FieldInvalid("JSON is not an object")
    return value


def obj(d: Mapping[str, Any], key: str) -> dict[str, Any]:
    v = d.get(key)
    if not isinstance(v, dict):
        raise FieldInvalid(f"field {key!r} must be an object")
    return v


def string(d: Mapping[str, Any], key: str) -> str:
    v = d.get(key)
    if not isinstance(v, str) or not v:
        raise FieldInvalid(f"field {key!r} must be a non-empty string, got {v!r}"[:200])
    return v


def integer(d: Mapping[str, Any], key: str) -> int:
    """A non-negative integer, given as a JSON integer or a string of digits."""
    v = d.get(key)
    if isinstance(v, str) and v.isascii() and v.isdigit():
        return int(v)
    if type(v) is not int or v < 0:
        raise FieldInvalid(f"field {key!r} must be a non-negative integer, got {v!r}"[:200])
    return v


def decimal(value: Any, what: str, *, positive: bool = False) -> Decimal:
    """A finite Decimal in [0, 1e15) (> 0 when `positive`) from a string or JSON number."""
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise FieldInvalid(f"{what} must be a decimal string, got {value!r}"[:200])
    try:
        x = Decimal(value)
        ok = (0 < x < _LIMIT) if positive else (0 <= x < _LIMIT)
    except InvalidOperation:  # not a number, or NaN in the comparison
        raise FieldInvalid(f"{what} is not a number: {value!r}"[:200]) from None
    if not ok:
        raise FieldInvalid(f"{what} out of range: {value!r}"[:200])
    return x


def price(value: Any, what: str) -> Decimal:
    return decimal(value, what, positive=True)


def level(raw: Any, what: str) -> Level:
    """`[price, size, ...]` -> (price > 0, size >= 0); extra items (Kraken's time) ignored."""
    if not isinstance(raw, (list, tuple)) or len(raw) < 2:
        raise FieldInvalid(f"{what} level must be [price, size], got {raw!r}"[:200])
    return price(raw[0], f"{what} price"), decimal(raw[1], f"{what} size")


def levels(d: Mapping[str, Any], key: str) -> tuple[Level, ...]:
    raw = d.get(key)
    if not isinstance(raw, list):
        raise FieldInvalid(f"field {key!r} must be a list of [price, size]")
    return tuple(level(x, key) for x in raw)


def check_not_crossed(bid: Decimal, ask: Decimal, what: str) -> None:
    """A quote with bid above ask is not a market state; reject it."""
    if bid > ask:
        raise FieldInvalid(f"{what}: bid {bid} above ask {ask}")
