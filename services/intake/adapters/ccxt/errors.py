"""ccxt's exceptions sorted into `libs.common.errors` by how the caller should react.

Only the ccxt adapter imports this; nothing outside the adapter ever sees a ccxt exception.
"""
from __future__ import annotations

from collections.abc import Iterable

import ccxt

from libs.common.errors import (
    ConfigurationError,
    InsufficientFunds,
    InvalidOrder,
    OperationalError,
    RateLimited,
    SequenceGap,
    TemporaryError,
    TrifectaError,
    ValidationFailed,
)

# Most specific first: ccxt's classes nest (ChecksumError < InvalidNonce < NetworkError ...).
_TABLE: tuple[tuple[type[Exception], type[TrifectaError]], ...] = (
    (ccxt.RateLimitExceeded, RateLimited),
    (ccxt.DDoSProtection, RateLimited),
    (ccxt.InvalidNonce, SequenceGap),  # includes ChecksumError: the book must be resynced
    (ccxt.NetworkError, TemporaryError),  # RequestTimeout, ExchangeNotAvailable, OnMaintenance
    (ccxt.BadResponse, ValidationFailed),  # the venue's payload did not parse
    (ccxt.AuthenticationError, ConfigurationError),  # wrong or missing keys, permissions
    (ccxt.BadSymbol, ConfigurationError),
    (ccxt.NotSupported, ConfigurationError),
    (ccxt.ArgumentsRequired, ConfigurationError),
    (ccxt.InsufficientFunds, InsufficientFunds),
    (ccxt.InvalidOrder, InvalidOrder),
    (ccxt.BadRequest, ConfigurationError),  # we asked for something the venue refuses
    (ccxt.ExchangeError, OperationalError),
)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every non-empty secret replaced by '***' (keys never reach logs or events)."""
    for s in secrets:
        if s:
            text = text.replace(s, "***")
    return text


def translate(venue: str, error: BaseException, secrets: Iterable[str] = ()) -> TrifectaError:
    """Our error for a ccxt (or network) exception, naming the venue; the caller raises it
    `from` the original. Unknown exceptions become OperationalError."""
    kind: type[TrifectaError] = OperationalError
    for ccxt_type, ours in _TABLE:
        if isinstance(error, ccxt_type):
            kind = ours
            break
    else:
        if isinstance(error, (ConnectionError, TimeoutError)):
            kind = TemporaryError
    detail = scrub(str(error), tuple(secrets))[:500]
    return kind(f"{venue}: {type(error).__name__}: {detail}")
