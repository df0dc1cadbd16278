"""ccxt exceptions sorted into ours by how to react."""
from __future__ import annotations

import pytest

from libs.common.errors import (
    ConfigurationError,
    InsufficientFunds,
    OperationalError,
    RateLimited,
    SequenceGap,
    TemporaryError,
    ValidationFailed,
)

ccxt = pytest.importorskip("ccxt")

from services.intake.adapters.ccxt.errors import scrub, translate  # noqa: E402


@pytest.mark.parametrize(("theirs", "ours"), [
    (ccxt.RateLimitExceeded, RateLimited),
    (ccxt.DDoSProtection, RateLimited),
    (ccxt.ChecksumError, SequenceGap),
    (ccxt.InvalidNonce, SequenceGap),
    (ccxt.RequestTimeout, TemporaryError),
    (ccxt.ExchangeNotAvailable, TemporaryError),
    (ccxt.NetworkError, TemporaryError),
    (ccxt.BadResponse, ValidationFailed),
    (ccxt.AuthenticationError, ConfigurationError),
    (ccxt.BadSymbol, ConfigurationError),
    (ccxt.NotSupported, ConfigurationError),
    (ccxt.InsufficientFunds, InsufficientFunds),
    (ccxt.ExchangeError, OperationalError),
])
def test_each_ccxt_error_has_its_reaction(theirs: type[Exception], ours: type[Exception]) -> None:
    err = translate("BINANCE", theirs("boom"))
    assert type(err) is ours
    assert str(err).startswith(f"BINANCE: {theirs.__name__}: boom")


def test_plain_connection_errors_are_temporary_and_unknown_ones_operational() -> None:
    assert type(translate("X", ConnectionResetError("reset"))) is TemporaryError
    assert type(translate("X", KeyError("k"))) is OperationalError


def test_secrets_are_scrubbed_from_error_text() -> None:
    err = translate("OKX", ccxt.AuthenticationError("bad key abc123 sig"), ("abc123", ""))
    assert "abc123" not in str(err) and "***" in str(err)
    assert scrub("a s3cret b", ["s3cret"]) == "a *** b"
