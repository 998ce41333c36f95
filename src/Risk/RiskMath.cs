using System.Runtime.CompilerServices;
using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Risk;

/// <summary>
/// Exact mirror of the contract's <c>MarginMath</c> library (docs/protocol.md §2) on 256-bit integers.
/// Every operation that reverts on chain throws here: <see cref="OverflowException"/> for a checked-arithmetic
/// panic, a <c>mulDiv</c> result above 2^256-1 or a failed <c>SafeCast</c>, and <see cref="DivideByZeroException"/>
/// for a division by zero. Nothing wraps silently.
/// </summary>
public static class RiskMath
{
    /// <summary>1e18.</summary>
    public const ulong WadU64 = 1_000_000_000_000_000_000UL;

    /// <summary>1e18 as a 256-bit value.</summary>
    public static readonly UInt256 Wad = new(WadU64);

    /// <summary>floor(a*b/d) with a 512-bit intermediate.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static UInt256 MulDivDown(UInt256 a, UInt256 b, UInt256 d) => UInt256.MulDiv(a, b, d);

    /// <summary>ceil(a*b/d) with a 512-bit intermediate.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static UInt256 MulDivUp(UInt256 a, UInt256 b, UInt256 d) => UInt256.MulDivUp(a, b, d);

    /// <summary>Solidity <c>x &gt;= 0 ? uint256(x) : uint256(-x)</c> in checked mode: reverts for int256.min.</summary>
    public static UInt256 Abs(Int256 x) => x.IsNegative ? checked(-x).Bits : x.Bits;

    /// <summary><c>SafeCast.toInt256</c>: reverts when the value is at least 2^255.</summary>
    public static Int256 ToInt256(UInt256 x)
    {
        if ((long)x.u3 < 0) throw new OverflowException("SafeCast: value does not fit in int256");
        return (Int256)x;
    }

    /// <summary>floor(a*b/d) for signed a: a &gt;= 0 ? mulDivDown(a,b,d) : -mulDivUp(-a,b,d).</summary>
    public static Int256 SMulDivFloor(Int256 a, UInt256 b, UInt256 d)
    {
        if (!a.IsNegative) return ToInt256(MulDivDown(a.Bits, b, d));
        UInt256 na = checked(-a).Bits;
        return -ToInt256(MulDivUp(na, b, d));
    }

    /// <summary>ceil(a*b/d) for signed a: a &gt;= 0 ? mulDivUp(a,b,d) : -mulDivDown(-a,b,d).</summary>
    public static Int256 SMulDivCeil(Int256 a, UInt256 b, UInt256 d)
    {
        if (!a.IsNegative) return ToInt256(MulDivUp(a.Bits, b, d));
        UInt256 na = checked(-a).Bits;
        return -ToInt256(MulDivDown(na, b, d));
    }

    /// <summary>Signed value of a position: floor(size*p/WAD).</summary>
    public static Int256 PositionValue(Int256 size, UInt256 price) => SMulDivFloor(size, price, Wad);

    /// <summary>ceil(|size|*p/WAD).</summary>
    public static UInt256 NotionalUp(UInt256 absSize, UInt256 price) => MulDivUp(absSize, price, Wad);

    /// <summary>ceil(ceil(|size|*p/WAD)*fraction/WAD).</summary>
    public static UInt256 MarginRequirement(UInt256 absSize, UInt256 price, UInt256 fraction) =>
        MulDivUp(NotionalUp(absSize, price), fraction, Wad);

    /// <summary>floor(floor(balance*p/WAD)*weight/WAD).</summary>
    public static UInt256 CollateralValue(UInt256 balance, UInt256 price, UInt256 weight) =>
        MulDivDown(MulDivDown(balance, price, Wad), weight, Wad);

    /// <summary>Funding owed since the snapshot: ceil(size*(index-snapshot)/WAD); positive = the account pays.</summary>
    public static Int256 FundingOwed(Int256 size, Int256 index, Int256 snapshot)
    {
        Int256 delta = checked(index - snapshot);
        if (!delta.IsNegative) return SMulDivCeil(size, delta.Bits, Wad);
        return SMulDivCeil(checked(-size), checked(-delta).Bits, Wad);
    }

    /// <summary>Funding index increment over dt seconds: floor(rate*(price*dt)/WAD), price*dt checked.</summary>
    public static Int256 FundingIndexDelta(Int256 ratePerSecond, UInt256 price, ulong dt) =>
        SMulDivFloor(ratePerSecond, checked(price * new UInt256(dt)), Wad);

    /// <summary>amount * 10^(18-decimals), checked (decimals &lt;= 18).</summary>
    public static UInt256 ToWad(UInt256 amount, byte decimals)
    {
        if (decimals > 18) throw new ArgumentOutOfRangeException(nameof(decimals));
        return checked(amount * UInt256.Pow10(18 - decimals));
    }

    /// <summary>Reverts unless x fits in int192 (<c>SafeCast.toInt192</c>, used when the index is stored).</summary>
    public static void CheckInt192(Int256 x)
    {
        // int192 range: [-2^191, 2^191-1] <=> bits 191..255 all equal.
        ulong top = x.u3;
        ulong s = (x.u2 >> 63) != 0 ? ulong.MaxValue : 0UL;
        if (top != s) throw new OverflowException("SafeCast: value does not fit in int192");
    }
}
