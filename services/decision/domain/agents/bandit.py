"""LinUCB: one ridge-regression model per arm; pick the arm with the highest upper confidence
bound on the predicted reward (Li et al. 2010, disjoint model). Pure numpy, seeded ties."""
from __future__ import annotations

from typing import Any

import numpy as np

# size multiplier per arm: arm 0 skips, the others take at that share of the gated size
ARMS: tuple[float, ...] = (0.0, 0.5, 1.0)


class LinUCB:
    """Disjoint LinUCB over `n_arms` arms and `dim` features; `version` counts updates."""

    def __init__(self, n_arms: int, dim: int, alpha: float = 1.0, ridge: float = 1.0,
                 seed: int = 0) -> None:
        if n_arms < 1 or dim < 1 or alpha < 0 or ridge <= 0:
            raise ValueError("LinUCB needs n_arms >= 1, dim >= 1, alpha >= 0, ridge > 0")
        self.alpha = alpha
        self.a = np.stack([np.eye(dim) * ridge for _ in range(n_arms)])
        self.b = np.zeros((n_arms, dim))
        self.rng = np.random.default_rng(seed)
        self.version = 0

    @property
    def n_arms(self) -> int:
        return int(self.b.shape[0])

    def scores(self, x: np.ndarray) -> np.ndarray:
        """Upper confidence bound of each arm's reward at context `x`."""
        out = np.empty(self.n_arms)
        for arm in range(self.n_arms):
            a_inv = np.linalg.inv(self.a[arm])
            theta = a_inv @ self.b[arm]
            out[arm] = theta @ x + self.alpha * float(np.sqrt(x @ a_inv @ x))
        return out

    def select(self, x: np.ndarray) -> int:
        s = self.scores(x)
        best = np.flatnonzero(s >= s.max() - 1e-12)
        return int(self.rng.choice(best))

    def update(self, x: np.ndarray, arm: int, reward: float) -> None:
        """Learn that `arm` at context `x` earned `reward`; bumps the policy version."""
        self.a[arm] += np.outer(x, x)
        self.b[arm] += reward * x
        self.version += 1

    def update_all(self, x: np.ndarray, rewards: np.ndarray) -> None:
        """Full-information update: every arm's reward at `x` is known; one version bump."""
        for arm, r in enumerate(rewards):
            self.a[arm] += np.outer(x, x)
            self.b[arm] += float(r) * x
        self.version += 1

    def state(self) -> dict[str, Any]:
        """Version and per-arm coefficients, for /health and audit."""
        return {"version": self.version, "n_arms": self.n_arms,
                "updates_per_arm": [int(round(float(np.trace(a) - a.shape[0])))
                                    for a in self.a]}
