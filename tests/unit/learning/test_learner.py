from __future__ import annotations

from decimal import Decimal as D

from libs.common.testing.factories import trade
from services.learning.domain.learner import Learner, LearnerConfig


def test_each_trade_publishes_the_next_policy_version() -> None:
    learner = Learner(LearnerConfig(min_trades=3), start_version=7)
    p1 = learner.on_trade(trade(trade_id="t1", realized_pnl=D("10")))
    p2 = learner.on_trade(trade(trade_id="t2", realized_pnl=D("-4")))
    assert (p1.version, p2.version) == (8, 9)
    assert p2.trades == 2 and p2.wins == 1 and p2.total_pnl == D("6")
    assert p2.ewma_pnl == D("0.1") * D("-4") + D("0.9") * D("10")
    assert p2.enabled


def test_strategy_losing_after_warm_up_is_disabled() -> None:
    learner = Learner(LearnerConfig(min_trades=3))
    for i in range(3):
        policy = learner.on_trade(trade(trade_id=f"t{i}", realized_pnl=D("-1")))
    assert policy is not None and not policy.enabled and policy.size_multiplier == 0
    assert "after 3 trades" in policy.reason


def test_duplicate_trade_is_ignored() -> None:
    learner = Learner(LearnerConfig())
    assert learner.on_trade(trade()) is not None
    assert learner.on_trade(trade()) is None
    assert learner.stats[(trade().engine, trade().strategy)].trades == 1
