"""A fake MetaTrader 5 terminal: the `MetaTrader5` package in this folder.

Put this folder on `PYTHONPATH` and `import MetaTrader5` gets the fake (that is how the mt5linux
server runs it: `PYTHONPATH=services/intake/simulators/fake_mt5 python -m mt5linux`). In-process
tests import it as `services.intake.simulators.fake_mt5.MetaTrader5`.
"""
from __future__ import annotations

from pathlib import Path

FAKE_MT5_DIR = Path(__file__).resolve().parent  # the folder to put on PYTHONPATH
