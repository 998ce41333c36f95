using System.Net;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Keeper.Market;
using CrossMargin.Keeper.Oracle;
using CrossMargin.Keeper.Oracle.Sources;
using CrossMargin.Keeper.Tests.Oracle;

namespace CrossMargin.Keeper.Tests.Market;

public class ScenarioTests
{
    public static TheoryData<string> ScenarioFiles() => new(Directory.GetFiles(Path.Combine(TestFiles.RepoRoot, "devnet", "scenarios"), "*.json").Select(Path.GetFileName)!);

    [Theory]
    [MemberData(nameof(ScenarioFiles))]
    public void Every_scenario_file_parses(string file)
    {
        MarketScenario s = MarketScenario.Load(TestFiles.Scenario(file));
        Assert.Equal(Path.GetFileNameWithoutExtension(file), s.Name);
        Assert.NotEmpty(s.Assets);
    }

    [Theory]
    [InlineData("{", "not valid JSON")]
    [InlineData("{\"name\":\"x\",\"stepIntervalSeconds\":5,\"assets\":[]}", "non-empty")]
    [InlineData("{\"name\":\"x\",\"stepIntervalSeconds\":0,\"assets\":[]}", "stepIntervalSeconds")]
    [InlineData("{\"name\":\"x\",\"stepIntervalSeconds\":5,\"typo\":1,\"assets\":[]}", "unknown property")]
    [InlineData("{\"name\":\"x\",\"stepIntervalSeconds\":5,\"assets\":[{\"symbol\":\"ETH\",\"startPrice\":\"-1\",\"pythFeedId\":\"0x00\"}]}", "startPrice")]
    [InlineData("{\"name\":\"x\",\"stepIntervalSeconds\":5,\"assets\":[{\"symbol\":\"ETH\",\"startPrice\":\"1\",\"pythFeedId\":\"0x00\"}]}", "pythFeedId")]
    [InlineData("{\"name\":\"x\",\"stepIntervalSeconds\":5,\"assets\":[{\"symbol\":\"ETH\",\"startPrice\":\"1\",\"pythFeedId\":\"0xff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace\"}],\"overrides\":[{\"source\":\"ftx\",\"mode\":\"down\"}]}", "source must be")]
    [InlineData("{\"name\":\"x\",\"stepIntervalSeconds\":5,\"assets\":[{\"symbol\":\"ETH\",\"startPrice\":\"1\",\"pythFeedId\":\"0xff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace\"}],\"overrides\":[{\"source\":\"kraken\",\"mode\":\"sleepy\"}]}", "mode")]
    [InlineData("{\"name\":\"x\",\"stepIntervalSeconds\":5,\"assets\":[{\"symbol\":\"ETH\",\"startPrice\":\"1\",\"pythFeedId\":\"0xff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace\"}],\"overrides\":[{\"source\":\"kraken\",\"mode\":\"down\",\"fromStep\":3,\"toStep\":2}]}", "fromStep")]
    public void Invalid_scenarios_are_rejected(string json, string message)
    {
        var e = Assert.Throws<ScenarioFormatException>(() => MarketScenario.Parse(json));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Crash_path_falls_25_percent_and_steps_follow_the_clock()
    {
        var time = new ManualTimeProvider();
        MarketScenario s = MarketScenario.Load(TestFiles.Scenario("crash.json"));
        var noWalk = s with { Assets = [.. s.Assets.Select(a => a with { VolatilityBps = 0 })] };
        var sim = new MarketSimulation(noWalk, time);
        Assert.Equal(0, sim.CurrentStep);
        Assert.Equal(WadDecimal.Parse("3500"), sim.Quote("binance", "ETH").PriceWad);
        time.Advance(TimeSpan.FromSeconds(4.9));
        Assert.Equal(0, sim.CurrentStep);
        time.Advance(TimeSpan.FromSeconds(0.1));
        Assert.Equal(1, sim.CurrentStep);
        Assert.Equal(WadDecimal.Parse("2625"), sim.TruePrice("ETH", 6));
        Assert.Equal(WadDecimal.Parse("2625"), sim.TruePrice("ETH", 100)); // path holds
        Assert.Equal(WadDecimal.Parse("48750"), sim.TruePrice("BTC", 6));
        Assert.Equal(WadDecimal.Parse("150"), sim.TruePrice("SOL", 6)); // not in the crash (no walk here)
    }

    [Fact]
    public void Random_walk_is_deterministic_per_seed()
    {
        MarketScenario s = MarketScenario.Load(TestFiles.Scenario("calm.json"));
        var a = new MarketSimulation(s, new ManualTimeProvider());
        var b = new MarketSimulation(s, new ManualTimeProvider());
        UInt256 p20 = a.TruePrice("ETH", 20);
        Assert.Equal(p20, b.TruePrice("ETH", 20));
        Assert.NotEqual(a.TruePrice("ETH", 0), p20);
        Assert.InRange(Bps.Deviation(p20, WadDecimal.Parse("3500")), 0, 20 * 10 + 1);
    }

    [Fact]
    public void Overrides_freeze_offset_and_take_down_sources()
    {
        var time = new ManualTimeProvider();
        var frozen = new MarketSimulation(MarketScenario.Load(TestFiles.Scenario("frozen-source.json")), time);
        time.Advance(TimeSpan.FromSeconds(30)); // step 6
        SourceQuote cb = frozen.Quote("coinbase", "ETH");
        Assert.Equal(2, cb.Step);
        Assert.Equal(frozen.StepTime(2), cb.PublishTime);
        Assert.Equal(frozen.TruePrice("ETH", 2), cb.PriceWad);
        Assert.Equal(frozen.TruePrice("ETH", 6), frozen.Quote("binance", "ETH").PriceWad);

        var outlier = new MarketSimulation(MarketScenario.Load(TestFiles.Scenario("outlier-source.json")), time);
        time.Advance(TimeSpan.FromSeconds(5));
        int step = outlier.CurrentStep;
        Assert.Equal(Bps.Apply(outlier.TruePrice("ETH", step), 3000), outlier.Quote("kraken", "ETH").PriceWad);
        Assert.Equal(outlier.TruePrice("BTC", step), outlier.Quote("kraken", "BTC").PriceWad);

        var down = new MarketSimulation(MarketScenario.Load(TestFiles.Scenario("all-down.json")), time);
        Assert.Null(down.DownStatus("pyth"));
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(503, down.DownStatus("pyth"));
        Assert.True(down.Quote("kraken", "ETH").IsDown);
        time.Advance(TimeSpan.FromSeconds(30)); // step 8: recovered
        Assert.Null(down.DownStatus("binance"));
    }
}

/// <summary>The simulator over loopback HTTP, read by the real adapters and fed to the aggregator.</summary>
public sealed class MarketSimulatorEndToEndTests
{
    private static readonly string[] Assets = ["ETH", "BTC"];

