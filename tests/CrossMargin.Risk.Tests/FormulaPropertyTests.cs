using System.Numerics;
using CrossMargin.Ethereum.Numerics;
using FsCheck.Fluent;
using static CrossMargin.Risk.Tests.Oracle;

namespace CrossMargin.Risk.Tests;

/// <summary>Every formula of protocol.md against the BigInteger reference, at random and edge inputs.</summary>
public class FormulaPropertyTests
{
    /// <summary>Either both revert, or both return the same value.</summary>
    private static void Same(Func<BigInteger> reference, Func<BigInteger> mirror)
    {
        BigInteger expected;
        try
        {
            expected = reference();
        }
        catch (RevertException)
        {
            Assert.ThrowsAny<ArithmeticException>(() => mirror());
            return;
        }
        Assert.Equal(expected, mirror());
    }

    [Fact]
    public void SMulDivFloor_and_Ceil_match_reference() =>
        Gens.Check(Gens.Z3(Gens.AnySigned, Gens.Amount, Gens.Amount), t =>
        {
            (Int256 a, UInt256 b, UInt256 d) = t;
            if (d.IsZero) d = UInt256.One;
            Same(() => SFloor(B(a), B(b), B(d)), () => B(RiskMath.SMulDivFloor(a, b, d)));
            Same(() => SCeil(B(a), B(b), B(d)), () => B(RiskMath.SMulDivCeil(a, b, d)));
            Same(() => SFloor(B(a), B(b), Wad), () => B(RiskMath.PositionValue(a, b)));
        });

    [Fact]
    public void Unsigned_helpers_match_reference() =>
        Gens.Check(Gens.Z3(Gens.Amount, Gens.Amount, Gens.Fraction), t =>
        {
            (UInt256 a, UInt256 p, ulong f) = t;
            Same(() => U(Ceil(B(a) * B(p), Wad), "n"), () => B(RiskMath.NotionalUp(a, p)));
            Same(() => U(Ceil(U(Ceil(B(a) * B(p), Wad), "n") * f, Wad), "m"), () => B(RiskMath.MarginRequirement(a, p, f)));
            Same(() => U(Floor(U(Floor(B(a) * B(p), Wad), "n") * f, Wad), "c"), () => B(RiskMath.CollateralValue(a, p, f)));
        });

    [Fact]
    public void FundingOwed_matches_reference() =>
        Gens.Check(Gens.Z3(Gens.AnySigned, Gens.AnySigned, Gens.AnySigned), t =>
            Same(() => FundingOwed(B(t.Item1), B(t.Item2), B(t.Item3)), () => B(RiskMath.FundingOwed(t.Item1, t.Item2, t.Item3))));

    [Fact]
    public void FundingIndex_matches_reference() =>
        Gens.Check(Gens.Z3(Gens.AnySigned, Gens.AnySigned, Gens.Amount.Zip(Gen.Choose(0, 200_000))), t =>
        {
            (Int256 idx, Int256 rate, (UInt256 price, int dt)) = t;
            if (price.IsZero) price = UInt256.One;
            var f = new FundingState(idx, rate, 1_000_000);
            ulong now = 1_000_000UL + (ulong)dt - 100_000UL;
            Same(() => Index(f, B(price), now), () => B(RiskContext.FundingIndexAt(f, price, now)));
        });

    [Fact]
    public void Liquidation_size_matches_reference() =>
        Gens.Check(Gens.Z3(Gens.Config_, Gens.Signed(Gens.Realistic), Gens.Z4(Gens.Realistic, Gens.Realistic, Gens.Realistic, Gens.Realistic)), t =>
        {
            (RiskConfig cfg, Int256 eq, (UInt256 mm, UInt256 absS, UInt256 p, UInt256 maxSize)) = t;
            if (absS.IsZero) absS = UInt256.One;
            if (p.IsZero) p = UInt256.One;
            MarketParams m = cfg.Markets[0];
            var h = new Health(eq, eq, mm, mm);
            Same(() => Size(m, B(eq), B(mm), B(absS), B(p), B(maxSize)), () => B(Liquidation.Size(m, h, absS, p, maxSize)));
        }, 5000);

