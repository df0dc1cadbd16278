"""Risk state shared by every decision replica: open positions and reservations (exposure),
the intent-rate window, daily PnL, loss streak, PnL peak and the kill switch.

Two implementations of one interface (`RiskState` in domain/risk.py): `RedisRiskState` for
the service (every replica sees the same state; `reserve` is an optimistic MULTI/EXEC under
WATCH, retried on conflict, so two replicas can never both take the last slot) and
`InMemoryRiskState` for unit tests. Money is kept as exact decimal strings."""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from redis import exceptions as redis_errors
from redis.asyncio import Redis

from libs.common.enums import Engine
from services.decision.domain.gates.base import NS_PER_DAY, Denial, OpenPosition, RiskSnapshot

Check = Callable[[RiskSnapshot], Denial | None]
ZERO = Decimal(0)


@dataclass(frozen=True)
class PnlState:
    realized: Decimal = ZERO
    peak: Decimal = ZERO
    streak: int = 0
    last_loss_ts: int | None = None


def after_trade(s: PnlState, pnl: Decimal, closed_ts: int, unrealized: Decimal) -> PnlState:
    """The PnL state after one closed trade (pure; both implementations use it)."""
    realized = s.realized + pnl
    losing = pnl < 0
    return PnlState(
        realized=realized, peak=max(s.peak, realized + unrealized),
        streak=s.streak + 1 if losing else 0,
        last_loss_ts=max(closed_ts, s.last_loss_ts or 0) if losing else s.last_loss_ts)


def merge_position(old: OpenPosition | None, new: OpenPosition) -> OpenPosition:
    """A position update keeps what the reservation knew (asset, quote) when it has it."""
    if old is None:
        return new
    return replace(old, quantity=new.quantity, notional=new.notional,
                   unrealized_pnl=new.unrealized_pnl, reserved_ts=None)


def _pos_to_json(p: OpenPosition) -> str:
    return json.dumps({"key": p.key, "engine": p.engine.value, "asset": p.asset,
                       "quote": p.quote, "subject": p.subject, "quantity": str(p.quantity),
                       "notional": str(p.notional), "unrealized_pnl": str(p.unrealized_pnl),
                       "reserved_ts": p.reserved_ts})


def _pos_from_json(raw: bytes | str) -> OpenPosition:
    d = json.loads(raw)
    return OpenPosition(key=d["key"], engine=Engine(d["engine"]), asset=d["asset"],
                        quote=d["quote"], subject=d["subject"], quantity=Decimal(d["quantity"]),
                        notional=Decimal(d["notional"]),
                        unrealized_pnl=Decimal(d["unrealized_pnl"]),
                        reserved_ts=d.get("reserved_ts"))


def _s(v: bytes | str | None) -> str | None:
    return v.decode() if isinstance(v, bytes) else v


