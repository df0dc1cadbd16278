from __future__ import annotations

import math

import numpy as np
import pytest

from services.decision.predictors import baseline as bl


def test_logistic_regression_recovers_known_coefficients() -> None:
    rng = np.random.default_rng(11)
    X = rng.normal(size=(40_000, 2))
    p = bl.sigmoid(0.3 + X @ np.array([1.5, -0.7]))
    y = (rng.random(len(p)) < p).astype(float)
    m = bl.LogisticRegression(l2=1e-6).fit(X, y)
    assert m.coef is not None
    np.testing.assert_allclose(m.coef, [1.5, -0.7], atol=0.06)
    assert m.intercept == pytest.approx(0.3, abs=0.05)


def test_logistic_regression_round_trips_params() -> None:
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    m = bl.LogisticRegression(l2=0.1).fit(X, np.array([0.0, 0.0, 1.0, 1.0]))
    again = bl.LogisticRegression.from_params(m.params())
    np.testing.assert_array_equal(again.predict_proba(X), m.predict_proba(X))


def test_logistic_regression_rejects_bad_labels_and_nan() -> None:
    with pytest.raises(ValueError, match="0/1"):
        bl.LogisticRegression().fit(np.zeros((2, 1)), np.array([0.0, 2.0]))
    with pytest.raises(ValueError, match="non-finite"):
        bl.LogisticRegression().fit(np.array([[np.nan], [1.0]]), np.array([0.0, 1.0]))


def test_log_vol_regression_recovers_a_power_law() -> None:
    rng = np.random.default_rng(3)
    ewma = np.exp(rng.normal(-7, 0.5, size=5000))
    X = rng.normal(size=(5000, 1))
    y_vol = np.exp(-1.0 + 0.8 * np.log(ewma) + 0.2 * X[:, 0])
    m = bl.LogVolRegression(l2=1e-9).fit(X, ewma, y_vol)
    assert m.coef is not None
    np.testing.assert_allclose(m.coef, [0.2, 0.8], atol=1e-6)
    assert bl.log_rmse(y_vol, m.predict(X, ewma)) < 1e-6


def test_metrics_of_the_naive_references() -> None:
    y = np.array([1.0, 0.0, 1.0, 1.0])
    assert bl.log_loss(y, np.full(4, 0.5)) == pytest.approx(math.log(2))
    assert bl.accuracy(y, bl.majority_proba(np.array([1.0, 1.0, 0.0]), 4)) == 0.75
    table = bl.prev_sign_table(np.array([-1.0, -1.0, 1.0, 0.0]), np.array([1.0, 1.0, 0.0, 1.0]))
    assert table == (1.0, 1.0, 0.0)
    np.testing.assert_array_equal(bl.prev_sign_proba(np.array([2.0, -2.0]), table), [0.0, 1.0])
