using CrossMargin.Devnet.Tests.Protocol;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Contracts;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Ethereum.Signing;
using CrossMargin.Ethereum.Transactions;
using CrossMargin.Keeper.Detection;
using CrossMargin.Keeper.Execution;
using CrossMargin.Keeper.Hosting;
using CrossMargin.Keeper.Indexing;
using CrossMargin.Keeper.Planning;
using CrossMargin.Keeper.Rpc;
using CrossMargin.Risk;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace CrossMargin.Devnet.Tests.Keeper;

public sealed class KeeperDevnet : ProtocolDevnet
{
    public override int SeededAccounts => 300;
}

public sealed class KeeperDevnetTests(KeeperDevnet devnet, ITestOutputHelper output) : IClassFixture<KeeperDevnet>
{
    internal static readonly string[] CrashOracles = ["ETH/USD", "BTC/USD"];

    [Fact]
    public async Task Keeper_liquidates_every_account_after_a_25_percent_crash_without_reverts()
    {
        var d = devnet;
        string dir = Directory.CreateTempSubdirectory("cm-keeper-devnet-").FullName;
        using var http = new JsonRpcClient(d.Anvil.RpcUrl, timeout: TimeSpan.FromSeconds(60));
        var counting = new CountingRpcClient(http);
        var eth = new EthClient(counting);
        using var signer = new LocalTxSigner(PrivateKey.FromHex(AnvilDevAccounts.AnvilDevPrivateKey2), ownsKey: true);

        // settlement tokens for collateral sales (liquidateCollateral is paid in the settlement token)
        var usdc = d.Deployment.Assets[0];
        await d.Sender(0).SendAndWaitAsync(new CrossMargin.Contracts.MockERC20(usdc.Token).Mint(signer.Address, new UInt256(10_000_000UL * 1_000_000UL)));
        await using var stack = KeeperStack.Create(eth, new KeeperStackOptions
        {
            Engine = d.Deployment.Engine, OracleHub = d.Deployment.OracleHub, DeploymentBlock = d.Deployment.DeployBlock, WebSocketUrl = d.Anvil.WsUrl,
            PollInterval = TimeSpan.FromMilliseconds(50), RetryDelay = TimeSpan.FromMilliseconds(50),
            Signer = signer, JournalPath = Path.Combine(dir, "journal.db"),
            Detection = new DetectionOptions { DefaultBlockTimeSeconds = 1 },
            Planner = new PlannerOptions { MinProfit = RiskMath.Wad / new UInt256(10UL) },
            Execution = new ExecutionOptions { ReplaceAfterBlocks = 3 },
            PipelineLogger = new TestOutputLogger<KeeperPipeline>(output, LogLevel.Debug),
        });
        await stack.SyncAsync(await eth.BlockNumberAsync());
        await stack.StartAsync();
        var (pipeline, detector, planner) = (stack.Pipeline, stack.Detector, stack.Planner);

        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            var driverSender = d.Sender(0);
            var driver = await d.DriverAtInitialPricesAsync(driverSender);
            await WaitForBlocksAsync(pipeline, 2, cts.Token, mine: d);
            long callsBefore = counting.Count, blocksBefore = pipeline.Stats.Blocks;

            // real blocks from here on: one every 300 ms with whatever is pending (the price driver's push-feed and Pyth
            // updates land in the same block, as an oracle update would; under automine each would be its own block and
            // a liquidation could land between them, where the two sources diverge and every oracle read reverts)
            await d.Rpc.SetAutomineAsync(false);
            using var producerCts = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
            Task producer = Task.Run(async () =>
            {
                while (!producerCts.Token.IsCancellationRequested)
                {
                    await d.Rpc.MineAsync();
                    await Task.Delay(300, producerCts.Token);
                }
            });

            // crash ETH and BTC by 25% over 3 blocks (−25% in total: 3 equal price steps)
            decimal[] factors = [1m - (0.25m / 3), 1m - (0.5m / 3), 0.75m];
            foreach (decimal f in factors)
            {
                await driver.SetPricesAsync(CrashOracles.ToDictionary(o => o, o => DevnetDefaults.Oracles.First(x => x.Symbol == o).InitialPrice * f));
            }
            ulong crashBlock = await d.Eth.BlockNumberAsync();

            // at most 40 more blocks (mined empty when nothing else happens) for every account to be back above maintenance
            int unhealthy = int.MaxValue, collateralOnly = 0;
            ulong lastBlock = crashBlock;
            for (int i = 0; i < 40; i++)
            {
                await Task.Delay(300, cts.Token);
                lastBlock = await d.Eth.BlockNumberAsync();
                (unhealthy, collateralOnly) = await CountBelowMaintenanceAsync(d, lastBlock);
                if (unhealthy == 0 && collateralOnly == 0 && pipeline.InFlight.Count == 0) break;
            }
            await WaitForBlocksAsync(pipeline, 2, cts.Token);
            await producerCts.CancelAsync();
            try { await producer; } catch (OperationCanceledException) { }
            await d.Rpc.SetAutomineAsync(true);

            var stats = pipeline.Stats;
            long calls = counting.Count - callsBefore;
            long blocks = stats.Blocks - blocksBefore;
            var lat = pipeline.Latencies.Select(t => t.TotalMilliseconds).Order().ToArray();
            output.WriteLine($"blocks after crash: {lastBlock - crashBlock}, batches {stats.Batches}, requests {stats.Requests}, collateral sales {stats.CollateralSales}, failures {stats.Failures}, included {stats.Included}, reverted {stats.Reverted}, cancelled {stats.Cancelled}");
            output.WriteLine($"accounts with positions below maintenance: {unhealthy}; position-free accounts with negative equity (need liquidateCollateral): {collateralOnly}");
            if (lat.Length > 0) output.WriteLine($"detection→send latency ms: p50 {Percentile(lat, 50):F1}, p99 {Percentile(lat, 99):F1}, n {lat.Length}");
            foreach (var (n, used) in pipeline.IncludedGas) output.WriteLine($"batch of {n} requests: {used} gas = {used / (ulong)n} per request");
            output.WriteLine($"RPC round trips: {calls} over {blocks} keeper blocks = {(double)calls / Math.Max(1, blocks):F1} per block (a JSON-RPC batch counts once; calls per method below)");
            foreach (var (method, n) in counting.ByMethod.OrderByDescending(kv => kv.Value)) output.WriteLine($"  {method}: {n}");

            if (unhealthy > 0 && detector.Risk is { } risk)
            {
                var list = new List<int>();
                risk.Liquidatable(list);
                output.WriteLine($"detector: {list.Count} liquidatable; statuses {string.Join(", ", list.GroupBy(risk.StatusOf).Select(g => $"{g.Key}={g.Count()}"))}");
                var last = await detector.ProcessAsync(new BlockProcessed(lastBlock, Hash32.Zero, (await eth.GetBlockByNumberAsync(BlockTag.Number(lastBlock)))!.Timestamp, [], false, null));
                var plan = planner.Plan(last, detector.StateOf, new GasQuote(new UInt256(2_000_000_000UL), last.NativePrice), pipeline.InFlight, detector.Config!.SlotOracles);
                output.WriteLine($"replan: {plan.RequestCount} requests; skipped {string.Join(", ", plan.Skipped.GroupBy(x => x.Reason).Select(g => $"{g.Key}={g.Count()} ({g.First().Detail})"))}");
            }
            Assert.Equal(0, unhealthy);
            Assert.Equal(0, collateralOnly);
            Assert.True(stats.CollateralSales > 0);
            Assert.True(stats.Batches > 0);
            Assert.True(stats.Included > 0);
            Assert.Equal(0, stats.Reverted);
        }
        finally
        {
            await stack.DisposeAsync();
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    private static async Task WaitForBlocksAsync(KeeperPipeline pipeline, int blocks, CancellationToken ct, ProtocolDevnet? mine = null)
    {
        long target = pipeline.Stats.Blocks + blocks;
        while (pipeline.Stats.Blocks < target)
        {
            if (mine is not null) await mine.Rpc.MineAsync();
            await Task.Delay(100, ct);
            if (mine is null && pipeline.Stats.Blocks < target) await Task.Delay(100, ct);
        }
    }

    /// <summary>
    /// Accounts with positions (MM &gt; 0) below maintenance: what batchLiquidate can fix. Accounts without positions and
    /// negative equity (collateral left, cash below it) need liquidateCollateral: they are counted in
    /// <paramref name="collateralOnly"/>.
    /// </summary>
    private static async Task<(int Below, int CollateralOnly)> CountBelowMaintenanceAsync(ProtocolDevnet d, ulong block)
    {
        int below = 0, collateralOnly = 0;
        var accounts = d.Deployment.Accounts;
        for (int from = 0; from < accounts.Count; from += 250)
        {
            Address[] part = [.. accounts.Skip(from).Take(250)];
            var health = await d.Eth.CallAsync(d.Engine.HealthBatch(part), BlockTag.Number(block));
            foreach (var h in health)
            {
                if (h.Equity >= RiskMath.ToInt256(h.MaintenanceMargin)) continue;
                if (h.MaintenanceMargin.IsZero) collateralOnly++;
                else below++;
            }
        }
        return (below, collateralOnly);
    }

    private static double Percentile(double[] sorted, int p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p / 100.0 * sorted.Length) - 1)];
}