    private sealed class Rig : IAsyncDisposable
    {
        public required ManualTimeProvider Time;
        public required MarketSimulatorServer Server;
        public required List<IPriceSource> Sources;
        public required List<HttpClient> Clients;
        public required PythHermesPriceSource Pyth;

        public static async Task<Rig> StartAsync(string scenario, PriceSourceResilienceOptions? resilience = null)
        {
            var time = new ManualTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_717_200_000));
            var sim = new MarketSimulation(MarketScenario.Load(TestFiles.Scenario(scenario)), time);
            MarketSimulatorServer server = await MarketSimulatorServer.StartAsync(sim);
            resilience ??= SourceAdapterTests.FastResilience();
            var clients = new List<HttpClient>();
            HttpClient C(string s) { var c = new HttpClient { BaseAddress = server.SourceBaseUri(s) }; clients.Add(c); return c; }
            var pyth = new PythHermesPriceSource(C("pyth"), SourceAdapterTests.PythFeeds(), resilience, time);
            return new Rig
            {
                Time = time,
                Server = server,
                Clients = clients,
                Pyth = pyth,
                Sources =
                [
                    new BinancePriceSource(C("binance"), resilience: resilience, timeProvider: time),
                    new CoinbasePriceSource(C("coinbase"), resilience: resilience, timeProvider: time),
                    new KrakenPriceSource(C("kraken"), resilience: resilience, timeProvider: time),
                    pyth,
                ],
            };
        }

