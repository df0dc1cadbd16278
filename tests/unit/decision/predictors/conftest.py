"""A short slice of the recorded FXCM GBP/USD bars (the first rows of both real files)."""
from __future__ import annotations

from pathlib import Path

import pytest

from services.decision.predictors.features import FXCM_ASK, FXCM_BID, Bars, load_fxcm

N_ROWS = 1500


def _head(src: Path, dst: Path, n: int) -> Path:
    lines = src.read_text().splitlines(keepends=True)
    dst.write_text("".join(lines[: n + 1]))  # header + n rows
    return dst


@pytest.fixture(scope="session")
def fxcm_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(bid, ask) CSVs holding the first N_ROWS recorded minutes."""
    d = tmp_path_factory.mktemp("fxcm")
    return (_head(FXCM_BID, d / FXCM_BID.name, N_ROWS),
            _head(FXCM_ASK, d / FXCM_ASK.name, N_ROWS))


@pytest.fixture(scope="session")
def fxcm_bars(fxcm_files: tuple[Path, Path]) -> Bars:
    """The slice, read through intake's FXCM reader."""
    return load_fxcm(*fxcm_files)
