using System.Numerics;
using CrossMargin.Ethereum.Numerics;
using FsCheck;
using FsCheck.Fluent;
using static CrossMargin.Risk.Tests.Oracle;

namespace CrossMargin.Risk.Tests;

/// <summary>
/// The book's fast paths (the scalar 64-bit-limb kernel and the AVX-512 kernel) against the exact 256-bit path
/// (<see cref="Margin.ComputeHealth"/>, itself checked against the BigInteger oracle elsewhere): same health, status
/// and margin ratio on every account, inside the fast domain (where the fast path must answer) and at magnitudes
/// that force the fallback.
/// </summary>
public class FastPathTests
{
    private static readonly BigInteger Two = 2;

    // ---------------------------------------------------------------- generators

    /// <summary>A value of bit length exactly n (n ≥ 1), uniform below.</summary>
    private static Gen<UInt256> OfBits(int n) => Gens.Bits(n).Select(v => v | (UInt256.One << (n - 1)));

    /// <summary>Magnitudes inside the fast domain for every input (products stay below the 2^114 quotient bound).</summary>
    private static readonly Gen<UInt256> Small = Gen.Frequency((3, Gens.Decimal.Where(v => v.BitLength <= 80)), (2, Gens.Bits(80)));

    /// <summary>Magnitudes around the fast path's bounds: 2^k − 1, 2^k, 2^k + 1 for k in 110..128, and random lengths there.</summary>
    private static readonly Gen<UInt256> Boundary = Gen.OneOf(
        Gen.Choose(110, 128).Zip(Gen.Choose(-1, 1)).Select(t => t.Item2 < 0 ? (UInt256.One << t.Item1) - UInt256.One : (UInt256.One << t.Item1) + (UInt256)(ulong)t.Item2),
        Gen.Choose(100, 130).SelectMany(OfBits),
        Gens.Edge);

    private static readonly Gen<UInt256> Mixed = Gen.Frequency((5, Small), (1, Boundary), (1, Gens.Amount));

    /// <summary>A fraction or weight: mostly WAD-scale, sometimes any 64-bit value (above WAD the quotient bound is checked).</summary>
    private static readonly Gen<ulong> Param = Gen.Frequency(
        (6, Gens.Fraction),
        (1, Gen.Choose(0, int.MaxValue).Zip(Gen.Choose(0, int.MaxValue)).Select(t => ((ulong)(uint)t.Item1 << 33) ^ (ulong)(uint)t.Item2)),
        (1, Gen.Elements(ulong.MaxValue, 2 * RiskMath.WadU64, 16 * RiskMath.WadU64)));

    private static Gen<RiskConfig> Config(int maxAssets, int maxMarkets, bool wideParams) =>
        from na in Gen.Choose(1, maxAssets)
        from nm in Gen.Choose(1, maxMarkets)
        from slots in Gen.Choose(1, 6)
        from assetSeeds in Gen.Choose(0, int.MaxValue).ArrayOf(na)
        from marketSeeds in Gen.Choose(0, int.MaxValue).ArrayOf(nm)
        from weights in (wideParams ? Param : Gens.Fraction).ArrayOf(2 * na)
        from fractions in (wideParams ? Param : Gens.Fraction).ArrayOf(2 * nm)
        from minMargins in (wideParams ? Gen.Frequency((30, Small), (1, OfBits(120)), (1, OfBits(128))) : Small).ArrayOf(nm)
        select MakeConfig(slots, assetSeeds, marketSeeds, weights, fractions, minMargins);

    private static RiskConfig MakeConfig(int slots, int[] assetSeeds, int[] marketSeeds, ulong[] weights, ulong[] fractions, UInt256[] minMargins)
    {
        var assets = new List<AssetParams> { new(6, 0, RiskMath.WadU64, RiskMath.WadU64, 0, UInt256.MaxValue) };
        for (int i = 0; i < assetSeeds.Length; i++)
        {
            assets.Add(new AssetParams(18, (ushort)(assetSeeds[i] % slots), weights[2 * i], weights[2 * i + 1], 0, UInt256.MaxValue));
        }
        var markets = new List<MarketParams>();
        for (int m = 0; m < marketSeeds.Length; m++)
        {
            UInt256 min = minMargins[m] >> Math.Max(0, minMargins[m].BitLength - 128);
            markets.Add(new MarketParams((ushort)(marketSeeds[m] % slots), fractions[2 * m], fractions[2 * m + 1], 0, 0, 0, RiskMath.WadU64, 0, (UInt128)min));
        }
        return new RiskConfig(assets, markets, slots);
    }