public sealed class KeeperSnapshotDevnetTests(KeeperDevnet devnet, ITestOutputHelper output) : IClassFixture<KeeperDevnet>
{
    [Fact]
    public async Task Snapshot_matches_health_batch_and_shock_predicts_the_crash()
    {
        var d = devnet;
        var target = new ChainTarget(d.Anvil.RpcUrl, d.Deployment.Engine, d.Deployment.OracleHub, d.Deployment.DeployBlock);
        var sender = d.Sender(0);
        var driver = await d.DriverAtInitialPricesAsync(sender);
        ulong block = await d.Eth.BlockNumberAsync();
        var snapshot = await ChainSnapshot.LoadAsync(d.Eth, target, block);
        var accounts = d.Deployment.Accounts;
        var health = new List<CrossMargin.Contracts.CrossMarginEngine.HealthData>();
        for (int from = 0; from < accounts.Count; from += 250)
            health.AddRange(await d.Eth.CallAsync(d.Engine.HealthBatch([.. accounts.Skip(from).Take(250)]), BlockTag.Number(block)));
        var byAddress = snapshot.Detector.Accounts().ToDictionary(a => a.Account, a => a.Id);
        for (int i = 0; i < accounts.Count; i++)
        {
            Health mine = snapshot.Risk.HealthOf(byAddress[accounts[i]]);
            Assert.Equal(health[i].Equity, mine.Equity);
            Assert.Equal(health[i].MaintenanceMargin, mine.MaintenanceMargin);
        }

        // what-if ETH −20%, then the real move: the predicted accounts are exactly those that became liquidatable
        int slot = snapshot.SlotOf("ETH") ?? throw new InvalidOperationException("no ETH oracle");
        var predicted = snapshot.Risk.Shock([(slot, -2_000)]).Select(h => snapshot.Detector.AddressOf(h.AccountId)).ToHashSet();
        var before = new HashSet<Address>(accounts.Where((a, i) => health[i].Equity < RiskMath.ToInt256(health[i].MaintenanceMargin)));
        await driver.SetPricesAsync(new Dictionary<string, decimal> { ["ETH/USD"] = 2400m });
        ulong after = await d.Eth.BlockNumberAsync();
        var actual = new HashSet<Address>();
        for (int from = 0; from < accounts.Count; from += 250)
        {
            Address[] part = [.. accounts.Skip(from).Take(250)];
            var h = await d.Eth.CallAsync(d.Engine.HealthBatch(part), BlockTag.Number(after));
            for (int j = 0; j < part.Length; j++) if (h[j].Equity < RiskMath.ToInt256(h[j].MaintenanceMargin) && !before.Contains(part[j])) actual.Add(part[j]);
        }
        output.WriteLine($"shock ETH -20%: predicted {predicted.Count}, actual {actual.Count}");
        Assert.True(predicted.Count > 0);
        Assert.Equal(actual.Order(), predicted.Order());
    }

