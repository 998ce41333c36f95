using CrossMargin.Ethereum.Numerics;
using FsCheck;
using FsCheck.Fluent;

namespace CrossMargin.Risk.Tests;

/// <summary>FsCheck generators for WAD-scale values, edges and whole accounts.</summary>
internal static class Gens
{
    public const ulong Seed = 0x5EED_2026_0001UL;

    /// <summary>Deterministic property run: fixed seed (printed by FsCheck on failure), throws on the first failure.</summary>
    public static void Check<T>(Gen<T> gen, Action<T> body, int cases = 2000) =>
        Prop.ForAll(Arb.From(gen), body).Check(Config.QuickThrowOnFailure.WithMaxTest(cases).WithReplay(Seed, 0x9E3779B97F4A7C15UL));

    public static Gen<(T1, T2, T3)> Z3<T1, T2, T3>(Gen<T1> a, Gen<T2> b, Gen<T3> c) =>
        from x in a from y in b from z in c select (x, y, z);

    public static Gen<(T1, T2, T3, T4)> Z4<T1, T2, T3, T4>(Gen<T1> a, Gen<T2> b, Gen<T3> c, Gen<T4> d) =>
        from x in a from y in b from z in c from w in d select (x, y, z, w);

    private static readonly Gen<ulong> Limb = Gen.Choose(0, (1 << 22) - 1).Three()
        .Select(t => ((ulong)(uint)t.Item1 << 42) | ((ulong)(uint)t.Item2 << 20) | ((ulong)(uint)t.Item3 & 0xFFFFF));

    private static readonly Gen<UInt256> Uniform = Limb.Four().Select(t => new UInt256(t.Item1, t.Item2, t.Item3, t.Item4));

    /// <summary>Uniform value with a random bit length 0..bits.</summary>
    public static Gen<UInt256> Bits(int bits) =>
        Uniform.Zip(Gen.Choose(0, bits)).Select(t => t.Item2 == 0 ? UInt256.Zero : t.Item1 >> (256 - t.Item2));

    /// <summary>k·10^e ± small: lands on and next to WAD-rounding boundaries.</summary>
    public static readonly Gen<UInt256> Decimal =
        Gen.Choose(0, 40).Zip(Gen.Choose(1, 100_000)).Zip(Gen.Choose(-2, 2))
            .Select(t =>
            {
                UInt256 v = UInt256.Pow10(t.Item1.Item1) * (UInt256)(uint)t.Item1.Item2;
                return t.Item2 < 0 ? v - (UInt256)(uint)(-t.Item2) : v + (UInt256)(uint)t.Item2;
            });

    public static readonly Gen<UInt256> Edge = Gen.Elements(
        UInt256.Zero, UInt256.One, (UInt256)2UL, RiskMath.Wad - UInt256.One, RiskMath.Wad, RiskMath.Wad + UInt256.One,
        UInt256.MaxValue, UInt256.MaxValue - UInt256.One, UInt256.One << 255, (UInt256.One << 255) - UInt256.One,
        UInt256.One << 128, (UInt256.One << 128) - UInt256.One, (UInt256)ulong.MaxValue);

    /// <summary>Any unsigned value, weighted toward realistic WAD magnitudes.</summary>
    public static readonly Gen<UInt256> Amount = Gen.Frequency(
        (4, Decimal), (3, Bits(128)), (2, Bits(256)), (1, Edge));

    /// <summary>Realistic WAD magnitudes (up to ~2^100): the fast path's domain.</summary>
    public static readonly Gen<UInt256> Realistic = Gen.Frequency((3, Decimal.Where(v => v.BitLength <= 100)), (2, Bits(100)));

    public static Gen<Int256> Signed(Gen<UInt256> mag) =>
        mag.Zip(Gen.Elements(true, false)).Select(t =>
        {
            Int256 v = (Int256)(t.Item1 >> 1);
            return t.Item2 ? -v : v;
        });

    public static readonly Gen<Int256> AnySigned = Gen.Frequency(
        (8, Signed(Amount)),
        (1, Gen.Elements(Int256.MinValue, Int256.MaxValue, Int256.MinValue + Int256.One, Int256.MinusOne, Int256.Zero)));

