using System.Collections.Concurrent;
using System.Globalization;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Contracts;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Ethereum.Signing;
using CrossMargin.Ethereum.Transactions;
using CrossMargin.Keeper.Execution;
using CrossMargin.Keeper.Hosting;
using CrossMargin.Keeper.Market;
using CrossMargin.Keeper.Oracle;
using CrossMargin.Keeper.Oracle.OnChain;
using CrossMargin.Keeper.Oracle.Push;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace CrossMargin.Devnet.Tests.Oracle;

/// <summary>
/// anvil with the protocol deployed and 80 accounts seeded; the keeper key (anvil dev account 2) may push prices
/// through the hub, so the daemon's pusher can share the keeper's executor.
/// </summary>
public sealed class OracleRunDevnet : IAsyncLifetime
{
    public AnvilProcess Anvil { get; private set; } = null!;
    public DevnetDeployment Deployment { get; private set; } = null!;
    public JsonRpcClient Rpc { get; private set; } = null!;
    public EthClient Eth { get; private set; } = null!;
    public string Dir { get; } = Directory.CreateTempSubdirectory("cm-oracle-run-").FullName;
    public string DeploymentFile => Path.Combine(Dir, "deployment.json");

    public static AnvilDevAccount Keeper => AnvilDevAccounts.All[2];

    public async Task InitializeAsync()
    {
        Anvil = await AnvilProcess.StartAsync(new AnvilOptions { GasLimit = 1_000_000_000, Accounts = 3 });
        Rpc = new JsonRpcClient(Anvil.RpcUrl, timeout: TimeSpan.FromSeconds(120));
        Eth = new EthClient(Rpc);
        Deployment = await DevnetDeployer.DeployAsync(Anvil.RpcUrl, Anvil.ChainId, new DevnetDeployOptions { ExtraPriceUpdaters = [Keeper.Address] }, wsUrl: Anvil.WsUrl);
        var seeded = await DevnetSeeder.SeedAsync(Deployment, new DevnetSeedOptions { Accounts = 80, Seed = 42 });
        Deployment = Deployment with { AccountSeed = 42, Accounts = seeded.Addresses.ToArray() };
        Deployment.Save(DeploymentFile);
    }

    public async Task DisposeAsync()
    {
        Rpc?.Dispose();
        if (Anvil is not null) await Anvil.DisposeAsync();
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(Dir, true); } catch (IOException) { }
    }

    /// <summary>A price driver over the deployer (every role).</summary>
    public PriceDriver Driver() =>
        new(Deployment, new TransactionSender(Eth, new LocalTxSigner(PrivateKey.FromHex(AnvilDevAccounts.Deployer.PrivateKeyHex), ownsKey: true),
            Anvil.ChainId, new TransactionSenderOptions { PriorityFee = 1_000_000_000UL }), Rpc);
}

/// <summary>Log entries of the daemon: written to the test output, and the planner's per-block lines kept.</summary>
internal sealed class CapturingLoggerProvider(ITestOutputHelper output, LogLevel minimum) : ILoggerProvider
{
    /// <summary>(block, liquidatable, batches) of every "Block N: ... planned" line.</summary>
    public ConcurrentQueue<(ulong Block, int Liquidatable, int Batches)> Planned { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName[(categoryName.LastIndexOf('.') + 1)..]);

    public void Dispose() { }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= owner._minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Id == 3102 && state is IReadOnlyList<KeyValuePair<string, object?>> values)
            {
                var v = values.ToDictionary(kv => kv.Key, kv => kv.Value);
                owner.Planned.Enqueue((Convert.ToUInt64(v["Block"], CultureInfo.InvariantCulture), Convert.ToInt32(v["Liquidatable"], CultureInfo.InvariantCulture),
                    Convert.ToInt32(v["Batches"], CultureInfo.InvariantCulture)));
            }
            if (!IsEnabled(logLevel)) return;
            try
            {
                owner._output.WriteLine($"[{logLevel}] {category}: {formatter(state, exception)}");
            }
            catch (InvalidOperationException)
            {
                // the test has finished
            }
        }
    }

    private readonly ITestOutputHelper _output = output;
    private readonly LogLevel _minimum = minimum;
}

