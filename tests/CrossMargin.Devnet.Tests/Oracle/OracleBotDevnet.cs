using CrossMargin.Devnet;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Ethereum.Signing;
using CrossMargin.Ethereum.Transactions;
using CrossMargin.Keeper.Execution;
using CrossMargin.Keeper.Market;
using CrossMargin.Keeper.Oracle;
using CrossMargin.Keeper.Oracle.OnChain;
using CrossMargin.Keeper.Oracle.Push;
using CrossMargin.Keeper.Oracle.Sources;

namespace CrossMargin.Devnet.Tests.Oracle;

/// <summary>The bot's clock in devnet runs: simulated time the test moves (and pins the chain's next block to).</summary>
internal sealed class SimulatedClock(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public void Set(DateTimeOffset t) => Interlocked.Exchange(ref _ticks, t.UtcTicks);
}

/// <summary>
/// anvil + protocol (bot key holding the push role) + market simulator serving a scenario + the real adapters →
/// aggregator → pusher sending through the keeper's TxExecutor. The scenario's Pyth ids are replaced with the devnet's
/// so Hermes updates land where the hub reads them.
/// </summary>
internal sealed class OracleBotDevnet : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _async = [];
    private readonly List<IDisposable> _sync = [];

    public required AnvilProcess Anvil { get; init; }
    public required DevnetDeployment Deployment { get; init; }
    public required JsonRpcClient Rpc { get; init; }
    public required EthClient Eth { get; init; }
    public required SimulatedClock Clock { get; init; }
    public required MarketSimulation Simulation { get; init; }
    public required PriceAggregator Aggregator { get; init; }
    public required OraclePusher Pusher { get; init; }
    public required HubPriceReader Hub { get; init; }
    public required OracleMetrics Metrics { get; init; }
    public required IReadOnlyList<AssetPushConfig> Assets { get; init; }
    public required RpcAggregatorV3Reader Feeds { get; init; }

    public static async Task<OracleBotDevnet> StartAsync(string scenarioName)
    {
        var disposables = new List<IAsyncDisposable>();
        var sync = new List<IDisposable>();
        AnvilProcess anvil = await AnvilProcess.StartAsync();
        disposables.Add(anvil);
        try
        {
            var bot = AnvilDevAccounts.All[7];
            DevnetDeployment dep = await DevnetDeployer.DeployAsync(anvil.RpcUrl, anvil.ChainId,
                new DevnetDeployOptions { ExtraPriceUpdaters = [bot.Address] });
            var rpc = new JsonRpcClient(anvil.RpcUrl);
            sync.Add(rpc);
            var eth = new EthClient(rpc);

            MarketScenario loaded = MarketScenario.Load(Path.Combine(DevnetPaths.DevnetDir, "scenarios", scenarioName + ".json"));
            var assets = loaded.Assets.Where(a => dep.Oracles.Any(o => o.Symbol == a.Symbol + "/USD")).ToList();
            MarketScenario scenario = loaded with
            {
                Assets = [.. assets.Select(a => a with { PythFeedId = DevnetDefaults.PythPriceId(a.Symbol + "/USD").ToArray() })],
            };

            BlockHeader head = (await eth.GetBlockByNumberAsync(BlockTag.Latest))!;
            var clock = new SimulatedClock(DateTimeOffset.FromUnixTimeSeconds((long)head.Timestamp + 1));
            var sim = new MarketSimulation(scenario, clock);
            MarketSimulatorServer server = await MarketSimulatorServer.StartAsync(sim);
            disposables.Add(server);

            var resilience = new PriceSourceResilienceOptions { MaxRetryAttempts = 0, AttemptTimeout = TimeSpan.FromSeconds(5) };
            HttpClient Http(string source)
            {
                var h = new HttpClient { BaseAddress = server.SourceBaseUri(source) };
                sync.Add(h);
                return h;
            }
            IPriceSource[] sources =
            [
                new BinancePriceSource(Http("binance"), null, resilience, clock),
                new CoinbasePriceSource(Http("coinbase"), null, resilience, clock),
                new KrakenPriceSource(Http("kraken"), null, resilience, clock),
                new PythHermesPriceSource(Http("pyth"), scenario.Assets.ToDictionary(a => a.Symbol, a => Convert.ToHexString(a.PythFeedId)), resilience, clock),
            ];

            var aggregator = new PriceAggregator(new OracleOptions(), clock);
            var options = new OraclePusherOptions();
            foreach (ScenarioAsset a in scenario.Assets)
            {
                DevnetOracle o = dep.Oracle(a.Symbol + "/USD");
                options.Assets.Add(new AssetPushConfig { Asset = a.Symbol, Feed = o.PushFeed, FeedDecimals = o.FeedDecimals, PythPriceId = o.PythPriceId });
            }

            var key = PrivateKey.FromHex(bot.PrivateKeyHex);
            var signer = new LocalTxSigner(key);
            sync.Add(signer);
            sync.Add(key);
            string journalPath = Path.Combine(Path.GetTempPath(), $"oracle-journal-{Guid.NewGuid():N}.db");
            var journal = TxJournal.Open(journalPath);
            sync.Add(journal);
            var execOptions = new ExecutionOptions();
            var executor = new TxExecutor(eth, signer, new NonceManager(eth), new FeeEstimator(eth, execOptions.Fees), journal, execOptions);
            disposables.Add(executor);
            await executor.StartAsync();
            var sender = new ExecutorOracleTxSender(executor, eth, new ExecutorOracleTxOptions { DriveBlocks = true });
            var chain = new RpcOracleChain(eth, sender, dep.OracleHub, dep.MockPyth);
            var metrics = new OracleMetrics();
            sync.Add(metrics);
            var pusher = new OraclePusher(options, aggregator, sources, chain, clock, metrics);
            var hub = new HubPriceReader(eth, dep.OracleHub, options.Assets.ToDictionary(a => a.Asset, a => dep.Oracle(a.Asset + "/USD").OracleId));
            var result = new OracleBotDevnet
            {
                Anvil = anvil, Deployment = dep, Rpc = rpc, Eth = eth, Clock = clock, Simulation = sim, Aggregator = aggregator,
                Pusher = pusher, Hub = hub, Metrics = metrics, Assets = options.Assets, Feeds = new RpcAggregatorV3Reader(eth),
            };
            disposables.Add(pusher);
            result._async.AddRange(disposables);
            result._sync.AddRange(sync);
            return result;
        }
        catch
        {
            foreach (var d in sync) d.Dispose();
            foreach (var d in Enumerable.Reverse(disposables)) await d.DisposeAsync();
            throw;
        }
    }

    /// <summary>Moves simulated time by <paramref name="dt"/>, pins the chain's next block to it, and runs one round.</summary>
    public async Task<OracleRoundReport> StepAsync(TimeSpan dt)
    {
        BlockHeader head = (await Eth.GetBlockByNumberAsync(BlockTag.Latest))!;
        long target = Math.Max((Clock.GetUtcNow() + dt).ToUnixTimeSeconds(), (long)head.Timestamp + 1);
        Clock.Set(DateTimeOffset.FromUnixTimeSeconds(target));
        await Rpc.SetNextBlockTimestampAsync((ulong)target);
        await Rpc.MineAsync();
        return await Pusher.RunRoundAsync();
    }

    /// <summary>The feeds' latest answers as WAD, per asset.</summary>
    public async Task<Dictionary<string, UInt256>> OnChainAsync()
    {
        FeedRound?[] rounds = await Feeds.LatestRoundsAsync([.. Assets.Select(a => a.Feed)], BlockTag.Latest, CancellationToken.None);
        var r = new Dictionary<string, UInt256>(StringComparer.Ordinal);
        for (int i = 0; i < Assets.Count; i++) r[Assets[i].Asset] = PushPolicy.AnswerToWad(rounds[i]!.Value.Answer, Assets[i].FeedDecimals);
        return r;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var d in Enumerable.Reverse(_async))
        {
            try { await d.DisposeAsync(); }
            catch (ObjectDisposedException) { }
        }
        foreach (var d in Enumerable.Reverse(_sync)) d.Dispose();
    }
}