    private sealed record Case(RiskConfig Config, UInt256[] Prices, FundingState[] Funding, AccountState[] Accounts, int MaxCollaterals, int MaxPositions);

    /// <summary>Funding states inside the fast domain: |index| ≤ 2^80, |rate| ≤ 2^40 (accrual below 2^80 at prices ≤ 2^80).</summary>
    private static Gen<FundingState[]> SmallFunding(int markets) =>
        (from idx in Gens.Signed(Small)
         from rate in Gens.Signed(Gens.Bits(40))
         from back in Gen.Choose(0, 100_000)
         select new FundingState(idx, rate, 1_000_000UL - (ulong)back)).ArrayOf(markets);

    /// <summary>Accounts: all in the fast domain, or (weight <paramref name="mixedWeight"/>) with any of <see cref="Mixed"/> magnitudes.</summary>
    private static Gen<Case> Cases(int mixedWeight, Gen<UInt256> priceMag, int maxAssets, int maxMarkets, bool wideParams, int accounts) =>
        from cfg in Config(maxAssets, maxMarkets, wideParams)
        from prices in Gens.Prices(cfg.PriceSlotCount, priceMag)
        from funding in mixedWeight == 0 ? SmallFunding(cfg.MarketCount) : Gen.Frequency((3, SmallFunding(cfg.MarketCount)), (1, Gens.Funding(cfg.MarketCount, priceMag)))
        from accts in (mixedWeight == 0 ? Gens.Account(cfg, Small) : Gen.Frequency((3, Gens.Account(cfg, Small)), (mixedWeight, Gens.Account(cfg, Mixed)))).ArrayOf(accounts)
        from maxC in Gen.Frequency((4, Gen.Constant(cfg.AssetCount - 1)), (1, Gen.Choose(1, 4)))
        from maxP in Gen.Frequency((4, Gen.Constant(cfg.MarketCount)), (1, Gen.Choose(1, 10)))
        select new Case(cfg, prices, funding, accts, Math.Max(1, maxC), maxP);

    // ---------------------------------------------------------------- helpers

    /// <summary>The exact health, or null where the book reports <see cref="AccountStatus.Reverts"/>: the view reverts, or its status cannot be classified (MM ≥ 2^255).</summary>
    private static Health? ExactOrNull(RiskContext ctx, AccountState a)
    {
        try
        {
            Health h = Margin.ComputeHealth(ctx, a);
            _ = h.Status;
            return h;
        }
        catch (ArithmeticException)
        {
            return null;
        }
        catch (PriceUnavailableException)
        {
            return null;
        }
    }

    private static RiskBook Build(Case c, bool vector)
    {
        var book = new RiskBook(c.Config, c.Accounts.Length, c.MaxCollaterals, c.MaxPositions) { VectorEnabled = vector };
        for (int i = 0; i < c.Accounts.Length; i++) book.SetAccount(i, c.Accounts[i]);
        book.SetMarketState(c.Prices, c.Funding, 1_000_000);
        return book;
    }

    private static void AssertMatchesExact(RiskBook book, RiskContext ctx, AccountState[] accts)
    {
        for (int i = 0; i < accts.Length; i++)
        {
            if (!book.Contains(i)) continue;
            Health? h = ExactOrNull(ctx, accts[i]);
            if (h is null)
            {
                Assert.Equal(AccountStatus.Reverts, book.StatusOf(i));
                Assert.Equal(long.MinValue, book.RatioOf(i));
                continue;
            }
            Assert.Equal(h.Value, book.HealthOf(i));
            Assert.Equal(h.Value.Status, book.StatusOf(i));
            Assert.Equal(h.Value.MarginRatio, book.RatioOf(i));
        }
    }

    // ---------------------------------------------------------------- kernel pieces