/// <summary>
/// The oracle part inside <c>crossmargin run</c> (KeeperHost.RunAsync in-process) against the market simulator: the
/// pusher shares the keeper's executor and keeps the hub following the simulated market, deviations land in the
/// journal, and the gate keeps the keeper from liquidating at hub prices its sources dispute (or while they are down),
/// which --no-oracle lets through.
/// </summary>
public sealed class OracleRunDevnetTests(OracleRunDevnet devnet, ITestOutputHelper output) : IClassFixture<OracleRunDevnet>
{
    private static readonly string[] Crashed = ["ETH/USD", "BTC/USD"];

    /// <summary>The daemon running in the background, with what it exposes.</summary>
    private sealed class Daemon : IAsyncDisposable
    {
        private readonly CancellationTokenSource _cts = new();
        private readonly StringWriter _errors = new();
        private readonly TaskCompletionSource<IServiceProvider> _services = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private Task<int> _run = null!;

        public CapturingLoggerProvider Logs { get; private init; } = null!;

        public IServiceProvider Services => _services.Task.IsCompletedSuccessfully ? _services.Task.Result
            : throw new InvalidOperationException("the daemon did not start: " + _errors);

        public KeeperPipeline Pipeline => Services.GetRequiredService<KeeperPipeline>();

        public static Daemon Start(OracleRunDevnet d, ITestOutputHelper output, string journal, IEnumerable<string> extraArgs, IReadOnlyDictionary<string, string?>? extraOverrides = null)
        {
            var daemon = new Daemon { Logs = new CapturingLoggerProvider(output, LogLevel.Information) };
            string[] args =
            [
                "--Keeper:JournalPath=" + journal,
                "--Keeper:Detection:DefaultBlockTimeSeconds=1",
                "--Keeper:MinProfitUsd=0.1",
                "--Keeper:Monitoring:Port=0", // tests run in parallel: any free port
                "--Logging:LogLevel:Default=Information",
                "--Logging:LogLevel:Microsoft=Warning",
                "--Logging:Console:LogLevel:Default=None",
                .. extraArgs,
            ];
            var overrides = new Dictionary<string, string?> { ["Keeper:Deployment"] = d.DeploymentFile, ["Keeper:AllowRawKey"] = "true" };
            foreach (var kv in extraOverrides ?? new Dictionary<string, string?>()) overrides[kv.Key] = kv.Value;
            Func<string, string?> env = n => n == "CROSSMARGIN_DEV_PRIVATE_KEY" ? OracleRunDevnet.Keeper.PrivateKeyHex : null;
            daemon._run = KeeperHost.RunAsync(args, overrides, null, daemon._errors, env, sp =>
            {
                sp.GetRequiredService<ILoggerFactory>().AddProvider(daemon.Logs);
                daemon._services.TrySetResult(sp);
            }, daemon._cts.Token);
            _ = daemon._run.ContinueWith(t => daemon._services.TrySetException(new InvalidOperationException($"the daemon exited ({(t.IsCompletedSuccessfully ? t.Result : -1)}): {daemon._errors}")),
                TaskScheduler.Default);
            return daemon;
        }

        public async Task<int> StopAsync()
        {
            await _cts.CancelAsync();
            return await _run;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_run.IsCompleted) await StopAsync();
            _cts.Dispose();
        }

