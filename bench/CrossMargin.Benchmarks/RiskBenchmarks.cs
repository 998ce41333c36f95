using BenchmarkDotNet.Attributes;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Risk;

namespace CrossMargin.Benchmarks;

/// <summary>
/// Risk book: 100,000 synthetic accounts with 3 collaterals and 8 positions each (funding pending on every
/// position). Full sweep single-threaded and parallel; one price tick on a market held by 10,000 accounts.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class RiskBenchmarks
{
    public const int Accounts = 100_000;
    public const int TickAccounts = 10_000;
    private const ulong Wad = 1_000_000_000_000_000_000UL;

    private RiskBook _book = null!;
    private UInt256 _tickPriceA;
    private UInt256 _tickPriceB;
    private bool _flip;

    /// <summary>Builds the synthetic book (seeded).</summary>
    public static RiskBook BuildBook(int accounts, int tickAccounts, out UInt256 tickPrice)
    {
        var rnd = new Random(20261122);
        // slots 0..7: one per market 0..7 (collateral assets use slots 0..2); slot 8: market 8, the "tick" market
        var assets = new List<AssetParams> { new(6, 0, Wad, Wad, 0, UInt256.MaxValue) };
        for (int i = 0; i < 3; i++) assets.Add(new AssetParams(18, (ushort)i, Wad / 10 * 8, Wad / 10 * 9, Wad / 20, UInt256.MaxValue));
        var markets = new List<MarketParams>();
        for (int m = 0; m < 9; m++)
        {
            markets.Add(new MarketParams((ushort)m, Wad / 10, Wad / 20, Wad / 2000, Wad / 1000 * 15, Wad / 2, Wad / 2, Wad / 10, (UInt128)(10 * Wad)));
        }
        var cfg = new RiskConfig(assets, markets, 9);
        var prices = new UInt256[9];
        for (int s = 0; s < 9; s++) prices[s] = new UInt256((ulong)rnd.NextInt64(1, 100_000)) * new UInt256(Wad) + new UInt256((ulong)rnd.NextInt64(0, (long)Wad));
        var funding = new FundingState[9];
        for (int m = 0; m < 9; m++) funding[m] = new FundingState((Int256)rnd.NextInt64(-(long)Wad, (long)Wad), (Int256)rnd.NextInt64(-1_000_000_000, 1_000_000_000), 1_000_000);
        var book = new RiskBook(cfg, accounts, maxCollaterals: 3, maxPositions: 8);
        var a = new AccountState(cfg);
        for (int id = 0; id < accounts; id++)
        {
            Array.Clear(a.Collateral);
            Array.Clear(a.Positions);
            a.Cash = (Int256)rnd.NextInt64(-(long)(5_000 * (Wad / 1000)), long.MaxValue) * 1000;
            for (int i = 1; i <= 3; i++) a.Collateral[i] = new UInt256((ulong)rnd.NextInt64(1, long.MaxValue)) * 1000UL;
            bool tick = id < tickAccounts;
            for (int k = 0; k < 8; k++)
            {
                int m = tick && k == 7 ? 8 : k;
                Int256 size = (Int256)rnd.NextInt64(1, long.MaxValue) * 100;
                if (rnd.Next(2) == 0) size = -size;
                UInt256 entry = prices[m];
                Int256 on = RiskMath.SMulDivCeil(size, entry, RiskMath.Wad);
                a.Positions[m] = new Position(size, on, (Int256)rnd.NextInt64(-(long)Wad, (long)Wad));
            }
            book.SetAccount(id, a);
        }
        book.SetMarketState(prices, funding, 1_003_600);
        tickPrice = prices[8];
        return book;
    }

    [GlobalSetup]
    public void Setup()
    {
        _book = BuildBook(Accounts, TickAccounts, out _tickPriceA);
        _tickPriceB = _tickPriceA - new UInt256(Wad / 100);
    }

    /// <summary>Recomputes all 100,000 accounts on one thread and rebuilds the ratio heap.</summary>
    [Benchmark]
    public void FullSweep() => _book.Sweep();

    /// <summary>The same with Parallel.For over partitions.</summary>
    [Benchmark]
    public void FullSweepParallel() => _book.SweepParallel();

    /// <summary>One oracle tick on the market held by 10,000 accounts: recompute them and update the heap.</summary>
    [Benchmark]
    public int Tick10k()
    {
        _flip = !_flip;
        return _book.UpdatePrice(8, _flip ? _tickPriceA : _tickPriceB);
    }
}
