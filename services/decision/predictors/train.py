"""Train predictors on the recorded FXCM bars and report out-of-sample figures.

    python -m services.decision.predictors.train --model {baseline,lstm,transformer,all} \
        --data fxcm [--out var/models]

Every model is scored on the held-back test block (last 20%, never seen in fitting or model
selection) beside the naive references: always the training majority class and, stricter,
the test block's own majority class (accuracy),
always 0.5 (log-loss) and the previous-return sign. Exit codes: 0 done, 2 usage error or a
torch model asked for without torch installed.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from services.decision.predictors import baseline as bl
from services.decision.predictors.features import (
    FXCM_ASK,
    FXCM_BID,
    FeatureConfig,
    Scaler,
    build_dataset,
    chronological_split,
    data_hash,
    load_fxcm,
    sequences,
)
from services.decision.predictors.registry import ACTIVE_FILE, DEFAULT_MODEL_DIR, save_model
from services.decision.predictors.torch_models import (
    TORCH_MODELS,
    TorchConfig,
    TorchDirectionModel,
    torch_available,
)

EXIT_OK, EXIT_USAGE = 0, 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m services.decision.predictors.train",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--model", choices=["baseline", *TORCH_MODELS, "all"], default="all")
    p.add_argument("--data", choices=["fxcm"], default="fxcm")
    p.add_argument("--bid", type=Path, default=FXCM_BID, help="FXCM bid CSV")
    p.add_argument("--ask", type=Path, default=FXCM_ASK, help="FXCM ask CSV")
    p.add_argument("--out", type=Path, default=DEFAULT_MODEL_DIR, help="model folder")
    p.add_argument("--epochs", type=int, default=TorchConfig().epochs)
    p.add_argument("--seed", type=int, default=TorchConfig().seed)
    return p


def _windows(rows: slice, seq_len: int) -> slice:
    """Positions in `sequences(Z, seq_len)` of the windows ending at the rows in `rows`.

    Rows earlier than seq_len - 1 have no full window and are left out.
    """
    first = max(rows.start, seq_len - 1)
    return slice(first - seq_len + 1, rows.stop - seq_len + 1)


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry; returns the exit code."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as e:
        return EXIT_OK if e.code == 0 else EXIT_USAGE
    wanted = [args.model] if args.model != "all" else ["baseline", *TORCH_MODELS]
    if not torch_available():
        if args.model in TORCH_MODELS:
            print(f"error: --model {args.model} needs torch, which is not installed; "
                  "install the ml extra (pip install torch==2.13.0)", file=sys.stderr)
            return EXIT_USAGE
        if args.model == "all":
            print("torch is not installed: training the numpy baseline only")
            wanted = ["baseline"]

    cfg = FeatureConfig()
    try:
        bars = load_fxcm(args.bid, args.ask)
        ds = build_dataset(bars, cfg)
        split = chronological_split(len(ds), embargo=cfg.lookahead)
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    digest = data_hash([args.bid, args.ask], cfg)
    train, val, test = ds.take(split.train), ds.take(split.val), ds.take(split.test)
    scaler = Scaler.fit(train.X)
    Z = scaler.transform(ds.X)
    print(f"data: {len(bars)} bars -> {len(ds)} rows; train {len(train)}, val {len(val)}, "
          f"test {len(test)} (embargo {cfg.lookahead}); horizon {cfg.horizon} bars; "
          f"hash {digest[:12]}")

    rows: list[tuple[str, float, float, str]] = []
    maj = bl.majority_proba(train.y_dir, len(test))
    rows.append(("naive: majority class", bl.accuracy(test.y_dir, maj), float("nan"), ""))
    rows.append(("naive: always 0.5", float("nan"), math.log(2), ""))
    table = bl.prev_sign_table(train.prev_ret, train.y_dir)
    ps = bl.prev_sign_proba(test.prev_ret, table)
    rows.append(("naive: previous-return sign", bl.accuracy(test.y_dir, ps),
                 bl.log_loss(test.y_dir, ps), ""))
    hind = float(test.y_dir.mean())
    rows.append(("hindsight: test majority class", max(hind, 1 - hind), float("nan"), ""))
    naive_acc = max(r[1] for r in rows if not math.isnan(r[1]))
    naive_ll = min(r[2] for r in rows if not math.isnan(r[2]))

    val_scores: dict[str, float] = {}
    beats_naive: dict[str, bool] = {}
    files: dict[str, str] = {}
    verdicts: list[str] = []
    for kind in wanted:
        metrics: dict[str, Any]
        vol_params = None
        if kind == "baseline":
            model: Any = bl.LogisticRegression(l2=1.0).fit(Z[split.train], train.y_dir)
            p_val = model.predict_proba(Z[split.val])
            p_test = model.predict_proba(Z[split.test])
            vol = bl.LogVolRegression(l2=1.0).fit(Z[split.train], train.ewma_vol, train.y_vol)
            vol_params = vol.params()
            vol_rmse = bl.log_rmse(test.y_vol, vol.predict(Z[split.test], test.ewma_vol))
            ewma_rmse = bl.log_rmse(test.y_vol, test.ewma_vol)
            print(f"volatility (log-RMSE on test, next {cfg.vol_horizon} bars): "
                  f"ridge {vol_rmse:.4f} vs EWMA {ewma_rmse:.4f} -> "
                  f"{'beats' if vol_rmse < ewma_rmse else 'does NOT beat'} EWMA")
            metrics = {"vol_log_rmse": vol_rmse, "ewma_vol_log_rmse": ewma_rmse}
            params = model.params()
        else:
            L = cfg.seq_len
            S = sequences(Z, L)  # S[i - L + 1] is the window ending at row i

            y_tr = ds.y_dir[max(split.train.start, L - 1):split.train.stop]
            model = TorchDirectionModel(kind, Z.shape[1], L,
                                        TorchConfig(epochs=args.epochs, seed=args.seed))
            model.fit(S[_windows(split.train, L)], y_tr, S[_windows(split.val, L)], val.y_dir)
            p_val = model.predict_proba(S[_windows(split.val, L)])
            p_test = model.predict_proba(S[_windows(split.test, L)])
            metrics, params = {}, model.params()
        acc, ll = bl.accuracy(test.y_dir, p_test), bl.log_loss(test.y_dir, p_test)
        val_scores[kind] = bl.log_loss(val.y_dir, p_val)
        beats = acc > naive_acc and ll < naive_ll
        verdict = "beats naive" if beats else "does NOT beat naive"
        beats_naive[kind] = beats
        rows.append((kind, acc, ll, verdict))
        if not beats:
            verdicts.append(f"{kind} does not beat the naive baselines out of sample "
                            f"(acc {acc:.4f} vs {naive_acc:.4f}, log-loss {ll:.5f} vs "
                            f"{naive_ll:.5f})")
        metrics |= {"test_accuracy": acc, "test_log_loss": ll, "val_log_loss": val_scores[kind],
                    "naive_accuracy": naive_acc, "naive_log_loss": naive_ll,
                    "test_rows": len(test)}
        path = save_model(args.out / f"{kind}.json", name=f"{kind}-v1", kind=kind,
                          data_hash=digest, feature_config=cfg, scaler=scaler,
                          direction_params=params, volatility_params=vol_params,
                          metrics=metrics)
        files[kind] = path.name

    print(f"\nout-of-sample direction of next {cfg.horizon} bars (held-back test, "
          f"{len(test)} rows):")
    print(f"{'model':32} {'accuracy':>9} {'log-loss':>10}")
    for name, acc, ll, verdict in rows:
        a = "" if math.isnan(acc) else f"{acc:.4f}"
        b = "" if math.isnan(ll) else f"{ll:.5f}"
        print(f"{name:32} {a:>9} {b:>10}  {verdict}")
    for v in verdicts:
        print(v)
    active = min(val_scores, key=lambda k: val_scores[k])
    (args.out / ACTIVE_FILE).write_text(json.dumps(
        {"model_file": files[active], "chosen_by": "lowest validation log-loss",
         "val_log_loss": val_scores, "test_beats_naive": beats_naive}, indent=1))
    print(f"active predictor: {active} ({args.out / files[active]}), chosen on validation "
          f"log-loss {val_scores[active]:.4f}")
    if not any(beats_naive.values()):
        print("no model beats the naive baselines on the held-back test: treat the "
              "predictor's output as uninformative")
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