    [Fact]
    public void Factor_muldiv_equals_floor_and_remainder_whenever_inside_its_bounds()
    {
        Gen<UInt256> multiplier = Gen.Frequency((3, Gens.Bits(80)), (2, Gens.Bits(118)), (1, Gens.Edge), (1, Gens.Decimal));
        Gens.Check(Gens.Z3(Gens.Bits(128), multiplier, Gen.Elements(true, false)), t =>
        {
            (UInt256 a, UInt256 m, bool fixedK) = t;
            WadFactor f;
            int k;
            if (fixedK)
            {
                m = new UInt256(m.u0);
                a >>= 13; // the fixed factors are only used with a < 2^115
                f = WadFactor.Fixed(m.u0);
                k = WadFactor.FixedK;
            }
            else
            {
                if (!WadFactor.TryOf(m, out f))
                {
                    Assert.True(m.BitLength > 115);
                    return;
                }
                k = f.Sh + 64;
            }
            Assert.True((B(new UInt256(f.F0, f.F1, 0, 0))) < Two << 119, "factor below 2^120");
            BigInteger prod = B(a) * B(m);
            BigInteger q = prod / Wad, r = prod % Wad;
            bool inside = B(a) < BigInteger.Pow(2, k) && q < BigInteger.Pow(2, RiskKernel.QuotientBits);
            bool ok = fixedK
                ? RiskKernel.MulDivFixed(in f, a.u0, a.u1, out ulong q0, out ulong q1, out ulong rem)
                : RiskKernel.MulDiv(in f, a.u0, a.u1, out q0, out q1, out rem);
            Assert.Equal(inside, ok);
            if (!ok) return;
            Assert.Equal(q, B(new UInt256(q0, q1, 0, 0)));
            Assert.Equal(r, (BigInteger)rem);
        }, 20_000);
    }

    [Fact]
    public void Snapshot_term_is_the_signed_floor_and_remainder()
    {
        Gens.Check(Gens.Signed(Gens.Bits(128)).Zip(Gens.Signed(Gen.Frequency((1, Gens.Bits(128)), (1, Gens.Bits(70))))), t =>
        {
            (Int256 size, Int256 snap) = t;
            BigInteger prod = B(size) * B(snap);
            BigInteger q = Floor(prod, Wad), r = prod - q * Wad;
            bool inside = BigInteger.Abs(prod) / Wad < BigInteger.Pow(2, RiskKernel.QuotientBits - 1);
            bool ok = RiskKernel.SnapshotTerm(size, snap, out Int128 sq, out ulong sr);
            Assert.Equal(inside, ok);
            if (!ok) return;
            Assert.Equal(q, (BigInteger)sq);
            Assert.Equal(r, (BigInteger)sr);
        }, 20_000);
    }

    [Fact]
    public void Ratio_without_division_equals_the_exact_ratio()
    {
        // equity in (−2^126, 2^126), margin in [0, 2^127): the fast path's range; edges around the clamps and exact multiples
        Gen<UInt256> mm = Gen.Frequency((3, Gens.Bits(127)), (2, Gens.Bits(70)), (1, Gen.Elements(UInt256.Zero, UInt256.One, (UInt256)3UL)));
        Gen<(UInt256, Int256)> pair = mm.SelectMany(m => Gen.Frequency(
            (3, Gens.Signed(Gens.Bits(127)).Select(e => (m, e))),
            (2, Gen.Choose(-3, 3).Zip(Gen.Choose(0, 2_000_000_000)).Select(t =>
            {
                // near k·MM/1e9 for small k (exact multiples and one off) and near the clamp 2^63·MM/1e9
                BigInteger target = t.Item2 == 0 ? (BigInteger.One << 63) * B(m) / 1_000_000_000 : B(m) * t.Item2 / 1_000_000_000;
                BigInteger e = target + t.Item1;
                if (t.Item2 % 2 == 1) e = -e;
                BigInteger lim = (BigInteger.One << 126) - 1;
                e = BigInteger.Max(-lim, BigInteger.Min(lim, e));
                return (m, (Int256)e);
            }))));
        Gens.Check(pair, t =>
        {
            (UInt256 m, Int256 e) = t;
            Int128 e128 = (Int128)e;
            long expected = new Health(e, e, UInt256.Zero, m).MarginRatio;
            Assert.Equal(expected, RiskKernel.Ratio((ulong)e128, (ulong)(e128 >> 64), m.u0, m.u1));
        }, 20_000);
    }

    // ---------------------------------------------------------------- whole book

