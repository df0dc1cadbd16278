"""Errors shared by services, sorted by how a caller should react."""
from __future__ import annotations


class TrifectaError(Exception):
    """Base of every error raised by Trifecta code."""


class ConfigurationError(TrifectaError):
    """Settings are wrong; stop at start-up with a clear message."""


class ValidationFailed(TrifectaError):
    """An external input did not match the contract; it goes to the dead-letter stream."""


class TemporaryError(TrifectaError):
    """Retry with backoff."""


class RateLimited(TemporaryError):
    """The venue asked us to slow down."""


class OperationalError(TrifectaError):
    """Stop and alert."""


class InvalidOrder(TrifectaError):
    """The venue or the paper venue refuses this order."""


class InsufficientFunds(InvalidOrder):
    """Not enough balance for the order."""


class SequenceGap(TrifectaError):
    """A book diff does not follow the previous one; the book must be resynced."""


class IllegalTransition(TrifectaError):
    """An order state machine was asked for a transition its table does not allow."""