    [Fact]
    public async Task Scan_and_simulate_commands_run_against_the_devnet()
    {
        string dir = Directory.CreateTempSubdirectory("cm-keeper-scan-").FullName;
        try
        {
            string deployment = Path.Combine(dir, "deployment.json");
            devnet.Deployment.Save(deployment);
            Assert.Equal(0, await CrossMargin.Keeper.Cli.CliApp.RunAsync(["scan", "--deployment", deployment, "--top", "5"]));
            Assert.Equal(0, await CrossMargin.Keeper.Cli.CliApp.RunAsync(["simulate", "--deployment", deployment, "--shock", "ETH=-20%", "--shock", "BTC=-10%"]));
            Assert.Equal(2, await CrossMargin.Keeper.Cli.CliApp.RunAsync(["simulate", "--deployment", deployment, "--shock", "DOGE=-20%"]));
        }
        finally
        {
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }
}

public sealed class KeeperDryRunDevnetTests(KeeperDevnet devnet, ITestOutputHelper output) : IClassFixture<KeeperDevnet>
{
    [Fact]
    public async Task Dry_run_simulates_and_sends_nothing()
    {
        var d = devnet;
        var eth = d.Eth;
        var keeper = Address.Parse(AnvilDevAccounts.AnvilDevAddress2);
        ulong nonce = await eth.GetTransactionCountAsync(keeper);
        var driver = await d.DriverAtInitialPricesAsync(d.Sender(0));
        var indexerOptions = new IndexerOptions { Engine = d.Deployment.Engine, DeploymentBlock = d.Deployment.DeployBlock, ReconcileEveryBlocks = 0 };
        var indexer = new ChainIndexer(eth, indexerOptions);
        await indexer.SyncAsync(await eth.BlockNumberAsync());
        var detector = new LiquidationDetector(new EngineMarketReader(eth, d.Deployment.Engine, d.Deployment.OracleHub), indexer.Book);
        var planner = new LiquidationPlanner(new PlannerOptions { MinProfit = UInt256.Zero }, keeper);
        var pipeline = new KeeperPipeline(indexer, detector, planner, eth, d.Deployment.Engine, new FeeEstimator(eth, new FeeOptions()), null);
        await driver.SetPricesAsync(KeeperDevnetTests.CrashOracles.ToDictionary(o => o, o => DevnetDefaults.Oracles.First(x => x.Symbol == o).InitialPrice * 0.75m));
        await indexer.AdvanceAsync(await eth.BlockNumberAsync());
        BlockProcessed? last = null;
        while (indexer.Blocks.TryRead(out var b)) last = last is null ? b : KeeperPipeline.Coalesce(last, b);
        var report = await pipeline.ProcessBlockAsync(last!, CancellationToken.None);
        output.WriteLine($"dry run: {report.Liquidatable} liquidatable, {report.Planned} requests planned, {pipeline.Stats.DryRunCalls} simulations, {pipeline.Stats.DryRunReverts} reverted");
        Assert.True(report.Planned > 0);
        Assert.True(pipeline.Stats.DryRunCalls > 0);
        Assert.Equal(0, pipeline.Stats.DryRunReverts);
        Assert.Equal(nonce, await eth.GetTransactionCountAsync(keeper));
    }