class InMemoryRiskState:
    """The same interface in one process (unit tests, a single replica)."""

    def __init__(self) -> None:
        self.positions: dict[str, OpenPosition] = {}
        self.pnl = PnlState()
        self.daily: dict[int, Decimal] = {}
        self.trades: set[str] = set()
        self.rate: dict[str, int] = {}
        self.kill = (False, False)
        self.kill_ts = -1

    async def snapshot(self, ts_event: int, rate_window_ns: int) -> RiskSnapshot:
        return self._snap(ts_event, rate_window_ns)

    def _snap(self, ts_event: int, window: int) -> RiskSnapshot:
        return RiskSnapshot(
            kill_active=self.kill[0], reduce_only=self.kill[1],
            positions=tuple(self.positions.values()),
            day_pnl=self.daily.get(ts_event // NS_PER_DAY, ZERO),
            realized_pnl=self.pnl.realized, pnl_peak=self.pnl.peak, loss_streak=self.pnl.streak,
            last_loss_ts=self.pnl.last_loss_ts,
            intents_in_window=sum(1 for t in self.rate.values() if ts_event - window < t
                                  <= ts_event))

    async def reserve(self, position: OpenPosition, intent_id: str, ts_event: int,
                      rate_window_ns: int, check: Check) -> Denial | None:
        denial = check(self._snap(ts_event, rate_window_ns))
        if denial is None:
            self.positions[position.key] = position
            self.rate[intent_id] = ts_event
        return denial

    async def update_position(self, position: OpenPosition) -> None:
        if position.quantity == 0:
            self.positions.pop(position.key, None)
        else:
            self.positions[position.key] = merge_position(self.positions.get(position.key),
                                                          position)
        total = self.pnl.realized + sum((p.unrealized_pnl for p in self.positions.values()),
                                        ZERO)
        self.pnl = replace(self.pnl, peak=max(self.pnl.peak, total))

    async def release(self, key: str) -> None:
        self.positions.pop(key, None)

    async def record_trade(self, trade_id: str, realized_pnl: Decimal, closed_ts: int) -> bool:
        if trade_id in self.trades:
            return False
        self.trades.add(trade_id)
        day = closed_ts // NS_PER_DAY
        self.daily[day] = self.daily.get(day, ZERO) + realized_pnl
        unreal = sum((p.unrealized_pnl for p in self.positions.values()), ZERO)
        self.pnl = after_trade(self.pnl, realized_pnl, closed_ts, unreal)
        return True

    async def set_kill_switch(self, active: bool, reduce_only: bool, ts_event: int) -> bool:
        if ts_event < self.kill_ts:
            return False
        self.kill, self.kill_ts = (active, reduce_only), ts_event
        return True


# Reads every key a snapshot needs in one round trip (inside WATCH, where a pipeline would
# cost one round trip per command).
_SNAPSHOT_LUA = """
return {redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2]),
        redis.call('HGET', KEYS[3], ARGV[1]), redis.call('ZCOUNT', KEYS[4], ARGV[2], ARGV[3]),
        redis.call('HGETALL', KEYS[5])}
"""
# The kill switch state is replaced only by a control event at least as new as the one it
# holds, so the fast control watcher and the group consumer can apply the same events in
# any interleaving.
_KILL_LUA = """
local held = tonumber(redis.call('HGET', KEYS[1], 'ts') or '-1')
if tonumber(ARGV[3]) >= held then
  redis.call('HSET', KEYS[1], 'active', ARGV[1], 'reduce_only', ARGV[2], 'ts', ARGV[3])
  return 1
end
return 0
"""


def _pairs(flat: list[Any] | dict[Any, Any] | None) -> dict[Any, Any]:
    if isinstance(flat, dict) or flat is None:
        return flat or {}
    return dict(zip(flat[0::2], flat[1::2], strict=True))


class RedisRiskState:
    """The shared state in Redis under `prefix`; every method is one round trip or one
    optimistic transaction."""

    def __init__(self, redis: Redis, prefix: str = "trifecta:risk") -> None:
        self.redis = redis
        self.k_pos = f"{prefix}:positions"
        self.k_pnl = f"{prefix}:pnl"
        self.k_daily = f"{prefix}:daily"
        self.k_trades = f"{prefix}:trades"
        self.k_rate = f"{prefix}:rate"
        self.k_ctl = f"{prefix}:control"

    async def snapshot(self, ts_event: int, rate_window_ns: int) -> RiskSnapshot:
        pipe = self.redis.pipeline(transaction=False)
        self._queue_snapshot(pipe, ts_event, rate_window_ns)
        return self._build(await pipe.execute())

    def _queue_snapshot(self, p: Any, ts_event: int, window: int) -> None:
        p.hgetall(self.k_pos)
        p.hgetall(self.k_pnl)
        p.hget(self.k_daily, str(ts_event // NS_PER_DAY))
        p.zcount(self.k_rate, f"({ts_event - window}", ts_event)
        p.hgetall(self.k_ctl)

    def _build(self, res: list[Any]) -> RiskSnapshot:
        positions, pnl_raw, day, n_rate, ctl_raw = res
        positions = _pairs(positions)
        pnl = self._pnl(_pairs(pnl_raw))
        ctl = {_s(k): _s(v) for k, v in _pairs(ctl_raw).items()}
        return RiskSnapshot(
            kill_active=ctl.get("active") == "1", reduce_only=ctl.get("reduce_only") == "1",
            positions=tuple(_pos_from_json(v) for v in (positions or {}).values()),
            day_pnl=Decimal(_s(day)) if day is not None else ZERO,
            realized_pnl=pnl.realized, pnl_peak=pnl.peak, loss_streak=pnl.streak,
            last_loss_ts=pnl.last_loss_ts, intents_in_window=int(n_rate))

    @staticmethod
    def _pnl(raw: dict[Any, Any] | None) -> PnlState:
        d = {_s(k): _s(v) for k, v in (raw or {}).items()}
        last = d.get("last_loss_ts")
        return PnlState(realized=Decimal(d.get("realized") or 0),
                        peak=Decimal(d.get("peak") or 0), streak=int(d.get("streak") or 0),
                        last_loss_ts=int(last) if last else None)

    def _pnl_fields(self, s: PnlState) -> dict[str, str]:
        return {"realized": str(s.realized), "peak": str(s.peak), "streak": str(s.streak),
                "last_loss_ts": str(s.last_loss_ts) if s.last_loss_ts is not None else ""}

    async def reserve(self, position: OpenPosition, intent_id: str, ts_event: int,
                      rate_window_ns: int, check: Check) -> Denial | None:
        """Check on the state as it is now and take the slot in one optimistic transaction:
        if another replica changed positions or the rate window meanwhile, EXEC fails and
        the check runs again on the new state."""
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(self.k_pos, self.k_rate, self.k_pnl, self.k_ctl)
                    res = await pipe.eval(
                        _SNAPSHOT_LUA, 5, self.k_pos, self.k_pnl, self.k_daily, self.k_rate,
                        self.k_ctl, str(ts_event // NS_PER_DAY),
                        f"({ts_event - rate_window_ns}", str(ts_event))
                    denial = check(self._build(res))
                    if denial is not None:
                        await pipe.unwatch()
                        return denial
                    pipe.multi()
                    pipe.hset(self.k_pos, position.key, _pos_to_json(position))
                    pipe.zadd(self.k_rate, {intent_id: ts_event})
                    # keep the window bounded: entries far older than any window still asked
                    pipe.zremrangebyscore(self.k_rate, "-inf", ts_event - 10 * rate_window_ns)
                    await pipe.execute()
                    return None
                except redis_errors.WatchError:
                    continue

    async def update_position(self, position: OpenPosition) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(self.k_pos, self.k_pnl)
                    raw = await pipe.hgetall(self.k_pos)
                    current = {_s(k): _pos_from_json(v) for k, v in raw.items()}
                    pnl = self._pnl(await pipe.hgetall(self.k_pnl))
                    if position.quantity == 0:
                        current.pop(position.key, None)
                    else:
                        current[position.key] = merge_position(current.get(position.key),
                                                               position)
                    total = pnl.realized + sum((p.unrealized_pnl for p in current.values()),
                                               ZERO)
                    pipe.multi()
                    if position.quantity == 0:
                        pipe.hdel(self.k_pos, position.key)
                    else:
                        pipe.hset(self.k_pos, position.key, _pos_to_json(current[position.key]))
                    pipe.hset(self.k_pnl, "peak", str(max(pnl.peak, total)))
                    await pipe.execute()
                    return
                except redis_errors.WatchError:
                    continue

    async def release(self, key: str) -> None:
        await self.redis.hdel(self.k_pos, key)

    async def record_trade(self, trade_id: str, realized_pnl: Decimal, closed_ts: int) -> bool:
        """Add a closed trade once (deduped by trade_id); False if it was already counted."""
        day = str(closed_ts // NS_PER_DAY)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(self.k_pnl, self.k_trades, self.k_daily, self.k_pos)
                    if await pipe.sismember(self.k_trades, trade_id):
                        await pipe.unwatch()
                        return False
                    pnl = self._pnl(await pipe.hgetall(self.k_pnl))
                    day_raw = await pipe.hget(self.k_daily, day)
                    raw = await pipe.hgetall(self.k_pos)
                    unreal = sum((_pos_from_json(v).unrealized_pnl for v in raw.values()), ZERO)
                    new = after_trade(pnl, realized_pnl, closed_ts, unreal)
                    day_pnl = (Decimal(_s(day_raw)) if day_raw is not None else ZERO) \
                        + realized_pnl
                    pipe.multi()
                    pipe.sadd(self.k_trades, trade_id)
                    pipe.hset(self.k_daily, day, str(day_pnl))
                    pipe.hset(self.k_pnl, mapping=self._pnl_fields(new))
                    await pipe.execute()
                    return True
                except redis_errors.WatchError:
                    continue

    async def set_kill_switch(self, active: bool, reduce_only: bool, ts_event: int) -> bool:
        """Apply a control event unless a newer one is already in force."""
        return bool(await self.redis.eval(_KILL_LUA, 1, self.k_ctl, "1" if active else "0",
                                          "1" if reduce_only else "0", str(ts_event)))
