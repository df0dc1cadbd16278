# pragma version ~=0.4.3
"""
@title ConstantProductPair
@notice A minimal Uniswap-V2-like pair for the DEX adapter's tests on a local EVM.
        Same storage semantics as UniswapV2Pair for what the adapter reads (token0, token1,
        getReserves with uint112 reserves and a uint32 timestamp), the V2 swap with its
        optimistic transfer and K check, and sync. The fee is a constructor parameter in
        basis points (V2 is 30), applied exactly as V2 applies its 0.3%:
        amountInWithFee = amountIn * (10000 - fee_bps). No LP shares, no flash-swap callback,
        no TWAP accumulators: liquidity is seeded by transferring tokens in and calling sync().
"""
from ethereum.ercs import IERC20

FEE_DENOMINATOR: constant(uint256) = 10000

event Sync:
    reserve0: uint112
    reserve1: uint112

event Swap:
    sender: indexed(address)
    amount0In: uint256
    amount1In: uint256
    amount0Out: uint256
    amount1Out: uint256
    to: indexed(address)

token0: public(address)
token1: public(address)
fee_bps: public(uint256)

reserve0: uint112
reserve1: uint112
blockTimestampLast: uint32


@deploy
def __init__(_token0: address, _token1: address, _fee_bps: uint256):
    assert _token0 != _token1, "IDENTICAL_ADDRESSES"
    assert _fee_bps < FEE_DENOMINATOR, "FEE"
    self.token0 = _token0
    self.token1 = _token1
    self.fee_bps = _fee_bps


@external
@view
def getReserves() -> (uint112, uint112, uint32):
    return self.reserve0, self.reserve1, self.blockTimestampLast


@internal
@view
def _amount_out(amount_in: uint256, reserve_in: uint256, reserve_out: uint256) -> uint256:
    # UniswapV2Library.getAmountOut with the fee in basis points.
    assert amount_in > 0, "INSUFFICIENT_INPUT_AMOUNT"
    assert reserve_in > 0 and reserve_out > 0, "INSUFFICIENT_LIQUIDITY"
    amount_in_with_fee: uint256 = amount_in * (FEE_DENOMINATOR - self.fee_bps)
    numerator: uint256 = amount_in_with_fee * reserve_out
    denominator: uint256 = reserve_in * FEE_DENOMINATOR + amount_in_with_fee
    return numerator // denominator


@internal
@view
def _amount_in(amount_out: uint256, reserve_in: uint256, reserve_out: uint256) -> uint256:
    # UniswapV2Library.getAmountIn with the fee in basis points.
    assert amount_out > 0, "INSUFFICIENT_OUTPUT_AMOUNT"
    assert reserve_in > 0 and reserve_out > 0, "INSUFFICIENT_LIQUIDITY"
    assert amount_out < reserve_out, "INSUFFICIENT_LIQUIDITY"
    numerator: uint256 = reserve_in * amount_out * FEE_DENOMINATOR
    denominator: uint256 = (reserve_out - amount_out) * (FEE_DENOMINATOR - self.fee_bps)
    return numerator // denominator + 1


@external
@view
def getAmountOut(amountIn: uint256, reserveIn: uint256, reserveOut: uint256) -> uint256:
    return self._amount_out(amountIn, reserveIn, reserveOut)


@external
@view
def getAmountIn(amountOut: uint256, reserveIn: uint256, reserveOut: uint256) -> uint256:
    return self._amount_in(amountOut, reserveIn, reserveOut)


@internal
@view
def _reserves_for(token_in: address) -> (uint256, uint256):
    if token_in == self.token0:
        return convert(self.reserve0, uint256), convert(self.reserve1, uint256)
    assert token_in == self.token1, "UNKNOWN_TOKEN"
    return convert(self.reserve1, uint256), convert(self.reserve0, uint256)


@external
@view
def quoteOut(tokenIn: address, amountIn: uint256) -> uint256:
    """@notice What a swap of `amountIn` of `tokenIn` pays out at the current reserves."""
    reserve_in: uint256 = 0
    reserve_out: uint256 = 0
    reserve_in, reserve_out = self._reserves_for(tokenIn)
    return self._amount_out(amountIn, reserve_in, reserve_out)


@external
@view
def quoteIn(tokenIn: address, amountOut: uint256) -> uint256:
    """@notice The `tokenIn` needed to receive `amountOut` of the other token now."""
    reserve_in: uint256 = 0
    reserve_out: uint256 = 0
    reserve_in, reserve_out = self._reserves_for(tokenIn)
    return self._amount_in(amountOut, reserve_in, reserve_out)


@internal
def _update(balance0: uint256, balance1: uint256):
    assert balance0 <= convert(max_value(uint112), uint256), "OVERFLOW"
    assert balance1 <= convert(max_value(uint112), uint256), "OVERFLOW"
    self.reserve0 = convert(balance0, uint112)
    self.reserve1 = convert(balance1, uint112)
    self.blockTimestampLast = convert(block.timestamp % 2**32, uint32)
    log Sync(reserve0=self.reserve0, reserve1=self.reserve1)


@external
@nonreentrant
def sync():
    self._update(
        staticcall IERC20(self.token0).balanceOf(self),
        staticcall IERC20(self.token1).balanceOf(self),
    )


@external
@nonreentrant
def swap(amount0Out: uint256, amount1Out: uint256, to: address):
    """@notice UniswapV2Pair.swap without the flash-swap callback: pay in first, then call."""
    assert amount0Out > 0 or amount1Out > 0, "INSUFFICIENT_OUTPUT_AMOUNT"
    reserve0: uint256 = convert(self.reserve0, uint256)
    reserve1: uint256 = convert(self.reserve1, uint256)
    assert amount0Out < reserve0 and amount1Out < reserve1, "INSUFFICIENT_LIQUIDITY"
    assert to != self.token0 and to != self.token1, "INVALID_TO"
    if amount0Out > 0:
        assert extcall IERC20(self.token0).transfer(to, amount0Out), "TRANSFER_FAILED"
    if amount1Out > 0:
        assert extcall IERC20(self.token1).transfer(to, amount1Out), "TRANSFER_FAILED"
    balance0: uint256 = staticcall IERC20(self.token0).balanceOf(self)
    balance1: uint256 = staticcall IERC20(self.token1).balanceOf(self)
    amount0In: uint256 = 0
    amount1In: uint256 = 0
    if balance0 > reserve0 - amount0Out:
        amount0In = balance0 - (reserve0 - amount0Out)
    if balance1 > reserve1 - amount1Out:
        amount1In = balance1 - (reserve1 - amount1Out)
    assert amount0In > 0 or amount1In > 0, "INSUFFICIENT_INPUT_AMOUNT"
    balance0Adjusted: uint256 = balance0 * FEE_DENOMINATOR - amount0In * self.fee_bps
    balance1Adjusted: uint256 = balance1 * FEE_DENOMINATOR - amount1In * self.fee_bps
    assert balance0Adjusted * balance1Adjusted >= reserve0 * reserve1 * FEE_DENOMINATOR**2, "K"
    self._update(balance0, balance1)
    log Swap(sender=msg.sender, amount0In=amount0In, amount1In=amount1In,
             amount0Out=amount0Out, amount1Out=amount1Out, to=to)