    /// <summary>A WAD fraction in [0, 1e18], edges included.</summary>
    public static readonly Gen<ulong> Fraction = Gen.Frequency(
        (3, Gen.Choose(0, 1_000_000).Select(i => (ulong)i * 1_000_000_000_000UL)),
        (1, Gen.Elements(0UL, 1UL, RiskMath.WadU64 - 1, RiskMath.WadU64, 50_000_000_000_000_000UL)));

    /// <summary>A random valid configuration (contract validation rules hold) with 1..3 collateral assets and 1..4 markets.</summary>
    public static readonly Gen<RiskConfig> Config_ =
        from na in Gen.Choose(1, 3)
        from nm in Gen.Choose(1, 4)
        from slots in Gen.Choose(1, 4)
        from assetSeeds in Gen.Choose(0, int.MaxValue).ArrayOf(na)
        from marketSeeds in Gen.Choose(0, int.MaxValue).ArrayOf(nm)
        select MakeConfig(slots, assetSeeds, marketSeeds);

    private static RiskConfig MakeConfig(int slots, int[] assetSeeds, int[] marketSeeds)
    {
        var assets = new List<AssetParams> { new(6, 0, RiskMath.WadU64, RiskMath.WadU64, 0, UInt256.MaxValue) };
        foreach (int s in assetSeeds)
        {
            var r = new Random(s);
            ulong mw = (ulong)r.NextInt64(0, (long)RiskMath.WadU64 + 1);
            ulong iw = (ulong)r.NextInt64(0, (long)mw + 1);
            assets.Add(new AssetParams(18, (ushort)r.Next(slots), iw, mw, 0, UInt256.MaxValue));
        }
        var markets = new List<MarketParams>();
        foreach (int s in marketSeeds)
        {
            var r = new Random(s);
            ulong mmf = (ulong)r.NextInt64(1, (long)RiskMath.WadU64);
            ulong imf = (ulong)r.NextInt64((long)mmf + 1, (long)RiskMath.WadU64 + 1);
            ulong pen = (ulong)r.NextInt64(0, (long)(mmf / 2) + 1);
            markets.Add(new MarketParams((ushort)r.Next(slots), imf, mmf, 0, pen, (ulong)r.NextInt64(0, (long)RiskMath.WadU64 + 1),
                (ulong)r.NextInt64(1, (long)RiskMath.WadU64 + 1), (ulong)r.NextInt64(0, (long)RiskMath.WadU64 + 1),
                (UInt128)(ulong)r.NextInt64(0, long.MaxValue) * (ulong)r.Next(0, 3)));
        }
        return new RiskConfig(assets, markets, slots);
    }

    /// <summary>A random account for a configuration: each entry present with probability 1/2.</summary>
    public static Gen<AccountState> Account(RiskConfig cfg, Gen<UInt256> mag) =>
        from cash in Signed(mag)
        from coll in mag.ArrayOf(cfg.AssetCount)
        from collOn in Gen.Elements(true, false).ArrayOf(cfg.AssetCount)
        from sizes in Signed(mag).ArrayOf(cfg.MarketCount)
        from ons in Signed(mag).ArrayOf(cfg.MarketCount)
        from snaps in Signed(mag).ArrayOf(cfg.MarketCount)
        from posOn in Gen.Elements(true, false).ArrayOf(cfg.MarketCount)
        select Build(cfg, cash, coll, collOn, sizes, ons, snaps, posOn);

    private static AccountState Build(RiskConfig cfg, Int256 cash, UInt256[] coll, bool[] collOn, Int256[] sizes, Int256[] ons, Int256[] snaps, bool[] posOn)
    {
        var a = new AccountState(cfg) { Cash = cash };
        for (int i = 1; i < cfg.AssetCount; i++) if (collOn[i]) a.Collateral[i] = coll[i];
        for (int m = 0; m < cfg.MarketCount; m++)
        {
            if (posOn[m] && !sizes[m].IsZero) a.Positions[m] = new Position(sizes[m], ons[m], snaps[m]);
        }
        return a;
    }

    public static Gen<UInt256[]> Prices(int slots, Gen<UInt256> mag) => mag.Select(p => p.IsZero ? UInt256.One : p).ArrayOf(slots);

    public static Gen<FundingState[]> Funding(int markets, Gen<UInt256> mag) =>
        (from idx in Signed(mag)
         from rate in Signed(Bits(70))
         from back in Gen.Choose(0, 100_000)
         select new FundingState(idx, rate, 1_000_000UL - (ulong)back)).ArrayOf(markets);
}
