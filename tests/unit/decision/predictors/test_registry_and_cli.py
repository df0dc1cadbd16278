from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from services.decision.predictors import train
from services.decision.predictors.features import (
    Bars,
    FeatureConfig,
    Scaler,
    build_dataset,
    chronological_split,
    data_hash,
)
from services.decision.predictors.registry import (
    ModelDataMismatch,
    ModelFileInvalid,
    load_active,
    load_predictor,
)


@pytest.fixture(scope="module")
def trained(fxcm_files: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Model folder after `train --model baseline` on the recorded slice."""
    out = tmp_path_factory.mktemp("models")
    bid, ask = fxcm_files
    code = train.main(["--model", "baseline", "--data", "fxcm", "--bid", str(bid),
                       "--ask", str(ask), "--out", str(out)])
    assert code == 0
    return out


def test_model_file_carries_version_hash_and_metrics(trained: Path,
                                                     fxcm_files: tuple[Path, Path]) -> None:
    doc = json.loads((trained / "baseline.json").read_text())
    assert doc["format_version"] == 1
    assert doc["name"] == "baseline-v1"
    assert doc["data_hash"] == data_hash(list(fxcm_files), FeatureConfig())
    assert 0.0 <= doc["metrics"]["test_accuracy"] <= 1.0
    assert doc["metrics"]["test_rows"] > 0


def test_loaded_predictor_matches_the_training_features(trained: Path, fxcm_bars: Bars,
                                                        fxcm_files: tuple[Path, Path]) -> None:
    pred = load_predictor(trained / "baseline.json", data_paths=list(fxcm_files))
    cfg = pred.feature_config
    ds = build_dataset(fxcm_bars, cfg)
    split = chronological_split(len(ds), embargo=cfg.lookahead)
    scaler = Scaler.fit(ds.take(split.train).X)
    np.testing.assert_allclose(pred.scaler.mean, scaler.mean)
    t = int(ds.index[-1])  # the last labelled bar, as decision would see it live
    live = pred.predict_up(fxcm_bars.head(t + 1))
    offline = pred.direction.predict_proba(scaler.transform(ds.X[-1:]))[0]
    assert live == pytest.approx(offline)
    assert 0.0 < live < 1.0
    vol = pred.predict_vol(fxcm_bars.head(t + 1))
    assert vol is not None and vol > 0


def test_load_refuses_other_data(trained: Path, fxcm_files: tuple[Path, Path],
                                 tmp_path: Path) -> None:
    bid, ask = fxcm_files
    other = tmp_path / bid.name
    lines = bid.read_text().splitlines(keepends=True)
    other.write_text("".join(lines[:-1]))  # one bar fewer
    with pytest.raises(ModelDataMismatch, match="retrain"):
        load_predictor(trained / "baseline.json", data_paths=[other, ask])
    with pytest.raises(ModelDataMismatch):
        load_predictor(trained / "baseline.json", expected_hash="0" * 64)


def test_load_refuses_an_edited_feature_config(trained: Path, fxcm_files: tuple[Path, Path],
                                               tmp_path: Path) -> None:
    doc = json.loads((trained / "baseline.json").read_text())
    doc["feature_config"]["horizon"] = 10
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(doc))
    with pytest.raises(ModelDataMismatch):
        load_predictor(edited, data_paths=list(fxcm_files))


def test_load_refuses_unknown_format_and_garbage(trained: Path, tmp_path: Path) -> None:
    doc = json.loads((trained / "baseline.json").read_text())
    doc["format_version"] = 99
    (tmp_path / "v99.json").write_text(json.dumps(doc))
    with pytest.raises(ModelFileInvalid, match="format_version"):
        load_predictor(tmp_path / "v99.json")
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(ModelFileInvalid):
        load_predictor(tmp_path / "junk.json")
    with pytest.raises(ModelFileInvalid):
        load_predictor(tmp_path / "missing.json")


def test_predictor_needs_enough_bars(trained: Path, fxcm_bars: Bars) -> None:
    pred = load_predictor(trained / "baseline.json")
    with pytest.raises(ValueError, match="at least"):
        pred.predict_up(fxcm_bars.head(pred.min_bars - 1))


def test_active_marker_points_at_the_baseline(trained: Path) -> None:
    assert load_active(trained).kind == "baseline"


def test_torch_model_without_torch_exits_2(monkeypatch: pytest.MonkeyPatch,
                                          fxcm_files: tuple[Path, Path], tmp_path: Path) -> None:
    monkeypatch.setattr(train, "torch_available", lambda: False)
    bid, ask = fxcm_files
    for model in ("lstm", "transformer"):
        code = train.main(["--model", model, "--bid", str(bid), "--ask", str(ask),
                           "--out", str(tmp_path)])
        assert code == 2
    assert not list(tmp_path.iterdir())


def test_all_without_torch_trains_only_the_baseline(monkeypatch: pytest.MonkeyPatch,
                                                   fxcm_files: tuple[Path, Path],
                                                   tmp_path: Path) -> None:
    monkeypatch.setattr(train, "torch_available", lambda: False)
    bid, ask = fxcm_files
    code = train.main(["--model", "all", "--bid", str(bid), "--ask", str(ask),
                       "--out", str(tmp_path)])
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["active.json", "baseline.json"]
    active = json.loads((tmp_path / "active.json").read_text())
    assert active["model_file"] == "baseline.json"
    assert set(active["test_beats_naive"]) == {"baseline"}


def test_bad_arguments_and_missing_data_exit_2(tmp_path: Path) -> None:
    assert train.main(["--model", "xgboost"]) == 2
    assert train.main(["--data", "binance"]) == 2
    assert train.main(["--model", "baseline", "--bid", str(tmp_path / "nope.csv"),
                       "--out", str(tmp_path)]) == 2
