"""Price-direction and volatility predictors for decision (features, numpy baseline, torch).

Nothing here imports torch at module level: `torch_models` does, and only when a torch model
is trained or loaded. See `registry.load_predictor` for how decision loads a saved model.
"""
