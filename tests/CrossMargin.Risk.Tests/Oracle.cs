using System.Numerics;
using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Risk.Tests;

/// <summary>Signals that the reference says the contract reverts.</summary>
internal sealed class RevertException : Exception
{
    public RevertException(string why) : base(why) { }
}

/// <summary>
/// Independent BigInteger re-implementation of docs/protocol.md (§2, §5, §6, §7.4), used as the test oracle.
/// Range rules follow Solidity 0.8: int256/uint256 results out of range revert.
/// </summary>
internal static class Oracle
{
    public static readonly BigInteger Wad = BigInteger.Pow(10, 18);
    public static readonly BigInteger UMax = BigInteger.Pow(2, 256) - 1;
    public static readonly BigInteger IMax = BigInteger.Pow(2, 255) - 1;
    public static readonly BigInteger IMin = -BigInteger.Pow(2, 255);

    public static BigInteger Floor(BigInteger n, BigInteger d) // d > 0
    {
        BigInteger q = BigInteger.DivRem(n, d, out BigInteger r);
        return r.Sign < 0 ? q - 1 : q;
    }

    public static BigInteger Ceil(BigInteger n, BigInteger d) => -Floor(-n, d);

    public static BigInteger U(BigInteger v, string what) => v.Sign >= 0 && v <= UMax ? v : throw new RevertException(what);

    public static BigInteger I(BigInteger v, string what) => v >= IMin && v <= IMax ? v : throw new RevertException(what);

    public static BigInteger B(UInt256 v) => (BigInteger)v;

    public static BigInteger B(Int256 v) => (BigInteger)v;

    /// <summary>floor(a*b/d) for signed a, with Solidity's revert rules (negating int256.min, result out of int256).</summary>
    public static BigInteger SFloor(BigInteger a, BigInteger b, BigInteger d)
    {
        if (a == IMin) throw new RevertException("neg min");
        if (d.IsZero) throw new RevertException("div0");
        BigInteger mag = a.Sign >= 0 ? Floor(a * b, d) : Ceil(-a * b, d);
        U(mag, "muldiv");
        I(mag, "cast");
        return a.Sign >= 0 ? mag : -mag;
    }

    public static BigInteger SCeil(BigInteger a, BigInteger b, BigInteger d)
    {
        if (a == IMin) throw new RevertException("neg min");
        if (d.IsZero) throw new RevertException("div0");
        BigInteger mag = a.Sign >= 0 ? Ceil(a * b, d) : Floor(-a * b, d);
        U(mag, "muldiv");
        I(mag, "cast");
        return a.Sign >= 0 ? mag : -mag;
    }

    public static BigInteger FundingOwed(BigInteger size, BigInteger index, BigInteger snap)
    {
        BigInteger delta = I(index - snap, "delta");
        if (delta.Sign >= 0) return SCeil(size, delta, Wad);
        if (size == IMin || delta == IMin) throw new RevertException("neg");
        return SCeil(-size, -delta, Wad);
    }

    public static BigInteger Index(FundingState f, BigInteger price, ulong now)
    {
        if (f.RatePerSecond.IsZero || now <= f.LastFundingTime) return B(f.Index);
        BigInteger pdt = U(price * (now - f.LastFundingTime), "p*dt");
        return I(B(f.Index) + SFloor(B(f.RatePerSecond), pdt, Wad), "idx");
    }

    /// <summary>§6 health: (equity, initialEquity, IM, MM).</summary>
    public static (BigInteger Eq, BigInteger IEq, BigInteger Im, BigInteger Mm) Health(RiskConfig cfg, BigInteger[] prices, BigInteger[] index, AccountState a)
    {
        BigInteger eq = B(a.Cash), ieq = eq, im = 0, mm = 0;
        for (int i = 1; i < a.Collateral.Length; i++)
        {
            BigInteger bal = B(a.Collateral[i]);
            if (bal.IsZero) continue;
            BigInteger p = prices[cfg.Assets[i].PriceSlot];
            if (p.IsZero) throw new RevertException("price");
            BigInteger raw = U(Floor(bal * p, Wad), "raw");
            eq = I(eq + I(Floor(raw * cfg.Assets[i].MaintenanceWeight, Wad), "cast"), "eq");
            ieq = I(ieq + I(Floor(raw * cfg.Assets[i].InitialWeight, Wad), "cast"), "ieq");
        }
        for (int m = 0; m < a.Positions.Length; m++)
        {
            Position pos = a.Positions[m];
            if (pos.Size.IsZero) continue;
            MarketParams k = cfg.Markets[m];
            BigInteger p = prices[k.PriceSlot];
            if (p.IsZero) throw new RevertException("price");
            BigInteger size = B(pos.Size);
            BigInteger value = SFloor(size, p, Wad);
            BigInteger pnl = I(I(value - B(pos.OpenNotional), "pnl") - FundingOwed(size, index[m], B(pos.FundingSnapshot)), "pnl2");
            eq = I(eq + pnl, "eq");
            ieq = I(ieq + pnl, "ieq");
            if (size == IMin) throw new RevertException("abs");
            BigInteger notional = U(Ceil(BigInteger.Abs(size) * p, Wad), "notional");
            mm = U(mm + U(U(Ceil(notional * k.MaintenanceMarginFraction, Wad), "mmf") + (BigInteger)k.MinPositionMargin, "mm+"), "mm");
            im = U(im + U(U(Ceil(notional * k.InitialMarginFraction, Wad), "imf") + (BigInteger)k.MinPositionMargin, "im+"), "im");
        }
        return (eq, ieq, im, mm);
    }

    /// <summary>§7.4 sizing.</summary>
    public static BigInteger Size(MarketParams m, BigInteger eq, BigInteger mmReq, BigInteger absS, BigInteger p, BigInteger maxSize)
    {
        BigInteger q;
        if (eq <= 0 || 2 * eq < mmReq)
        {
            q = absS;
        }
        else
        {
            BigInteger b = m.LiquidationBuffer;
            BigInteger target = Ceil(mmReq * (Wad + b), Wad);
            BigInteger deficit = target - eq;
            BigInteger denom = Floor(m.MaintenanceMarginFraction * (Wad + b), Wad) - m.LiquidationPenalty;
            if (denom <= 0) throw new RevertException("denom");
            BigInteger notional = U(Ceil(deficit * Wad, denom), "n");
            q = U(Ceil(notional * Wad, p), "q");
            BigInteger cap = Ceil(absS * m.MaxLiquidationFraction, Wad);
            q = BigInteger.Min(q, cap);
            if (q >= absS) q = absS;
            else if (Ceil(U(Ceil((absS - q) * p, Wad), "r") * m.MaintenanceMarginFraction, Wad) < (BigInteger)m.MinPositionMargin) q = absS;
        }
        if (!maxSize.IsZero && q > maxSize) q = maxSize;
        return q;
    }
}