        public async Task WaitStartedAsync() => await _services.Task.WaitAsync(TimeSpan.FromSeconds(60));
    }

    private static string[] SourceArgs(MarketSimulatorServer server) =>
    [
        "--Keeper:Oracle:Sources:Binance=" + server.SourceBaseUri("binance"),
        "--Keeper:Oracle:Sources:Coinbase=" + server.SourceBaseUri("coinbase"),
        "--Keeper:Oracle:Sources:Kraken=" + server.SourceBaseUri("kraken"),
        "--Keeper:Oracle:Sources:PythHermes=" + server.SourceBaseUri("pyth"),
        "--Keeper:Oracle:RoundIntervalMs=500",
        "--Keeper:Oracle:SourceRetries=0",
        "--Keeper:Oracle:SourceTimeoutMs=2000",
    ];

    /// <summary>A scenario from devnet/scenarios with the devnet's Pyth ids, so Hermes updates land where the hub reads them.</summary>
    private MarketScenario Scenario(string name, bool devnetPrices)
    {
        MarketScenario s = MarketScenario.Load(Path.Combine(DevnetPaths.DevnetDir, "scenarios", name + ".json"));
        IEnumerable<ScenarioAsset> assets = s.Assets;
        if (devnetPrices)
        {
            // every devnet oracle, at the devnet's prices, without noise: the sources agree with the hub until the chain moves
            assets = DevnetDefaults.Oracles.Select(o => new ScenarioAsset(o.Symbol.Split('/')[0],
                WadDecimal.Parse(o.InitialPrice.ToString(CultureInfo.InvariantCulture)), [], 0, [], 0));
        }
        return s with
        {
            Assets = [.. assets.Select(a => a with { PythFeedId = devnet.Deployment.Oracle(a.Symbol + "/USD").PythPriceId.ToArray() })],
        };
    }

    private async Task<Dictionary<string, (ulong RoundId, UInt256 Wad)>> FeedsAsync()
    {
        var reader = new RpcAggregatorV3Reader(devnet.Eth);
        DevnetOracle[] oracles = [.. devnet.Deployment.Oracles];
        FeedRound?[] rounds = await reader.LatestRoundsAsync([.. oracles.Select(o => o.PushFeed)], BlockTag.Latest, CancellationToken.None);
        var r = new Dictionary<string, (ulong, UInt256)>(StringComparer.Ordinal);
        for (int i = 0; i < oracles.Length; i++)
            r[oracles[i].Symbol.Split('/')[0]] = (rounds[i]!.Value.RoundId, PushPolicy.AnswerToWad(rounds[i]!.Value.Answer, oracles[i].FeedDecimals));
        return r;
    }

    private async Task<T> IsolatedAsync<T>(Func<Task<T>> body)
    {
        UInt256 snapshot = await devnet.Rpc.SnapshotAsync();
        try
        {
            return await body();
        }
        finally
        {
            await devnet.Rpc.SetAutomineAsync(true);
            Assert.True(await devnet.Rpc.RevertAsync(snapshot));
        }
    }

    /// <summary>Mines a block every <paramref name="ms"/> ms until cancelled.</summary>
    private Task Produce(int ms, CancellationToken ct) => Task.Run(async () =>
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await devnet.Rpc.MineAsync(cancellationToken: ct);
                await Task.Delay(ms, ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }, CancellationToken.None);

    [Fact]
    public async Task Daemon_pushes_rounds_that_follow_the_simulator_and_journals_the_deviation() => await IsolatedAsync(async () =>
    {
        string journal = Path.Combine(devnet.Dir, "push-journal.db");
        var sim = new MarketSimulation(Scenario("calm", devnetPrices: false));
        await using MarketSimulatorServer server = await MarketSimulatorServer.StartAsync(sim);
        Dictionary<string, (ulong RoundId, UInt256 Wad)> before = await FeedsAsync();

        // tight thresholds so that the feeds track the walk; assets listed by oracle symbol, feeds and Pyth ids from the deployment
        string[] assets = ["ETH", "BTC", "SOL"];
        var args = new List<string>(SourceArgs(server));
        for (int i = 0; i < assets.Length; i++)
        {
            args.Add($"--Keeper:Oracle:Assets:{i}:Symbol={assets[i]}");
            args.Add($"--Keeper:Oracle:Assets:{i}:Oracle={assets[i]}/USD");
            args.Add($"--Keeper:Oracle:Assets:{i}:DeviationBps=10");
            args.Add($"--Keeper:Oracle:Assets:{i}:EarlyBps=5");
            args.Add($"--Keeper:Oracle:Assets:{i}:HeartbeatSeconds=10");
        }
        args.Add("--Keeper:Oracle:PythDeviationBps=10");

        using var producerCts = new CancellationTokenSource();
        Task producer = Produce(300, producerCts.Token);
        OracleService oracle;
        long rounds;
        var hubReader = new HubPriceReader(devnet.Eth, devnet.Deployment.OracleHub, assets.ToDictionary(a => a, a => devnet.Deployment.Oracle(a + "/USD").OracleId));
        await using (Daemon daemon = Daemon.Start(devnet, output, journal, args))
        {
            await daemon.WaitStartedAsync();
            oracle = daemon.Services.GetRequiredService<OracleService>();

            // until each feed has been pushed twice and the feeds and the hub (push feed and Pyth together) sit at the simulator's price
            string state = "";
            bool follows = false;
            for (int i = 0; i < 240 && !follows; i++)
            {
                await Task.Delay(250);
                Dictionary<string, (ulong RoundId, UInt256 Wad)> feeds = await FeedsAsync();
                HubPriceSnapshot hub = await hubReader.ReadAsync();
                int step = sim.CurrentStep;
                follows = true;
                var parts = new List<string>();
                foreach (string a in assets)
                {
                    UInt256 truth = sim.TruePrice(a, step);
                    long feedDev = Bps.Deviation(feeds[a].Wad, truth);
                    long hubDev = hub.For(a)?.PriceWad is { } p ? Bps.Deviation(p, truth) : long.MaxValue;
                    parts.Add($"{a}: rounds +{feeds[a].RoundId - before[a].RoundId}, feed {feedDev} bps, hub {(hubDev == long.MaxValue ? hub.For(a)?.Error : hubDev + " bps")}");
                    follows &= feeds[a].RoundId >= before[a].RoundId + 2 && feedDev <= 60 && hubDev <= 60;
                }
                state = $"step {step}, {oracle.Rounds} rounds ({oracle.PushRounds} pushing): " + string.Join("; ", parts);
            }
            output.WriteLine(state);
            Assert.True(follows, "the hub does not follow the simulator: " + state);
            rounds = oracle.Rounds;
            Assert.Equal(0, await daemon.StopAsync());
            Assert.True(oracle.Failures == 0, $"{oracle.Failures} oracle rounds failed");
        }
        await producerCts.CancelAsync();
        await producer;

        using TxJournal j = TxJournal.OpenReadOnly(journal);
        // every push went through the keeper's executor (journaled intents of kind oracle-push, from the keeper's account)
        var pushes = j.GetAllAttempts().Where(a => a.IntentId is { } id && j.GetIntent(id)?.Intent.Kind == "oracle-push").ToList();
        Assert.NotEmpty(pushes);
        Assert.All(pushes, a => Assert.Equal(OracleRunDevnet.Keeper.Address, a.Sender));
        int mined = 0;
        foreach (TxAttempt a in pushes)
        {
            // the journal's state may lag (the executor settles receipts per block); the chain has the answer
            TransactionReceipt? receipt = await devnet.Eth.GetTransactionReceiptAsync(a.Hash);
            if (receipt is null) continue;
            Assert.True(receipt.Succeeded, $"push {a.Hash} reverted");
            mined++;
        }
        Assert.True(mined >= 2, $"{mined} of {pushes.Count} push transactions mined");
        output.WriteLine($"{pushes.Count} push transactions ({mined} mined), {rounds} rounds");

        // deviation observations: per asset at most one per round, each with its block; the first ETH one saw the hub at
        // the deployment's 3000 against a market at ~3500 (negative: the hub below the reference), the last one is close
        IReadOnlyList<JournalObservation> obs = j.GetObservations(ObservationKinds.OracleDeviationBps);
        foreach (string a in assets)
        {
            var mine = obs.Where(o => o.Key == a).ToList();
            Assert.NotEmpty(mine);
            Assert.True(mine.Count <= rounds, $"{a}: {mine.Count} observations in {rounds} rounds");
            Assert.All(mine, o => Assert.NotNull(o.Block));
            Assert.True(mine.Zip(mine.Skip(1)).All(p => p.First.Block <= p.Second.Block), $"{a}: blocks go backwards");
            output.WriteLine($"{a}: {mine.Count} observations, first {mine[0].AsDouble()} bps, last {mine[^1].AsDouble()} bps");
        }
        var eth = obs.Where(o => o.Key == "ETH").ToList();
        Assert.InRange(eth[0].AsDouble(), -1500, -1000);
        Assert.InRange(eth[^1].AsDouble(), -60, 60);
        return 0;
    });

    [Fact]
    public async Task Gate_blocks_liquidations_the_sources_dispute_and_no_oracle_lets_them_through() => await IsolatedAsync(async () =>
    {
        // all-down, with the devnet's prices: live for steps 0-1, every source down from step 2 to 8
        var clock = new SimulatedClock(DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds()));
        MarketScenario scenario = Scenario("all-down", devnetPrices: true);
        var sim = new MarketSimulation(scenario, clock);
        await using MarketSimulatorServer server = await MarketSimulatorServer.StartAsync(sim);
        string[] args =
        [
            .. SourceArgs(server),
            "--Keeper:Oracle:Push=false",          // the gate alone: nothing corrects the chain
            "--Keeper:Oracle:MaxSampleAgeSeconds=3600", // the simulator's clock stands still while the test runs
        ];

        PriceDriver driver = devnet.Driver();
        await driver.SetPricesAsync(DevnetDefaults.Oracles.ToDictionary(o => o.Symbol, o => o.InitialPrice));
        await devnet.Rpc.SetAutomineAsync(false);
        using var producerCts = new CancellationTokenSource();
        Task producer = Produce(300, producerCts.Token);
        try
        {
            await using (Daemon daemon = Daemon.Start(devnet, output, Path.Combine(devnet.Dir, "gate-journal.db"), args))
            {
                await daemon.WaitStartedAsync();
                PriceAggregator aggregator = daemon.Services.GetRequiredService<PriceAggregator>();
                AggregatorPriceGate gate = daemon.Services.GetRequiredService<AggregatorPriceGate>();
                for (int i = 0; i < 120 && !DevnetDefaults.Oracles.All(o => aggregator.StateOf(o.Symbol.Split('/')[0]) == OracleState.Healthy); i++) await Task.Delay(250);
                Assert.All(DevnetDefaults.Oracles, o => Assert.Equal(OracleState.Healthy, aggregator.StateOf(o.Symbol.Split('/')[0])));

                // the chain crashes ETH and BTC by 25 %; the sources still quote the old prices
                foreach (decimal f in new[] { 1m - (0.25m / 3), 1m - (0.5m / 3), 0.75m })
                    await driver.SetPricesAsync(Crashed.ToDictionary(o => o, o => DevnetDefaults.Oracles.First(x => x.Symbol == o).InitialPrice * f));
                ulong crashed = await devnet.Eth.BlockNumberAsync();
                await WaitForPlannedAsync(daemon, crashed, 8);
                var afterCrash = daemon.Logs.Planned.Where(p => p.Block > crashed).ToList();
                Assert.Contains(afterCrash, p => p.Liquidatable > 0);
                Assert.All(afterCrash, p => Assert.Equal(0, p.Batches));
                Assert.Equal(0, daemon.Pipeline.Stats.Batches);
                var deviation = Assert.IsType<SanityDecision.Blocked>(gate.LastDecision("ETH"));
                Assert.Equal(SanityBlockReason.Deviation, deviation.Reason);
                Assert.InRange(deviation.DeviationBps!.Value, 2400, 2600);
                output.WriteLine($"crash: {afterCrash.Max(p => p.Liquidatable)} liquidatable, nothing planned; gate {gate.Stats}");

                // every source goes down: the assets halt and stay blocked
                clock.Set(sim.StepTime(3));
                for (int i = 0; i < 120 && gate.LastDecision("ETH") is not SanityDecision.Blocked { Reason: SanityBlockReason.Halted }; i++) await Task.Delay(250);
                Assert.Equal(OracleState.Halted, aggregator.StateOf("ETH"));
                Assert.Equal(SanityBlockReason.Halted, Assert.IsType<SanityDecision.Blocked>(gate.LastDecision("ETH")).Reason);
                ulong halted = await devnet.Eth.BlockNumberAsync();
                await WaitForPlannedAsync(daemon, halted, 4);
                Assert.All(daemon.Logs.Planned, p => Assert.Equal(0, p.Batches));
                Assert.Equal(0, daemon.Pipeline.Stats.Batches);
                output.WriteLine($"all sources down: nothing planned; gate {gate.Stats}");
                Assert.Equal(0, await daemon.StopAsync());
            }

            // --no-oracle: the same chain, the same keeper, liquidations go through
            await using (Daemon daemon = Daemon.Start(devnet, output, Path.Combine(devnet.Dir, "no-oracle-journal.db"), args,
                new Dictionary<string, string?> { ["Keeper:OracleEnabled"] = "false" }))
            {
                await daemon.WaitStartedAsync();
                Assert.Null(daemon.Services.GetService<OracleService>());
                for (int i = 0; i < 240 && daemon.Pipeline.Stats.Included == 0; i++) await Task.Delay(250);
                output.WriteLine($"--no-oracle: {daemon.Pipeline.Stats}");
                Assert.True(daemon.Pipeline.Stats.Batches > 0);
                Assert.True(daemon.Pipeline.Stats.Included > 0);
                Assert.Equal(0, await daemon.StopAsync());
            }
        }
        finally
        {
            await producerCts.CancelAsync();
            await producer;
        }
        return 0;
    });

    /// <summary>Waits until the keeper has planned <paramref name="count"/> blocks after <paramref name="after"/>.</summary>
    private static async Task WaitForPlannedAsync(Daemon daemon, ulong after, int count)
    {
        for (int i = 0; i < 240 && daemon.Logs.Planned.Count(p => p.Block > after) < count; i++) await Task.Delay(250);
        Assert.True(daemon.Logs.Planned.Count(p => p.Block > after) >= count, $"the keeper planned only {daemon.Logs.Planned.Count(p => p.Block > after)} blocks after {after}");
    }
}
