using System.Diagnostics.Metrics;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Crypto;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Ethereum.Signing;
using CrossMargin.Ethereum.Transactions;
using CrossMargin.Keeper.Configuration;
using CrossMargin.Keeper.Detection;
using CrossMargin.Keeper.Hosting;
using CrossMargin.Keeper.Oracle;
using CrossMargin.Keeper.Oracle.Push;
using CrossMargin.Keeper.Planning;
using CrossMargin.Keeper.Tests.Detection;
using Microsoft.Extensions.DependencyInjection;

namespace CrossMargin.Keeper.Tests.Oracle;

public sealed class AggregatorPriceGateTests : IDisposable
{
    private static readonly Hash32 Eth = Keccak256.ComputeUtf8("ETH/USD");
    private static readonly Hash32 Btc = Keccak256.ComputeUtf8("BTC/USD");
    private static readonly Hash32 Sol = Keccak256.ComputeUtf8("SOL/USD");
    private static readonly string[] Assets = ["ETH", "BTC"];

    private readonly ManualTimeProvider _time = new();
    private readonly PriceAggregator _aggregator;
    private readonly OracleMetrics _metrics = new();
    private readonly MeterListener _listener = new();
    private readonly List<(string Asset, string Reason)> _blocked = [];

    public AggregatorPriceGateTests()
    {
        _aggregator = new PriceAggregator(new OracleOptions { SanityBandBps = 200 }, _time);
        _listener.InstrumentPublished = (i, l) =>
        {
            if (ReferenceEquals(i.Meter, _metrics.Meter) && i.Name == "crossmargin.oracle.liquidation_blocked") l.EnableMeasurementEvents(i);
        };
        _listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            string asset = "", reason = "";
            foreach (var t in tags)
            {
                if (t.Key == "asset") asset = (string)t.Value!;
                if (t.Key == "reason") reason = (string)t.Value!;
            }
            lock (_blocked) _blocked.Add((asset, reason));
        });
        _listener.Start();
    }

    public void Dispose()
    {
        _listener.Dispose();
        _metrics.Dispose();
    }

    private PriceSample S(string source, string asset, string price) =>
        new(asset, WadDecimal.Parse(price), UInt256.Zero, _time.GetUtcNow(), _time.GetUtcNow(), source);

    /// <summary>Three agreeing rounds: ETH 3000 and BTC 60000 Healthy.</summary>
    private void Healthy()
    {
        for (int i = 0; i < 3; i++)
            _aggregator.ProcessRound(Assets, [S("a", "ETH", "3000"), S("b", "ETH", "3000"), S("a", "BTC", "60000"), S("b", "BTC", "60000")]);
        Assert.Equal(OracleState.Healthy, _aggregator.StateOf("ETH"));
    }

    private AggregatorPriceGate Gate(bool blockUnknown = false) =>
        new(_aggregator, new Dictionary<Hash32, string> { [Eth] = "ETH", [Btc] = "BTC" }, _metrics, blockUnknown, _time);

    [Fact]
    public void Healthy_asset_is_allowed_within_the_band_and_blocked_outside_it()
    {
        Healthy();
        var gate = Gate();
        Assert.True(gate.Allows(Eth, WadDecimal.Parse("3060"), 10));   // +200 bps: on the band's edge
        Assert.True(gate.Allows(Eth, WadDecimal.Parse("2941"), 10));   // -196 bps
        var allowed = Assert.IsType<SanityDecision.Allowed>(gate.LastDecision("ETH"));
        Assert.Equal(196, allowed.DeviationBps);
        Assert.Equal(OracleState.Healthy, allowed.State);

        Assert.False(gate.Allows(Eth, WadDecimal.Parse("3061"), 11));  // +203 bps
        var blocked = Assert.IsType<SanityDecision.Blocked>(gate.LastDecision("ETH"));
        Assert.Equal(SanityBlockReason.Deviation, blocked.Reason);
        Assert.Equal(203, blocked.DeviationBps);
        Assert.False(gate.Allows(Eth, WadDecimal.Parse("2250"), 12));  // a 25 % crash the sources do not see
        Assert.True(gate.Allows(Btc, WadDecimal.Parse("60000"), 12));

        // one alert per asset and block, however often the planner asks
        for (int i = 0; i < 5; i++) Assert.False(gate.Allows(Eth, WadDecimal.Parse("2250"), 12));
        Assert.Equal([("ETH", "Deviation"), ("ETH", "Deviation")], _blocked);
        Assert.Equal(new PriceGateStats(5, 2, 0), gate.Stats);
    }

    [Fact]
    public void Halted_and_never_priced_assets_are_blocked()
    {
        var gate = Gate();
        Assert.False(gate.Allows(Eth, WadDecimal.Parse("3000"), 1));
        Assert.Equal(SanityBlockReason.NoPrice, Assert.IsType<SanityDecision.Blocked>(gate.LastDecision("ETH")).Reason);

        Healthy();
        Assert.True(gate.Allows(Eth, WadDecimal.Parse("3000"), 2));
        _aggregator.ProcessRound(Assets, [S("a", "BTC", "60000"), S("b", "BTC", "60000")]); // every ETH source down
        Assert.Equal(OracleState.Halted, _aggregator.StateOf("ETH"));
        Assert.False(gate.Allows(Eth, WadDecimal.Parse("3000"), 2)); // same block and price, new round: checked again
        Assert.Equal(SanityBlockReason.Halted, Assert.IsType<SanityDecision.Blocked>(gate.LastDecision("ETH")).Reason);
        Assert.True(gate.Allows(Btc, WadDecimal.Parse("60000"), 2));

        // degraded (one source) passes within the band; stale aggregates block
        _aggregator.ProcessRound(Assets, [S("a", "ETH", "3000"), S("a", "BTC", "60000"), S("b", "BTC", "60000")]);
        Assert.Equal(OracleState.Degraded, _aggregator.StateOf("ETH"));
        Assert.True(gate.Allows(Eth, WadDecimal.Parse("3010"), 3));
        _time.Advance(TimeSpan.FromMinutes(3));
        Assert.False(gate.Allows(Eth, WadDecimal.Parse("3010"), 4));
        Assert.Equal(SanityBlockReason.StaleAggregate, Assert.IsType<SanityDecision.Blocked>(gate.LastDecision("ETH")).Reason);
        Assert.Contains(("ETH", "NoPrice"), _blocked);
        Assert.Contains(("ETH", "Halted"), _blocked);
    }

    [Fact]
    public void Unknown_oracle_ids_pass_unless_configured_to_block()
    {
        Healthy();
        var gate = Gate();
        Assert.True(gate.Allows(Sol, WadDecimal.Parse("1"), 1));
        Assert.True(gate.Allows(Sol, WadDecimal.Parse("1"), 2));
        Assert.Null(gate.Check(Sol, WadDecimal.Parse("1"), 3));
        Assert.Equal(new PriceGateStats(0, 0, 3), gate.Stats);
        var strict = Gate(blockUnknown: true);
        Assert.False(strict.Allows(Sol, WadDecimal.Parse("150"), 1));
        Assert.Equal(1, strict.Stats.Unknown);
        Assert.Empty(_blocked); // not an alert: no asset to compare with
    }

    [Fact]
    public async Task The_planner_skips_liquidations_the_gate_blocks()
    {
        // RiskWorld: 10 ETH longs at $3000; ETH drops to $2900 on chain
        var w = new RiskWorld();
        for (int i = 0; i < 2; i++) w.SetAccount(RiskWorld.Addr(i), 2000 - (100 * i), 0, (0, 10_000, 3000));
        var d = new LiquidationDetector(w, w.Book);
        await d.ProcessAsync(RiskWorld.Block(1, 1_000));
        w.Prices = [RiskWorld.Usd(2900), w.Prices[1]];
        DetectionResult r = await d.ProcessAsync(RiskWorld.Block(2, 1_012));
        Assert.NotEmpty(r.Liquidatable);
        var gas = new GasQuote(new UInt256(10_000_000_000UL), RiskWorld.Usd(3000));
        Hash32[] slots = [RiskWorld.EthOracle, RiskWorld.BtcOracle];

        Healthy(); // the sources still say ETH = 3000: the hub's 2900 is 333 bps off
        var planner = new LiquidationPlanner(new PlannerOptions { MinProfit = UInt256.Zero }, RiskWorld.Addr(9_999), Gate());
        LiquidationPlan gated = planner.Plan(r, d.StateOf, gas, null, slots);
        Assert.Empty(gated.Batches);
        Assert.NotEmpty(gated.Skipped);
        Assert.All(gated.Skipped, s => Assert.Equal(PlanSkipReason.PriceGated, s.Reason));

        for (int i = 0; i < 3; i++) // the sources follow the market down
            _aggregator.ProcessRound(Assets, [S("a", "ETH", "2905"), S("b", "ETH", "2895"), S("a", "BTC", "60000"), S("b", "BTC", "60000")]);
        LiquidationPlan through = planner.Plan(r, d.StateOf, gas, null, slots);
        Assert.NotEmpty(through.Batches);
        Assert.DoesNotContain(through.Skipped, s => s.Reason == PlanSkipReason.PriceGated);
    }

    [Fact]
    public void Signed_deviation_is_positive_above_the_reference()
    {
        Assert.Equal(100.0, OracleService.SignedDeviationBps(WadDecimal.Parse("3030"), WadDecimal.Parse("3000")));
        Assert.Equal(-2500.0, OracleService.SignedDeviationBps(WadDecimal.Parse("2250"), WadDecimal.Parse("3000")));
        Assert.Equal(3.33, OracleService.SignedDeviationBps(WadDecimal.Parse("3001"), WadDecimal.Parse("3000")));
        Assert.Equal(-3.33, OracleService.SignedDeviationBps(WadDecimal.Parse("2999"), WadDecimal.Parse("3000")));
        Assert.Equal(0.0, OracleService.SignedDeviationBps(WadDecimal.Parse("3000"), WadDecimal.Parse("3000")));
        Assert.Throws<ArgumentOutOfRangeException>(() => OracleService.SignedDeviationBps(WadDecimal.Parse("1"), UInt256.Zero));
    }

    private sealed class Registered : IDisposable
    {
        private readonly ServiceProvider _provider;
        private readonly JsonRpcClient _rpc = new(new Uri("http://127.0.0.1:1/"));
        private readonly LocalTxSigner _signer = new(PrivateKey.FromHex(CrossMargin.Devnet.AnvilDevAccounts.AnvilDevPrivateKey2), ownsKey: true);

        public Registered(KeeperSettings settings)
        {
            var services = new ServiceCollection();
            services.AddLogging();
            KeeperHost.Register(services, settings, new EthClient(_rpc), _signer);
            _provider = services.BuildServiceProvider();
        }

        public T Get<T>() where T : notnull => _provider.GetRequiredService<T>();

        public LiquidationPlanner Planner => Get<LiquidationPlanner>();

        public void Dispose()
        {
            _provider.Dispose();
            _signer.Dispose();
            _rpc.Dispose();
        }
    }

    private static KeeperSettings Settings(bool oracleEnabled, OracleSettings? oracle) =>
        new([new Uri("http://127.0.0.1:1/")], 31337, Address.Parse(CrossMargin.Devnet.AnvilDevAccounts.AnvilDevAddress1), Address.Parse(CrossMargin.Devnet.AnvilDevAccounts.AnvilDevAddress2),
            0, "unused.db", DryRun: true, oracleEnabled, new PlannerOptions(), new DetectionOptions()) { Oracle = oracle };

    private static OracleSettings OracleOn(bool gate) => new()
    {
        Push = false,
        Gate = gate,
        Assets = [new OracleAssetSettings("ETH", Eth, null, 8, null, 50, 25, TimeSpan.FromSeconds(60))],
        Aggregation = new OracleOptions(),
        Binance = new Uri("http://127.0.0.1:1/binance/"),
    };

    [Fact]
    public void The_daemon_plans_with_the_aggregator_gate_only_when_the_oracle_part_gates()
    {
        // on: the planner's gate is the aggregator gate; with no round yet it blocks ETH and lets unknown ids through
        using (var on = new Registered(Settings(true, OracleOn(gate: true))))
        {
            ILiquidationPriceGate g = on.Planner.Gate;
            Assert.Same(on.Get<AggregatorPriceGate>(), g);
            Assert.False(g.Allows(Eth, WadDecimal.Parse("3000"), 1));
            Assert.True(g.Allows(Btc, WadDecimal.Parse("60000"), 1));
            Assert.NotNull(on.Get<OracleService>());
        }

        // switched off by --no-oracle, by Keeper:Oracle:Gate=false, or not configured: everything passes
        foreach (var settings in new[] { Settings(false, null), Settings(true, OracleOn(gate: false)), Settings(true, null) })
        {
            using var off = new Registered(settings);
            Assert.Same(AlwaysAllowPriceGate.Instance, off.Planner.Gate);
            Assert.True(off.Planner.Gate.Allows(Eth, WadDecimal.Parse("1"), 1));
        }
    }
}
