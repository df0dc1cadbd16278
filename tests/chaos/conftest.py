"""Chaos tests: the whole pipeline under process kills; registers the `chaos` marker."""
from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Register `chaos` here (not in pyproject) so `-m chaos` / `-m 'not chaos'` select them."""
    config.addinivalue_line(
        "markers", "chaos: whole-pipeline runs that kill and restart services (slow)")