        public async Task<(List<PriceSample> Samples, List<PriceSourceException> Errors)> FetchAllAsync()
        {
            var samples = new List<PriceSample>();
            var errors = new List<PriceSourceException>();
            foreach (IPriceSource s in Sources)
            {
                try { samples.AddRange(await s.FetchAsync(Assets, CancellationToken.None)); }
                catch (PriceSourceException e) { errors.Add(e); }
            }
            return (samples, errors);
        }

        public async ValueTask DisposeAsync()
        {
            foreach (HttpClient c in Clients) c.Dispose();
            await Server.DisposeAsync();
        }
    }

    [Fact]
    public async Task Server_reports_its_port_and_serves_each_format()
    {
        await using Rig rig = await Rig.StartAsync("calm.json");
        Assert.NotEqual(0, rig.Server.Port);
        using var http = new HttpClient { BaseAddress = rig.Server.BaseUri };
        string binance = await http.GetStringAsync(new Uri("binance/api/v3/ticker/price?symbol=ETHUSDT", UriKind.Relative));
        Assert.Equal("{\"symbol\":\"ETHUSDT\",\"price\":\"3500.00000000\"}", binance);
        HttpResponseMessage unknown = await http.GetAsync(new Uri("binance/api/v3/ticker/price?symbol=FOOUSDT", UriKind.Relative));
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Contains("-1121", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        string kraken = await http.GetStringAsync(new Uri("kraken/0/public/Ticker?pair=ETHUSD", UriKind.Relative));
        Assert.Contains("\"XETHZUSD\":{", kraken, StringComparison.Ordinal);
        Assert.Contains("\"c\":[\"3500.00000\"", kraken, StringComparison.Ordinal);
        string coinbase = await http.GetStringAsync(new Uri("coinbase/products/ETH-USD/ticker", UriKind.Relative));
        Assert.Contains("\"price\":\"3500.00\"", coinbase, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(new Uri("coinbase/products/FOO-USD/ticker", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task Calm_all_sources_agree_and_hermes_updates_decode_to_the_quotes()
    {
        await using Rig rig = await Rig.StartAsync("calm.json");
        var agg = new PriceAggregator(new OracleOptions(), rig.Time);
        AggregatePrice eth = null!;
        for (int round = 0; round < 4; round++)
        {
            (List<PriceSample> samples, List<PriceSourceException> errors) = await rig.FetchAllAsync();
            Assert.Empty(errors);
            Assert.Equal(8, samples.Count);
            eth = agg.ProcessRound(Assets, samples)["ETH"];
            Assert.Empty(eth.Rejections);
            rig.Time.Advance(TimeSpan.FromSeconds(5));
        }
        Assert.Equal(OracleState.Healthy, eth.State);
        Assert.Equal(4, eth.ValidSources.Count);
        Assert.True(Bps.Deviation(eth.HighWad, eth.LowWad) <= 1); // only the exchanges' decimal places differ

        PythPriceBatch batch = rig.Pyth.LastBatch!;
        Assert.Equal(2, batch.UpdateData.Count);
        MockPythPriceFeed feed = MockPythUpdate.Decode(batch.UpdateData[0]);
        PriceSample ps = batch.Samples.Single(s => s.Asset == "ETH");
        Assert.Equal(SourceAdapterTests.EthFeed[2..], Convert.ToHexStringLower(feed.Id));
        Assert.Equal(ps.PriceWad, WadDecimal.FromScaled((ulong)feed.Price.Price, feed.Price.Expo));
        Assert.Equal((ulong)ps.PublishTime.ToUnixTimeSeconds(), feed.Price.PublishTime);
        Assert.Equal(feed.Price.PublishTime - 5, feed.PrevPublishTime);
    }

    [Fact]
    public async Task Crash_is_followed_by_all_sources_and_stays_healthy()
    {
        await using Rig rig = await Rig.StartAsync("crash.json");
        var agg = new PriceAggregator(new OracleOptions(), rig.Time);
        AggregatePrice eth = null!;
        for (int round = 0; round <= 8; round++)
        {
            (List<PriceSample> samples, List<PriceSourceException> errors) = await rig.FetchAllAsync();
            Assert.Empty(errors);
            eth = agg.ProcessRound(Assets, samples)["ETH"];
            Assert.Empty(eth.Rejections);
            if (round >= 2) Assert.Equal(OracleState.Healthy, eth.State);
            rig.Time.Advance(TimeSpan.FromSeconds(5));
        }
        UInt256 expected = rig.Server.Simulation.TruePrice("ETH", 8);
        Assert.True(Bps.Deviation(eth.PriceWad, expected) <= 1);
        Assert.InRange(Bps.Deviation(eth.PriceWad, WadDecimal.Parse("3500")), 2400, 2600);
    }

    [Fact]
    public async Task Frozen_source_goes_stale_and_is_rejected()
    {
        await using Rig rig = await Rig.StartAsync("frozen-source.json");
        var options = new OracleOptions { DefaultMaxAge = TimeSpan.FromSeconds(20) };
        var agg = new PriceAggregator(options, rig.Time);
        AggregatePrice eth = null!;
        for (int round = 0; round <= 8; round++)
        {
            (List<PriceSample> samples, _) = await rig.FetchAllAsync();
            eth = agg.ProcessRound(Assets, samples)["ETH"];
            rig.Time.Advance(TimeSpan.FromSeconds(5));
        }
        // Step 8: coinbase still publishes step 2 (30 s old).
        SampleRejection r = Assert.Single(eth.Rejections);
        Assert.Equal("coinbase", r.Sample.Source);
        Assert.Equal(RejectionReason.Stale, r.Reason);
        Assert.Equal(3, eth.ValidSources.Count);
        Assert.Equal(OracleState.Healthy, eth.State);
    }

    [Fact]
    public async Task Outlier_source_is_outvoted_and_the_sanity_gate_blocks_its_price()
    {
        await using Rig rig = await Rig.StartAsync("outlier-source.json");
        var agg = new PriceAggregator(new OracleOptions(), rig.Time);
        AggregatePrice eth = null!;
        for (int round = 0; round < 4; round++)
        {
            (List<PriceSample> samples, _) = await rig.FetchAllAsync();
            eth = agg.ProcessRound(Assets, samples)["ETH"];
            rig.Time.Advance(TimeSpan.FromSeconds(5));
        }
        Assert.Equal(OracleState.Healthy, eth.State);
        UInt256 truth = rig.Server.Simulation.TruePrice("ETH", 3);
        Assert.True(Bps.Deviation(eth.PriceWad, truth) <= 1);
        Assert.InRange(Bps.Deviation(eth.HighWad, truth), 2990, 3000); // kraken's +30 % is in the band but not the price
        var gate = new SanityGate(agg, rig.Time);
        Assert.True(gate.Check("ETH", truth).IsAllowed);
        Assert.Equal(SanityBlockReason.Deviation, Assert.IsType<SanityDecision.Blocked>(gate.Check("ETH", eth.HighWad)).Reason);
    }

    [Fact]
    public async Task All_sources_down_halts_then_recovers_with_hysteresis()
    {
        var resilience = SourceAdapterTests.FastResilience();
        resilience.MaxRetryAttempts = 0;
        await using Rig rig = await Rig.StartAsync("all-down.json", resilience);
        var agg = new PriceAggregator(new OracleOptions(), rig.Time);
        var states = new List<OracleState>();
        for (int round = 0; round <= 10; round++)
        {
            (List<PriceSample> samples, List<PriceSourceException> errors) = await rig.FetchAllAsync();
            if (round is >= 2 and < 8)
            {
                Assert.Empty(samples);
                Assert.Equal(4, errors.Count);
                Assert.All(errors, e => Assert.Equal(PriceSourceError.Http, e.Reason));
                Assert.All(rig.Sources, s => Assert.False(s.Health.IsHealthy));
            }
            AggregatePrice eth = agg.ProcessRound(Assets, samples)["ETH"];
            if (round is >= 2 and < 8) Assert.True(eth.HasPrice); // last good kept
            states.Add(eth.State);
            rig.Time.Advance(TimeSpan.FromSeconds(5));
        }
        Assert.Equal(
            [OracleState.Degraded, OracleState.Degraded,
             OracleState.Halted, OracleState.Halted, OracleState.Halted, OracleState.Halted, OracleState.Halted, OracleState.Halted,
             OracleState.Degraded, OracleState.Degraded, OracleState.Healthy],
            states);
        Assert.All(rig.Sources, s => Assert.True(s.Health.IsHealthy));
    }
}