    [Fact]
    public async Task Run_host_refuses_a_wrong_chain_id_and_runs_in_dry_run()
    {
        var d = devnet;
        string dir = Directory.CreateTempSubdirectory("cm-keeper-host-").FullName;
        try
        {
            string deployment = Path.Combine(dir, "deployment.json");
            d.Deployment.Save(deployment);
            string[] args = ["--Keeper:JournalPath=" + Path.Combine(dir, "journal.db"), "--Keeper:Detection:DefaultBlockTimeSeconds=1"];
            var overrides = new Dictionary<string, string?> { ["Keeper:Deployment"] = deployment, ["Keeper:AllowRawKey"] = "true", ["Keeper:DryRun"] = "true" };
            Func<string, string?> env = n => n == "CROSSMARGIN_DEV_PRIVATE_KEY" ? AnvilDevAccounts.AnvilDevPrivateKey2 : null;

            await d.DriverAtInitialPricesAsync(d.Sender(0)); // fresh prices
            var errors = new StringWriter();
            int code = await KeeperHost.RunAsync([.. args, "--Keeper:ChainId=1"], overrides, null, errors, env);
            Assert.Equal(KeeperHost.BadConfiguration, code);
            Assert.Equal($"Keeper:ChainId is 1 but the RPC endpoint reports chain id {d.Anvil.ChainId}.", errors.ToString().Trim());

            KeeperPipeline? pipeline = null;
            using var cts = new CancellationTokenSource();
            Task<int> run = KeeperHost.RunAsync(args, overrides, null, errors, env, sp => pipeline = sp.GetService(typeof(KeeperPipeline)) as KeeperPipeline, cts.Token);
            for (int i = 0; i < 100 && (pipeline is null || pipeline.Stats.Blocks < 3); i++)
            {
                await d.Rpc.MineAsync();
                await Task.Delay(200);
            }
            await cts.CancelAsync();
            Assert.Equal(0, await run);
            Assert.NotNull(pipeline);
            output.WriteLine($"host: {pipeline.Stats}");
            Assert.True(pipeline.Stats.Blocks >= 3);
            Assert.Equal(0, pipeline.Stats.Failures);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }
}
