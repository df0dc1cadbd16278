"""Numpy-only models: L2 logistic regression (IRLS) for direction, ridge on log-vol for volatility.

Also the metrics and the naive references every model is measured against.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EPS = 1e-12


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function."""
    return np.where(z >= 0, 1.0 / (1.0 + np.exp(-np.abs(z))),
                    np.exp(-np.abs(z)) / (1.0 + np.exp(-np.abs(z))))


@dataclass(slots=True)
class LogisticRegression:
    """P(up) = sigmoid(b + X w), fitted by IRLS (Newton) with an L2 penalty on w."""

    l2: float = 1.0
    max_iter: int = 50
    tol: float = 1e-8
    coef: np.ndarray | None = None
    intercept: float = 0.0

    def fit(self, X: np.ndarray, y: np.ndarray) -> LogisticRegression:
        """Newton steps until the largest parameter change is below `tol`."""
        _check_xy(X, y)
        n, f = X.shape
        A = np.column_stack([np.ones(n), X])
        theta = np.zeros(f + 1)
        penalty = np.full(f + 1, self.l2)
        penalty[0] = 0.0  # the intercept is not shrunk
        for _ in range(self.max_iter):
            p = sigmoid(A @ theta)
            w = np.maximum(p * (1 - p), EPS)
            grad = A.T @ (p - y) + penalty * theta
            hess = (A * w[:, None]).T @ A + np.diag(penalty)
            step = np.linalg.solve(hess, grad)
            theta -= step
            if np.max(np.abs(step)) < self.tol:
                break
        self.intercept, self.coef = float(theta[0]), theta[1:]
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """P(up) per row."""
        if self.coef is None:
            raise RuntimeError("model is not fitted")
        return sigmoid(self.intercept + X @ self.coef)

    def params(self) -> dict[str, object]:
        """JSON-ready parameters."""
        return {"coef": [float(c) for c in np.asarray(self.coef)], "intercept": self.intercept,
                "l2": self.l2}

    @classmethod
    def from_params(cls, params: dict[str, object]) -> LogisticRegression:
        """Inverse of `params`."""
        return cls(l2=float(params["l2"]), coef=np.asarray(params["coef"], dtype=float),  # type: ignore[arg-type]
                   intercept=float(params["intercept"]))  # type: ignore[arg-type]


@dataclass(slots=True)
class LogVolRegression:
    """log(future vol) = b + [X, log ewma_vol] w, ridge least squares."""

    l2: float = 1.0
    coef: np.ndarray | None = None
    intercept: float = 0.0

    @staticmethod
    def design(X: np.ndarray, ewma_vol: np.ndarray) -> np.ndarray:
        """Features plus the log of the EWMA forecast (the strongest single predictor)."""
        return np.column_stack([X, np.log(np.maximum(ewma_vol, EPS))])

    def fit(self, X: np.ndarray, ewma_vol: np.ndarray, y_vol: np.ndarray) -> LogVolRegression:
        """Closed-form ridge on log vol (zero-vol rows are floored at EPS)."""
        D = self.design(X, ewma_vol)
        t = np.log(np.maximum(y_vol, EPS))
        mu_d, mu_t = D.mean(axis=0), t.mean()
        Dc = D - mu_d
        self.coef = np.linalg.solve(Dc.T @ Dc + self.l2 * np.eye(D.shape[1]), Dc.T @ (t - mu_t))
        self.intercept = float(mu_t - mu_d @ self.coef)
        return self

    def predict(self, X: np.ndarray, ewma_vol: np.ndarray) -> np.ndarray:
        """Forecast vol of the next window (same units as the label)."""
        if self.coef is None:
            raise RuntimeError("model is not fitted")
        return np.exp(self.intercept + self.design(X, ewma_vol) @ self.coef)

    def params(self) -> dict[str, object]:
        """JSON-ready parameters."""
        return {"coef": [float(c) for c in np.asarray(self.coef)], "intercept": self.intercept,
                "l2": self.l2}

    @classmethod
    def from_params(cls, params: dict[str, object]) -> LogVolRegression:
        """Inverse of `params`."""
        return cls(l2=float(params["l2"]), coef=np.asarray(params["coef"], dtype=float),  # type: ignore[arg-type]
                   intercept=float(params["intercept"]))  # type: ignore[arg-type]


def accuracy(y: np.ndarray, p: np.ndarray) -> float:
    """Share of rows where (p > 0.5) equals y."""
    return float(np.mean((p > 0.5) == (y > 0.5)))


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    """Mean binary cross-entropy (p clipped away from 0 and 1)."""
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def log_rmse(y_vol: np.ndarray, pred: np.ndarray) -> float:
    """RMSE of log vol forecasts."""
    return float(np.sqrt(np.mean((np.log(np.maximum(pred, EPS))
                                  - np.log(np.maximum(y_vol, EPS))) ** 2)))


def majority_proba(y_train: np.ndarray, n: int) -> np.ndarray:
    """Always the training majority class (as a 0/1 probability, for accuracy)."""
    return np.full(n, 1.0 if y_train.mean() > 0.5 else 0.0)


def prev_sign_table(prev_ret: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Training frequency of up after a down, flat and up last bar (the previous-sign model)."""
    out = []
    for mask in (prev_ret < 0, prev_ret == 0, prev_ret > 0):
        out.append(float(y[mask].mean()) if mask.any() else 0.5)
    return out[0], out[1], out[2]


def prev_sign_proba(prev_ret: np.ndarray, table: tuple[float, float, float]) -> np.ndarray:
    """P(up) looked up by the sign of the last 1-bar return."""
    return np.where(prev_ret < 0, table[0], np.where(prev_ret == 0, table[1], table[2]))


def _check_xy(X: np.ndarray, y: np.ndarray) -> None:
    if X.ndim != 2 or len(X) != len(y):
        raise ValueError("X must be (n, f) and y (n,)")
    if not np.all(np.isfinite(X)):
        raise ValueError("X has non-finite values")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("y must be 0/1")
