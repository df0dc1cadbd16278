"""The fake MetaTrader5 module, reset for each test (it keeps one terminal per process)."""
from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import pytest


@pytest.fixture
def mt5() -> Iterator[ModuleType]:
    from services.intake.simulators.fake_mt5 import MetaTrader5

    MetaTrader5.simulator.configure(speed=0)
    yield MetaTrader5
    MetaTrader5.simulator.configure(speed=0)