    [Fact]
    public void Health_matches_reference_on_random_accounts() =>
        Gens.Check(
            from cfg in Gens.Config_
            from prices in Gens.Prices(cfg.PriceSlotCount, Gens.Amount)
            from funding in Gens.Funding(cfg.MarketCount, Gens.Amount)
            from acct in Gens.Account(cfg, Gens.Amount)
            select (cfg, prices, funding, acct),
            t =>
            {
                (RiskConfig cfg, UInt256[] prices, FundingState[] funding, AccountState acct) = t;
                var ctx = new RiskContext(cfg, funding, prices, 1_000_000);
                BigInteger[] bp = prices.Select(B).ToArray();
                Health h = default;
                (BigInteger, BigInteger, BigInteger, BigInteger) expected;
                try
                {
                    var idx = new BigInteger[cfg.MarketCount];
                    for (int m = 0; m < idx.Length; m++)
                    {
                        if (acct.Positions[m].IsOpen) idx[m] = Index(funding[m], bp[cfg.Markets[m].PriceSlot], 1_000_000);
                    }
                    expected = Health(cfg, bp, idx, acct);
                }
                catch (RevertException)
                {
                    Assert.ThrowsAny<ArithmeticException>(() => Margin.ComputeHealth(ctx, acct));
                    return;
                }
                h = Margin.ComputeHealth(ctx, acct);
                Assert.Equal(expected, (B(h.Equity), B(h.InitialEquity), B(h.InitialMargin), B(h.MaintenanceMargin)));
            }, 3000);

    [Fact]
    public void Health_matches_reference_on_realistic_accounts_and_status_is_consistent() =>
        Gens.Check(
            from cfg in Gens.Config_
            from prices in Gens.Prices(cfg.PriceSlotCount, Gens.Realistic)
            from funding in Gens.Funding(cfg.MarketCount, Gens.Realistic)
            from acct in Gens.Account(cfg, Gens.Realistic)
            select (cfg, prices, funding, acct),
            t =>
            {
                (RiskConfig cfg, UInt256[] prices, FundingState[] funding, AccountState acct) = t;
                var ctx = new RiskContext(cfg, funding, prices, 1_000_000);
                BigInteger[] bp = prices.Select(B).ToArray();
                var idx = new BigInteger[cfg.MarketCount];
                for (int m = 0; m < idx.Length; m++) idx[m] = Index(funding[m], bp[cfg.Markets[m].PriceSlot], 1_000_000);
                (BigInteger eq, BigInteger ieq, BigInteger im, BigInteger mm) = Health(cfg, bp, idx, acct);
                Health h = Margin.ComputeHealth(ctx, acct);
                Assert.Equal((eq, ieq, im, mm), (B(h.Equity), B(h.InitialEquity), B(h.InitialMargin), B(h.MaintenanceMargin)));
                AccountStatus expected = eq < 0 ? AccountStatus.Insolvent
                    : eq < mm ? (eq == 0 || 2 * eq < mm ? AccountStatus.Deep : AccountStatus.Liquidatable)
                    : ieq < im ? AccountStatus.Restricted : AccountStatus.Healthy;
                Assert.Equal(expected, h.Status);
                Assert.Equal(eq < mm, h.IsLiquidatable);
                if (mm.IsZero)
                {
                    Assert.Equal(eq < 0 ? -long.MaxValue : long.MaxValue, h.MarginRatio);
                }
                else
                {
                    BigInteger ratio = Floor(eq * Health.RatioScale, mm);
                    long clamped = ratio > long.MaxValue ? long.MaxValue : ratio < -long.MaxValue ? -long.MaxValue : (long)ratio;
                    Assert.Equal(clamped, h.MarginRatio);
                    Assert.Equal(eq < mm, h.MarginRatio < Health.RatioScale);
                }
            }, 3000);
}
