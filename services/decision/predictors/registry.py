"""Model files (JSON) and the `Predictor` decision calls.

A model file holds its format version, the model version (name), the training-data hash
(sha256 of the input files + feature config), the feature config, the training scaler, the
parameters and the out-of-sample metrics. Loading recomputes or receives the expected hash and
refuses a mismatch with `ModelDataMismatch`: a model must not silently run on features built
differently from the ones it was trained on.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from libs.common.errors import ConfigurationError
from services.decision.predictors.baseline import LogisticRegression, LogVolRegression
from services.decision.predictors.features import (
    Bars,
    FeatureConfig,
    Scaler,
    data_hash,
    ewma_variance,
    feature_matrix,
    log_returns,
)

MODEL_FORMAT_VERSION = 1
DEFAULT_MODEL_DIR = Path("var/models")
ACTIVE_FILE = "active.json"


class ModelFileInvalid(ConfigurationError):
    """The model file is missing, unreadable or of an unknown format version."""


class ModelDataMismatch(ConfigurationError):
    """The model was trained on other data or another feature config than expected."""


@dataclass(slots=True)
class Predictor:
    """A loaded model: bars known so far -> P(up over the next `horizon` bars), vol forecast."""

    name: str
    kind: str
    data_hash: str
    feature_config: FeatureConfig
    scaler: Scaler
    direction: Any  # LogisticRegression | TorchDirectionModel
    volatility: LogVolRegression | None = None
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def min_bars(self) -> int:
        """Bars needed before `predict_up` can answer."""
        seq = self.feature_config.seq_len if self.kind != "baseline" else 1
        return self.feature_config.warmup + seq

    def _features(self, bars: Bars) -> np.ndarray:
        if len(bars) < self.min_bars:
            raise ValueError(f"need at least {self.min_bars} bars, got {len(bars)}")
        X, _ = feature_matrix(bars, self.feature_config)
        return self.scaler.transform(X)

    def predict_up(self, bars: Bars) -> float:
        """P(mid return over the next `horizon` bars > 0), as of the last bar given."""
        Z = self._features(bars)
        if self.kind == "baseline":
            return float(self.direction.predict_proba(Z[-1:])[0])
        window = Z[-self.feature_config.seq_len:][None, :, :]
        return float(self.direction.predict_proba(window)[0])

    def predict_vol(self, bars: Bars) -> float | None:
        """Forecast realized vol (log-return units) of the next `vol_horizon` bars, if modelled."""
        if self.volatility is None:
            return None
        Z = self._features(bars)
        mid = (bars.bid + bars.ask) / 2.0
        ewma = math.sqrt(float(ewma_variance(log_returns(mid))[-1])
                         * self.feature_config.vol_horizon)
        return float(self.volatility.predict(Z[-1:], np.array([ewma]))[0])


def save_model(path: Path, *, name: str, kind: str, data_hash: str, feature_config: FeatureConfig,
               scaler: Scaler, direction_params: dict[str, Any],
               volatility_params: dict[str, Any] | None, metrics: dict[str, Any]) -> Path:
    """Write one model file (creating its folder)."""
    doc = {"format_version": MODEL_FORMAT_VERSION, "name": name, "kind": kind,
           "data_hash": data_hash, "feature_config": feature_config.to_dict(),
           "scaler": {"mean": scaler.mean.tolist(), "std": scaler.std.tolist()},
           "direction": direction_params, "volatility": volatility_params, "metrics": metrics}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1))
    return path


def load_predictor(path: str | Path, *, data_paths: list[Path] | None = None,
                   expected_hash: str | None = None) -> Predictor:
    """Load a model file, refusing it if its data hash differs from the expected one.

    Give `data_paths` (the files the model should have been trained on; the hash is recomputed
    with the file's own feature config) or `expected_hash`. With neither, no check is made.
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ModelFileInvalid(f"cannot read model file {path}: {e}") from e
    if not isinstance(doc, dict) or doc.get("format_version") != MODEL_FORMAT_VERSION:
        raise ModelFileInvalid(f"{path}: unsupported format_version "
                               f"{doc.get('format_version') if isinstance(doc, dict) else None!r}"
                               f" (expected {MODEL_FORMAT_VERSION})")
    try:
        cfg = FeatureConfig(**doc["feature_config"])
        stored = str(doc["data_hash"])
        if data_paths is not None:
            expected_hash = data_hash(list(data_paths), cfg)
        if expected_hash is not None and expected_hash != stored:
            raise ModelDataMismatch(
                f"{path}: trained on data/feature hash {stored[:12]}…, expected "
                f"{expected_hash[:12]}…; retrain with "
                f"`python -m services.decision.predictors.train` on this data")
        kind = str(doc["kind"])
        if kind == "baseline":
            direction: Any = LogisticRegression.from_params(doc["direction"])
        else:
            from services.decision.predictors.torch_models import TorchDirectionModel

            direction = TorchDirectionModel.from_params(doc["direction"])
        vol = doc.get("volatility")
        return Predictor(
            name=str(doc["name"]), kind=kind, data_hash=stored, feature_config=cfg,
            scaler=Scaler(np.asarray(doc["scaler"]["mean"], dtype=float),
                          np.asarray(doc["scaler"]["std"], dtype=float)),
            direction=direction,
            volatility=LogVolRegression.from_params(vol) if vol else None,
            metrics=dict(doc.get("metrics") or {}))
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFileInvalid(f"{path}: malformed model file: {e!r}") from e


def load_active(model_dir: Path = DEFAULT_MODEL_DIR, *, data_paths: list[Path] | None = None,
                ) -> Predictor:
    """Load the model `train` marked active in `model_dir/active.json`."""
    marker = model_dir / ACTIVE_FILE
    try:
        name = json.loads(marker.read_text())["model_file"]
    except (OSError, ValueError, KeyError) as e:
        raise ModelFileInvalid(f"no usable {marker}: {e}") from e
    return load_predictor(model_dir / name, data_paths=data_paths)
