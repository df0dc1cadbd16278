from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from services.decision.predictors import train  # noqa: E402
from services.decision.predictors.features import Bars, build_dataset  # noqa: E402
from services.decision.predictors.registry import load_predictor  # noqa: E402
from services.decision.predictors.torch_models import (  # noqa: E402
    TorchConfig,
    TorchDirectionModel,
)


def _train(kind: str, files: tuple[Path, Path], out: Path) -> Path:
    bid, ask = files
    code = train.main(["--model", kind, "--bid", str(bid), "--ask", str(ask),
                       "--out", str(out), "--epochs", "1"])
    assert code == 0
    return out / f"{kind}.json"


@pytest.mark.parametrize("kind", ["lstm", "transformer"])
def test_torch_model_trains_saves_and_reloads(kind: str, fxcm_files: tuple[Path, Path],
                                              fxcm_bars: Bars, tmp_path: Path) -> None:
    path = _train(kind, fxcm_files, tmp_path)
    pred = load_predictor(path, data_paths=list(fxcm_files))
    assert pred.kind == kind
    cfg = pred.feature_config
    ds = build_dataset(fxcm_bars, cfg)
    t = int(ds.index[-1])
    p = pred.predict_up(fxcm_bars.head(t + 1))
    window = pred.scaler.transform(ds.X[-cfg.seq_len:])[None]
    assert p == pytest.approx(float(pred.direction.predict_proba(window)[0]), abs=1e-7)
    assert 0.0 < p < 1.0
    metrics = json.loads(path.read_text())["metrics"]
    assert 0.0 <= metrics["test_accuracy"] <= 1.0


@pytest.mark.parametrize("kind", ["lstm", "transformer"])
def test_torch_training_is_deterministic(kind: str) -> None:
    # a learnable toy task: y = sign of the sum of the last step's features
    rng = np.random.default_rng(5)
    S = rng.normal(size=(1000, 8, 3))
    y = (S[:, -1].sum(axis=1) > 0).astype(float)
    cfg = TorchConfig(hidden=8, epochs=4, batch_size=64, lr=1e-2, seed=1)
    a = TorchDirectionModel(kind, 3, 8, cfg)
    hist = a.fit(S[:800], y[:800], S[800:], y[800:])
    b = TorchDirectionModel(kind, 3, 8, cfg)
    b.fit(S[:800], y[:800], S[800:], y[800:])
    np.testing.assert_array_equal(a.predict_proba(S[800:]), b.predict_proba(S[800:]))
    assert min(hist) < 0.6  # it learns something the toy task holds
    again = TorchDirectionModel.from_params(json.loads(json.dumps(a.params())))
    np.testing.assert_allclose(again.predict_proba(S[800:]), a.predict_proba(S[800:]),
                               atol=1e-6)
