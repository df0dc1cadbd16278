from __future__ import annotations

import numpy as np
import pytest

from services.decision.predictors.features import (
    Bars,
    FeatureConfig,
    build_dataset,
    chronological_split,
    feature_matrix,
    sequences,
)

CFG = FeatureConfig()


def test_slice_is_read_in_time_order(fxcm_bars: Bars) -> None:
    assert len(fxcm_bars) == 1500
    assert np.all(np.diff(fxcm_bars.ts) > 0)
    assert fxcm_bars.bid[0] == pytest.approx(1.57576)  # first bid close in the file


def test_features_of_bar_t_do_not_change_when_later_bars_are_added(fxcm_bars: Bars) -> None:
    full, _ = feature_matrix(fxcm_bars, CFG)
    for t in (CFG.warmup, 100, 777, len(fxcm_bars) - 1):
        known, _ = feature_matrix(fxcm_bars.head(t + 1), CFG)
        np.testing.assert_array_equal(known[t], full[t])


def test_features_of_bar_t_ignore_a_shock_after_t(fxcm_bars: Bars) -> None:
    t = 500
    bid, ask = fxcm_bars.bid.copy(), fxcm_bars.ask.copy()
    bid[t + 1:] *= 1.05
    ask[t + 1:] *= 1.05
    shocked, _ = feature_matrix(Bars(fxcm_bars.ts, bid, ask), CFG)
    full, _ = feature_matrix(fxcm_bars, CFG)
    np.testing.assert_array_equal(shocked[: t + 1], full[: t + 1])
    assert not np.allclose(shocked[t + 1], full[t + 1])


def test_rows_before_warmup_are_undefined_and_after_are_finite(fxcm_bars: Bars) -> None:
    X, names = feature_matrix(fxcm_bars, CFG)
    assert np.isnan(X[: CFG.warmup]).all()
    assert np.isfinite(X[CFG.warmup:]).all()
    assert X.shape[1] == len(names) == CFG.n_lags + 4


def test_labels_look_exactly_horizon_bars_ahead(fxcm_bars: Bars) -> None:
    ds = build_dataset(fxcm_bars, CFG)
    mid = (fxcm_bars.bid + fxcm_bars.ask) / 2
    assert ds.index[0] == CFG.warmup
    assert ds.index[-1] == len(fxcm_bars) - 1 - CFG.lookahead
    for i in (0, 10, len(ds) - 1):
        t = ds.index[i]
        assert ds.y_dir[i] == float(mid[t + CFG.horizon] > mid[t])
        r = np.diff(np.log(mid[t: t + CFG.vol_horizon + 1]))
        assert ds.y_vol[i] == pytest.approx(np.sqrt(np.sum(r * r)), rel=1e-9)
        assert ds.prev_ret[i] == pytest.approx(np.log(mid[t] / mid[t - 1]))
        assert ds.X[i, 0] == pytest.approx(np.log(mid[t] / mid[t - 1]) * 1e4)
        assert ds.X[i, 1] == pytest.approx(np.log(mid[t - 1] / mid[t - 2]) * 1e4)
        assert ds.ts[i] == fxcm_bars.ts[t]


def test_labels_change_with_the_future_but_features_do_not(fxcm_bars: Bars) -> None:
    ds = build_dataset(fxcm_bars, CFG)
    t = int(ds.index[200])
    bid, ask = fxcm_bars.bid.copy(), fxcm_bars.ask.copy()
    up = 1.01 if ds.y_dir[200] == 0 else 0.99  # flip the next-horizon direction
    bid[t + 1:] *= up
    ask[t + 1:] *= up
    moved = build_dataset(Bars(fxcm_bars.ts, bid, ask), CFG)
    np.testing.assert_array_equal(moved.X[200], ds.X[200])
    assert moved.y_dir[200] == 1 - ds.y_dir[200]


def test_split_is_chronological_disjoint_and_embargoed() -> None:
    s = chronological_split(1000, embargo=20)
    assert (s.train.start, s.train.stop) == (0, 580)
    assert (s.val.start, s.val.stop) == (600, 780)
    assert (s.test.start, s.test.stop) == (800, 1000)  # the last 20%, held back


def test_split_on_data_keeps_time_order(fxcm_bars: Bars) -> None:
    ds = build_dataset(fxcm_bars, CFG)
    s = chronological_split(len(ds), embargo=CFG.lookahead)
    tr, va, te = ds.take(s.train), ds.take(s.val), ds.take(s.test)
    # the last training label reads bars strictly before the first validation bar
    assert tr.index[-1] + CFG.lookahead < va.index[0]
    assert va.index[-1] + CFG.lookahead < te.index[0]
    assert tr.ts[-1] < va.ts[0] < va.ts[-1] < te.ts[0]


def test_split_rejects_bad_fractions_and_too_few_rows() -> None:
    with pytest.raises(ValueError):
        chronological_split(100, test_frac=0.6, val_frac=0.5)
    with pytest.raises(ValueError):
        chronological_split(10, embargo=20)


def test_too_few_bars_is_an_error(fxcm_bars: Bars) -> None:
    with pytest.raises(ValueError, match="too few"):
        build_dataset(fxcm_bars.head(30), CFG)


def test_bars_reject_non_positive_prices_and_unordered_time() -> None:
    with pytest.raises(ValueError):
        Bars(np.array([1, 2]), np.array([1.0, -1.0]), np.array([1.0, 1.0]))
    with pytest.raises(ValueError):
        Bars(np.array([2, 1]), np.array([1.0, 1.0]), np.array([1.0, 1.0]))


def test_sequence_window_ends_at_its_row() -> None:
    X = np.arange(20.0).reshape(10, 2)
    S = sequences(X, 4)
    assert S.shape == (7, 4, 2)
    np.testing.assert_array_equal(S[0], X[0:4])
    np.testing.assert_array_equal(S[-1][-1], X[9])


def test_feature_config_rejects_non_positive() -> None:
    with pytest.raises(ValueError, match="horizon"):
        FeatureConfig(horizon=0)


def test_train_window_slices_end_at_the_block_rows() -> None:
    from services.decision.predictors.train import _windows

    Z = np.arange(60.0).reshape(30, 2)
    S = sequences(Z, 4)
    np.testing.assert_array_equal(S[_windows(slice(10, 20), 4)][:, -1], Z[10:20])
    np.testing.assert_array_equal(S[_windows(slice(0, 8), 4)][:, -1], Z[3:8])  # no full window
