using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Keeper.Execution;

/// <summary>Replacement fee rules.</summary>
public static class FeeBump
{
    /// <summary>ceil(value * (10000 + bps) / 10000): the least a replacement may offer for one fee field.</summary>
    public static UInt256 Minimum(UInt256 value, int bumpBps)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bumpBps);
        return UInt256.MulDivUp(value, (UInt256)(ulong)(10_000 + bumpBps), 10_000);
    }

    /// <summary>
    /// Fees of a replacement: each field at least the bumped previous value and at least the current estimate; the fee cap
    /// never above <paramref name="maxFeeCap"/>. Null when the bumped minimum itself would exceed the cap (the replacement
    /// would not be accepted, or would cost more than allowed).
    /// </summary>
    public static (UInt256 Tip, UInt256 MaxFee)? Next(UInt256 previousTip, UInt256 previousMaxFee, FeeEstimate current, int bumpBps, UInt256 maxFeeCap)
    {
        UInt256 minTip = Minimum(previousTip, bumpBps);
        UInt256 minMax = Minimum(previousMaxFee, bumpBps);
        if (minMax == previousMaxFee && !previousMaxFee.IsZero) minMax = previousMaxFee + UInt256.One;
        UInt256 tip = Max(minTip, current.MaxPriorityFeePerGas);
        UInt256 maxFee = Max(minMax, current.MaxFeePerGas);
        if (maxFee < tip) maxFee = tip;
        if (maxFee > maxFeeCap)
        {
            if (minMax > maxFeeCap || minTip > maxFeeCap) return null;
            maxFee = maxFeeCap;
            if (tip > maxFee) tip = maxFee;
        }
        return (tip, maxFee);
    }

    /// <summary>The highest fee cap an opportunity pays for: value * shareBps / 10000 / gasLimit, and the absolute cap.</summary>
    public static UInt256 AffordableMaxFee(UInt256 opportunityValue, int shareBps, ulong gasLimit, UInt256 absoluteCap)
    {
        ArgumentOutOfRangeException.ThrowIfZero(gasLimit);
        UInt256 affordable = UInt256.MulDiv(opportunityValue, (UInt256)(ulong)shareBps, 10_000) / gasLimit;
        return affordable < absoluteCap ? affordable : absoluteCap;
    }

    private static UInt256 Max(UInt256 a, UInt256 b) => a > b ? a : b;
}