    [Fact]
    public void Both_kernels_answer_for_every_account_of_the_fast_domain_and_equal_the_exact_path()
    {
        Gens.Check(Cases(0, Small, 15, 16, wideParams: false, accounts: 21), c =>
        {
            var ctx = new RiskContext(c.Config, c.Funding, c.Prices, 1_000_000);
            foreach (bool vector in new[] { true, false })
            {
                RiskBook book = Build(c, vector);
                AssertMatchesExact(book, ctx, c.Accounts);
                long outOfSlots = c.Accounts.Count(a => BitOperations.PopCount(a.CollateralMask) > c.MaxCollaterals || BitOperations.PopCount(a.PositionMask) > c.MaxPositions);
                Assert.Equal(outOfSlots, book.ExactPathCount); // only accounts that do not fit the slots leave the fast path
                Assert.Equal(0, book.VectorFallbackCount);
            }
        }, 300);
    }

    [Fact]
    public void A_book_sized_for_its_configuration_keeps_small_worlds_on_the_fast_path()
    {
        Gens.Check(Cases(0, Small, 15, 16, wideParams: false, accounts: 21), c =>
        {
            var ctx = new RiskContext(c.Config, c.Funding, c.Prices, 1_000_000);
            var book = RiskBook.ForConfig(c.Config, 4); // grows as accounts arrive
            for (int i = 0; i < c.Accounts.Length; i++) book.SetAccount(i, c.Accounts[i]);
            book.SetMarketState(c.Prices, c.Funding, 1_000_000);
            Assert.Equal(Math.Min(4, c.Config.AssetCount - 1), book.CollateralSlots);
            Assert.Equal(Math.Min(8, c.Config.MarketCount), book.PositionSlots);
            AssertMatchesExact(book, ctx, c.Accounts);
            long outOfSlots = c.Accounts.Count(a => BitOperations.PopCount(a.CollateralMask) > book.CollateralSlots || BitOperations.PopCount(a.PositionMask) > book.PositionSlots);
            Assert.Equal(outOfSlots, book.ExactPathCount);
            if (c.Config.AssetCount <= 5 && c.Config.MarketCount <= 8) Assert.Equal(0, book.ExactPathCount); // every account fits
        }, 200);
    }

    [Fact]
    public void Boundary_magnitudes_fall_back_and_still_equal_the_exact_path()
    {
        long exact = 0, lanesBack = 0, evaluations = 0;
        Gens.Check(Cases(2, Gen.Frequency((12, Small), (1, Boundary)), 15, 16, wideParams: true, accounts: 24), c =>
        {
            var ctx = new RiskContext(c.Config, c.Funding, c.Prices, 1_000_000);
            RiskBook vectorBook = Build(c, true), scalarBook = Build(c, false);
            AssertMatchesExact(vectorBook, ctx, c.Accounts);
            AssertMatchesExact(scalarBook, ctx, c.Accounts);
            exact += scalarBook.ExactPathCount;
            lanesBack += vectorBook.VectorFallbackCount;
            evaluations += c.Accounts.Length; // one evaluation each, in SetMarketState's sweep
        }, 400);
        Assert.True(exact > 0, "some accounts took the exact path");
        Assert.True(evaluations - exact > evaluations / 4, $"many accounts stayed on the fast path ({exact} of {evaluations} exact, {lanesBack} lanes back)");
        if (RiskVector.IsSupported) Assert.True(lanesBack > 0, "some vector lanes fell back");
    }

    [Fact]
    public void Configurations_beyond_the_vector_tables_use_the_scalar_kernel()
    {
        var assets = new List<AssetParams> { new(6, 0, RiskMath.WadU64, RiskMath.WadU64, 0, UInt256.MaxValue) };
        var markets = new List<MarketParams>();
        for (int m = 0; m < 20; m++) markets.Add(new MarketParams((ushort)(m % 4), RiskMath.WadU64 / 10, RiskMath.WadU64 / 20, 0, 0, 0, RiskMath.WadU64, 0, 0));
        var cfg = new RiskConfig(assets, markets, 4);
        Gens.Check(Gens.Account(cfg, Small).ArrayOf(17).Zip(Gens.Prices(4, Small)).Zip(SmallFunding(20)), t =>
        {
            ((AccountState[] accts, UInt256[] prices), FundingState[] funding) = t;
            var book = new RiskBook(cfg, accts.Length, 1, 20);
            Assert.False(book.VectorEnabled);
            for (int i = 0; i < accts.Length; i++) book.SetAccount(i, accts[i]);
            book.SetMarketState(prices, funding, 1_000_000);
            AssertMatchesExact(book, new RiskContext(cfg, funding, prices, 1_000_000), accts);
            Assert.Equal(0, book.ExactPathCount);
        }, 50);
    }

