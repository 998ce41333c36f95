using BenchmarkDotNet.Attributes;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Keeper.Detection;
using CrossMargin.Keeper.Planning;
using CrossMargin.Risk;

namespace CrossMargin.Benchmarks;

/// <summary>
/// The liquidation planner on one crash block: 1,000 liquidatable accounts (2 collaterals, 3 positions each), each
/// sized with the Risk mirror's liquidation simulator, ranked, and packed into batches within the gas budgets; and the
/// collateral planner on 1,000 position-free insolvent accounts.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class PlannerBenchmarks
{
    private const ulong Wad = 1_000_000_000_000_000_000UL;
    private DetectionResult _detection = null!;
    private DetectionResult _collateralDetection = null!;
    private Dictionary<Address, AccountState> _states = null!;
    private LiquidationPlanner _planner = null!;
    private CollateralPlanner _collateral = null!;
    private GasQuote _gas;

    [GlobalSetup]
    public void Setup()
    {
        var rnd = new Random(7);
        var assets = new List<AssetParams> { new(6, 0, Wad, Wad, 0, UInt256.MaxValue) };
        for (int i = 0; i < 2; i++) assets.Add(new AssetParams(18, (ushort)i, Wad / 10 * 8, Wad / 10 * 9, Wad / 20, UInt256.MaxValue));
        var markets = new List<MarketParams>();
        for (int m = 0; m < 3; m++) markets.Add(new MarketParams((ushort)m, Wad / 10, Wad / 20, Wad / 2000, Wad / 1000 * 15, Wad / 2, Wad / 2, Wad / 10, (UInt128)(10 * Wad)));
        var cfg = new RiskConfig(assets, markets, 3);
        UInt256[] prices = [new UInt256(3000UL) * new UInt256(Wad), new UInt256(60_000UL) * new UInt256(Wad), new UInt256(150UL) * new UInt256(Wad)];
        var ctx = new RiskContext(cfg, new FundingState[3], prices, 1_000);
        _states = [];
        var candidates = new List<LiquidationCandidate>();
        var collateral = new List<LiquidationCandidate>();
        var key = new byte[20];
        int id = 0;
        while (candidates.Count < 1000 || collateral.Count < 1000)
        {
            rnd.NextBytes(key);
            var account = new Address(key);
            var s = new AccountState(cfg);
            s.Collateral[1] = new UInt256((ulong)rnd.NextInt64(1, 5)) * new UInt256(Wad / 10);
            s.Collateral[2] = new UInt256((ulong)rnd.NextInt64(1, 1000)) * new UInt256(Wad / 100_000);
            bool positions = candidates.Count < 1000;
            if (positions)
            {
                for (int m = 0; m < 3; m++)
                {
                    // longs entered 10..40% above the current price: losing
                    Int256 size = (Int256)rnd.NextInt64(1, 20) * (Int256)(Wad / 10);
                    UInt256 entry = prices[m] * new UInt256((ulong)rnd.NextInt64(110, 140)) / new UInt256(100UL);
                    s.Positions[m] = new Position(size, RiskMath.SMulDivCeil(size, entry, RiskMath.Wad), Int256.Zero);
                }
                s.Cash = (Int256)rnd.NextInt64(0, 2000) * (Int256)Wad;
            }
            else
            {
                s.Cash = -(Int256)rnd.NextInt64(2000, 50_000) * (Int256)Wad;
            }
            Health h = Margin.ComputeHealth(ctx, s);
            if (!h.IsLiquidatable) continue;
            if (!positions && !h.Equity.IsNegative) continue;
            _states[account] = s;
            (positions ? candidates : collateral).Add(new LiquidationCandidate(account, id++, h, h.MaintenanceShortfall, h.Status));
        }
        candidates.Sort((a, b) => b.Shortfall.CompareTo(a.Shortfall));
        _detection = new DetectionResult(100, 1_000, 1_012, ctx, prices[0], candidates, candidates.Count, 3, false);
        _collateralDetection = new DetectionResult(100, 1_000, 1_012, ctx, prices[0], collateral, collateral.Count, 3, false);
        var options = new PlannerOptions { MinProfit = UInt256.Zero, MaxBatchesPerBlock = 64, BlockGasBudget = 1_000_000_000 };
        var keeper = Address.Parse("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC");
        _planner = new LiquidationPlanner(options, keeper);
        _collateral = new CollateralPlanner(options, keeper);
        _gas = new GasQuote(new UInt256(2_000_000_000UL), prices[0]);
    }

    /// <summary>Sizes, ranks and packs 1,000 liquidatable accounts.</summary>
    [Benchmark]
    public int Plan1000() => _planner.Plan(_detection, a => _states.GetValueOrDefault(a), _gas).RequestCount;

    /// <summary>Sizes 1,000 collateral sales.</summary>
    [Benchmark]
    public int PlanCollateral1000() => _collateral.Plan(_collateralDetection, a => _states.GetValueOrDefault(a), _gas, UInt256.MaxValue).Sales.Count;
}
