using System.Numerics;
using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Devnet.Tests.Protocol;

/// <summary>The few protocol formulas the tests recompute (docs/protocol.md §2, §5).</summary>
internal static class ProtocolMath
{
    public static readonly BigInteger Wad = BigInteger.Pow(10, 18);

    public static BigInteger Big(UInt256 v) => (BigInteger)v;

    public static BigInteger Big(Int256 v) => (BigInteger)v;

    public static BigInteger FloorDiv(BigInteger a, BigInteger d)
    {
        var q = BigInteger.DivRem(a, d, out var r);
        return r != 0 && (r.Sign < 0) != (d.Sign < 0) ? q - 1 : q;
    }

    public static BigInteger CeilDiv(BigInteger a, BigInteger d) => -FloorDiv(-a, d);

    /// <summary>fundingOwed(size, index, snap) = ceil(size·(index − snap)/WAD).</summary>
    public static BigInteger FundingOwed(BigInteger size, BigInteger index, BigInteger snapshot) => CeilDiv(size * (index - snapshot), Wad);

    /// <summary>fundingIndexDelta = floor(rate·(p·dt)/WAD).</summary>
    public static BigInteger FundingIndexDelta(BigInteger rate, BigInteger price, BigInteger dt) => FloorDiv(rate * (price * dt), Wad);
}