    [Fact]
    public void Incremental_ticks_equal_a_full_recomputation()
    {
        Gen<(int Kind, int Target, UInt256 Value, int Dt)> step =
            from kind in Gen.Choose(0, 2)
            from target in Gen.Choose(0, 15)
            from value in Gen.Frequency((4, Small), (1, Boundary), (1, Gen.Constant(UInt256.Zero)))
            from dt in Gen.Choose(0, 5_000)
            select (kind, target, value, dt);
        Gens.Check(Cases(1, Small, 6, 8, wideParams: true, accounts: 20).Zip(step.ArrayOf(6)), t =>
        {
            (Case c, (int Kind, int Target, UInt256 Value, int Dt)[] steps) = t;
            RiskBook[] books = [Build(c, true), Build(c, false)]; // the vector kernel's incremental update, and the scalar one
            UInt256[] prices = (UInt256[])c.Prices.Clone();
            FundingState[] funding = (FundingState[])c.Funding.Clone();
            ulong now = 1_000_000;
            foreach ((int kind, int target, UInt256 value, int dt) in steps)
            {
                int slot = target % prices.Length, m = target % funding.Length;
                if (kind == 0) prices[slot] = value;
                else if (kind == 1)
                {
                    Int256 rate = (Int256)(value >> Math.Max(0, value.BitLength - 80));
                    funding[m] = new FundingState(funding[m].Index, dt % 2 == 0 ? rate : -rate, now - (ulong)dt);
                }
                else now += (ulong)dt;
                foreach (RiskBook book in books)
                {
                    if (kind == 0) book.UpdatePrice(slot, value);
                    else if (kind == 1) book.UpdateFunding(m, funding[m]);
                    else book.SetTimestamp(now);
                    AssertMatchesExact(book, new RiskContext(c.Config, funding, prices, now), c.Accounts);
                }
            }
            var fresh = new RiskBook(c.Config, c.Accounts.Length, c.MaxCollaterals, c.MaxPositions);
            for (int i = 0; i < c.Accounts.Length; i++) fresh.SetAccount(i, c.Accounts[i]);
            fresh.SetMarketState(prices, funding, now);
            foreach (RiskBook book in books)
            {
                for (int i = 0; i < c.Accounts.Length; i++)
                {
                    Assert.Equal(fresh.HealthOf(i), book.HealthOf(i));
                    Assert.Equal(fresh.RatioOf(i), book.RatioOf(i));
                }
                var liq = new List<int>();
                book.Liquidatable(liq);
                Assert.Equal(Enumerable.Range(0, c.Accounts.Length).Where(i => book.RatioOf(i) < Health.RatioScale).Order(), liq.Order());
            }
        }, 200);
    }

    [Fact]
    public void SetTimestamp_recomputes_only_accounts_with_accruing_markets()
    {
        var w = new World();
        w.Acct(World.Alice).Cash = World.W("1000");
        w.Acct(World.Alice).Positions[World.EthMkt] = new Position(World.W("1"), World.W("2000"), Int256.Zero);
        w.Acct(World.Bob).Cash = World.W("1000");
        w.Acct(World.Bob).Positions[World.BtcMkt] = new Position(World.W("0.1"), World.W("5000"), Int256.Zero);
        FundingState[] funding = (FundingState[])w.Funding.Clone();
        funding[World.EthMkt] = new FundingState(Int256.Zero, (Int256)1_000_000_000L, w.Now);
        var book = new RiskBook(w.Config, 2);
        book.SetAccount(0, w.Acct(World.Alice));
        book.SetAccount(1, w.Acct(World.Bob));
        book.SetMarketState(w.Prices, funding, w.Now);
        Assert.Equal(0, book.SetTimestamp(w.Now));
        Assert.Equal(1, book.SetTimestamp(w.Now + 3600)); // only Alice holds the accruing market
        var ctx = new RiskContext(w.Config, funding, w.Prices, w.Now + 3600);
        Assert.Equal(Margin.ComputeHealth(ctx, w.Acct(World.Alice)), book.HealthOf(0));
        Assert.Equal(Margin.ComputeHealth(ctx, w.Acct(World.Bob)), book.HealthOf(1));
        Assert.True(book.HealthOf(0).Equity < Margin.ComputeHealth(new RiskContext(w.Config, funding, w.Prices, w.Now), w.Acct(World.Alice)).Equity);
        Assert.Equal(w.Now + 3600, book.Context!.Timestamp);
    }
}
