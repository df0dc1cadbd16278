"""LSTM and small Transformer-encoder direction models (optional `ml` extra: torch==2.13.0).

Only this module imports torch, and only inside functions, so importing it without torch
installed is fine; `torch_available()` says whether the models can be used. Training is
seeded, single-threaded and deterministic. Weights travel as plain lists in the JSON model
file (the models are a few thousand parameters), so loading never unpickles anything.
"""
from __future__ import annotations

import importlib.util
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from libs.common.errors import ConfigurationError

TORCH_MODELS = ("lstm", "transformer")


class TorchMissing(ConfigurationError):
    """A torch model was asked for but torch is not installed."""


def torch_available() -> bool:
    """True when torch can be imported."""
    return importlib.util.find_spec("torch") is not None


def _torch() -> Any:
    if not torch_available():
        raise TorchMissing("torch is not installed: pip install 'trifecta[ml]' "
                           "(torch==2.13.0, CPU build)")
    import torch

    return torch


@dataclass(frozen=True, slots=True)
class TorchConfig:
    """Size and training budget of a sequence model."""

    hidden: int = 16
    layers: int = 1
    heads: int = 2
    epochs: int = 4
    batch_size: int = 256
    lr: float = 3e-3
    seed: int = 7

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for the model file."""
        return asdict(self)


def _build(kind: str, n_features: int, seq_len: int, cfg: TorchConfig) -> Any:
    torch = _torch()
    nn = torch.nn

    class LstmDirection(nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(n_features, cfg.hidden, num_layers=cfg.layers, batch_first=True)
            self.head = nn.Linear(cfg.hidden, 1)

        def forward(self, x: Any) -> Any:
            out, _ = self.lstm(x)
            return self.head(out[:, -1]).squeeze(-1)

    class TransformerDirection(nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.proj = nn.Linear(n_features, cfg.hidden)
            self.pos = nn.Parameter(torch.zeros(seq_len, cfg.hidden))
            layer = nn.TransformerEncoderLayer(cfg.hidden, cfg.heads, cfg.hidden * 2,
                                               dropout=0.0, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, cfg.layers, enable_nested_tensor=False)
            self.head = nn.Linear(cfg.hidden, 1)

        def forward(self, x: Any) -> Any:
            h = self.encoder(self.proj(x) + self.pos)
            return self.head(h[:, -1]).squeeze(-1)

    if kind == "lstm":
        return LstmDirection()
    if kind == "transformer":
        return TransformerDirection()
    raise ValueError(f"unknown torch model {kind!r}; expected one of {TORCH_MODELS}")


class TorchDirectionModel:
    """A trained sequence model: (n, seq_len, f) standardized windows -> P(up)."""

    def __init__(self, kind: str, n_features: int, seq_len: int, cfg: TorchConfig) -> None:
        self.kind, self.n_features, self.seq_len, self.cfg = kind, n_features, seq_len, cfg
        torch = _torch()
        torch.manual_seed(cfg.seed)
        self.net = _build(kind, n_features, seq_len, cfg)

    def fit(self, S_train: np.ndarray, y_train: np.ndarray, S_val: np.ndarray,
            y_val: np.ndarray) -> list[float]:
        """Adam on BCE for `epochs`; keeps the epoch with the best validation log-loss.

        Returns the validation log-loss of each epoch.
        """
        torch = _torch()
        torch.set_num_threads(1)
        torch.manual_seed(self.cfg.seed)
        torch.use_deterministic_algorithms(True)
        gen = torch.Generator().manual_seed(self.cfg.seed)
        xt = torch.tensor(np.ascontiguousarray(S_train), dtype=torch.float32)
        yt = torch.tensor(np.ascontiguousarray(y_train), dtype=torch.float32)
        opt = torch.optim.Adam(self.net.parameters(), lr=self.cfg.lr)
        loss_fn = torch.nn.BCEWithLogitsLoss()
        best, best_state, history = float("inf"), None, []
        for _ in range(self.cfg.epochs):
            self.net.train()
            # Shuffling minibatches inside the training block is fine: every window already
            # holds its own past, and the block boundaries stay chronological.
            order = torch.randperm(len(xt), generator=gen)
            for start in range(0, len(xt), self.cfg.batch_size):
                b = order[start:start + self.cfg.batch_size]
                opt.zero_grad()
                loss = loss_fn(self.net(xt[b]), yt[b])
                loss.backward()
                opt.step()
            p = np.clip(self.predict_proba(S_val), 1e-7, 1 - 1e-7)
            val = float(-np.mean(y_val * np.log(p) + (1 - y_val) * np.log(1 - p)))
            history.append(val)
            if val < best:
                best = val
                best_state = {k: v.detach().clone() for k, v in self.net.state_dict().items()}
        if best_state is not None:
            self.net.load_state_dict(best_state)
        return history

    def predict_proba(self, S: np.ndarray) -> np.ndarray:
        """P(up) for each window."""
        torch = _torch()
        self.net.eval()
        with torch.no_grad():
            logits = self.net(torch.tensor(np.ascontiguousarray(S), dtype=torch.float32))
        return torch.sigmoid(logits).double().numpy()

    def params(self) -> dict[str, Any]:
        """JSON-ready architecture and weights."""
        return {"kind": self.kind, "n_features": self.n_features, "seq_len": self.seq_len,
                "config": self.cfg.to_dict(),
                "state": {k: {"shape": list(v.shape), "data": v.detach().flatten().tolist()}
                          for k, v in self.net.state_dict().items()}}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> TorchDirectionModel:
        """Rebuild the network and load the weights from `params`."""
        torch = _torch()
        model = cls(params["kind"], int(params["n_features"]), int(params["seq_len"]),
                    TorchConfig(**params["config"]))
        state = {k: torch.tensor(v["data"], dtype=torch.float32).reshape(v["shape"])
                 for k, v in params["state"].items()}
        model.net.load_state_dict(state)
        return model
