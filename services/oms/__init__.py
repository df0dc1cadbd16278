"""OMS service: order states, positions, PnL and closed trades from execution reports."""
