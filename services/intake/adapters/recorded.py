"""Opens the recorded files of `data/recorded/` as replay sources, one per instrument."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from libs.common.clock import Clock
from services.intake.adapters.fxcm_bars import read_fxcm_bars
from services.intake.adapters.hftbacktest_file import read_hftbacktest
from services.intake.domain.instruments import INSTRUMENTS, InstrumentSpec
from services.intake.domain.pipeline import IntakeInput

# services/intake/adapters/recorded.py -> repo root
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[3] / "data" / "recorded"


def recorded_sources(data_dir: str | Path = DEFAULT_DATA_DIR, *, clock: Clock,
                     specs: Iterable[InstrumentSpec] = INSTRUMENTS,
                     ) -> dict[str, Iterator[IntakeInput]]:
    """Lazy, time-ordered record iterators keyed by instrument id, ready for `merge_ordered`.

    Binance captures come in receive-time order; bars in close-time order. Missing files
    raise FileNotFoundError up front, before any replay starts.
    """
    root = Path(data_dir)
    out: dict[str, Iterator[IntakeInput]] = {}
    for spec in specs:
        paths = [root / f for f in spec.files]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise FileNotFoundError(f"{spec.instrument_id}: missing {missing}")
        if spec.market == "fx":
            out[spec.instrument_id] = read_fxcm_bars(paths[0], paths[1], clock=clock, spec=spec)
        else:
            out[spec.instrument_id] = read_hftbacktest(paths[0])
    return out
