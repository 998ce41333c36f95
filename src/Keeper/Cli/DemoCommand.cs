using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using CrossMargin.Contracts;
using CrossMargin.Devnet;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Contracts;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Ethereum.Signing;
using CrossMargin.Ethereum.Transactions;
using CrossMargin.Keeper.Execution;
using CrossMargin.Keeper.Hosting;
using CrossMargin.Risk;
using Microsoft.Data.Sqlite;
using Spectre.Console;

namespace CrossMargin.Keeper.Cli;

/// <summary>
/// `crossmargin demo`: the showcase on the embedded devnet. Starts anvil, deploys and seeds the protocol, starts the
/// keeper daemon (the same host as <c>crossmargin run</c>) with an Anvil development key, drives a crash (ETH and BTC
/// fall 25% over three blocks, one block every <c>--block-ms</c>), shows the keeper's liquidations live and ends with a
/// summary. Exit code 0 only when every account is back at or above maintenance, as the engine's <c>healthBatch</c>
/// view reports it; 1 otherwise.
/// </summary>
public static class DemoCommand
{
    /// <summary>The keeper's key in the demo: Anvil development account 2 (a well-known test key, never for real funds).</summary>
    public const string KeeperKey = AnvilDevAccounts.AnvilDevPrivateKey2;

    public static Command Create()
    {
        var accounts = new Option<int>("--accounts") { Description = "Accounts to seed (10..5000).", DefaultValueFactory = _ => 500 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of account keys and portfolios.", DefaultValueFactory = _ => 7 };
        var blockMs = new Option<int>("--block-ms") { Description = "Milliseconds between blocks during the crash (100..5000).", DefaultValueFactory = _ => 500 };
        var maxBlocks = new Option<int>("--max-blocks") { Description = "Blocks after the crash before giving up (5..1000).", DefaultValueFactory = _ => 60 };
        var demo = new Command("demo", "Start the embedded devnet, seed accounts, run the keeper through a crash and summarise what it did.")
        {
            accounts, seed, blockMs, maxBlocks,
        };
        demo.SetAction((parseResult, ct) => RunAsync(new DemoSettings(parseResult.GetValue(accounts), parseResult.GetValue(seed),
            parseResult.GetValue(blockMs), parseResult.GetValue(maxBlocks)), Console.Out, ct));
        return demo;
    }

    public sealed record DemoSettings(int Accounts, ulong Seed, int BlockMilliseconds, int MaxBlocks);

    /// <summary>Runs the demo, writing to <paramref name="output"/>; returns the exit code.</summary>
    public static async Task<int> RunAsync(DemoSettings settings, TextWriter output, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(output);
        string? bad = settings switch
        {
            { Accounts: < 10 or > 5000 } => "--accounts must be between 10 and 5000.",
            { BlockMilliseconds: < 100 or > 5000 } => "--block-ms must be between 100 and 5000.",
            { MaxBlocks: < 5 or > 1000 } => "--max-blocks must be between 5 and 1000.",
            _ => null,
        };
        if (bad is not null)
        {
            await Console.Error.WriteLineAsync(bad).ConfigureAwait(false);
            return DevnetCommand.BadArguments;
        }

        var total = Stopwatch.StartNew();
        bool redirected = !ReferenceEquals(output, Console.Out) || Console.IsOutputRedirected;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = redirected ? AnsiSupport.No : AnsiSupport.Detect,
            ColorSystem = redirected ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
            Interactive = redirected ? InteractionSupport.No : InteractionSupport.Detect,
        });
        if (redirected) console.Profile.Width = 132;
        console.MarkupLine("[bold]CrossMargin demo[/]: embedded devnet, keeper daemon, a 25% crash");
        await using var anvil = await AnvilProcess.StartAsync(new AnvilOptions { GasLimit = 1_000_000_000 }, ct).ConfigureAwait(false);
        console.WriteLine($"  anvil {anvil.RpcUrl} chain {anvil.ChainId}");

        var deployment = await DevnetDeployer.DeployAsync(anvil.RpcUrl, anvil.ChainId, wsUrl: anvil.WsUrl, cancellationToken: ct).ConfigureAwait(false);
        console.WriteLine($"  deployed engine {deployment.Engine}, oracle hub {deployment.OracleHub}");
        var seeded = await DevnetSeeder.SeedAsync(deployment, new DevnetSeedOptions { Accounts = settings.Accounts, Seed = settings.Seed }, ct).ConfigureAwait(false);
        deployment = deployment with { Accounts = seeded.Addresses.ToArray(), AccountSeed = settings.Seed };
        console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  seeded {seeded.Accounts.Count} accounts with {seeded.Transactions} transactions in {seeded.Elapsed.TotalSeconds:0.0} s"));

        using var http = new JsonRpcClient(anvil.RpcUrl);
        var eth = new EthClient(http);
        var engine = new CrossMarginEngine(deployment.Engine);
        Address[] addresses = [.. seeded.Addresses];

        using var deployerKey = PrivateKey.FromHex(AnvilDevAccounts.Deployer.PrivateKeyHex);
        using var deployerSigner = new LocalTxSigner(deployerKey);
        var sender = new TransactionSender(eth, deployerSigner, anvil.ChainId);
        var prices = new PriceDriver(deployment, sender, http);
        await prices.SetPricesAsync(DevnetDefaults.Oracles.ToDictionary(o => o.Symbol, o => o.InitialPrice), cancellationToken: ct).ConfigureAwait(false);

        // the keeper pays collateral sales in the settlement token
        Address keeper = Address.Parse(AnvilDevAccounts.AnvilDevAddress2);
        var usdc = deployment.Assets[0];
        await sender.SendAndWaitAsync(new MockERC20(usdc.Token).Mint(keeper, new UInt256(10_000_000UL) * Pow10(usdc.Decimals)), cancellationToken: ct).ConfigureAwait(false);

        string dir = Directory.CreateTempSubdirectory("crossmargin-demo-").FullName;
        string deploymentFile = Path.Combine(dir, "deployment.json");
        deployment.Save(deploymentFile);
        var before = await CountAsync(eth, engine, addresses, ct).ConfigureAwait(false);
        console.WriteLine($"  before the crash: {before}");

        using var keeperCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        KeeperPipeline? pipeline = null;
        var errors = new StringWriter(CultureInfo.InvariantCulture);
        string[] keeperArgs =
        [
            "--Keeper:JournalPath=" + Path.Combine(dir, "journal.db"),
            "--Keeper:Detection:DefaultBlockTimeSeconds=1",
            "--Keeper:MinProfitUsd=0.1",
            "--Logging:LogLevel:Default=Warning",
        ];
        var overrides = new Dictionary<string, string?> { ["Keeper:Deployment"] = deploymentFile, ["Keeper:AllowRawKey"] = "true" };
        Func<string, string?> environment = n => n == "CROSSMARGIN_DEV_PRIVATE_KEY" ? KeeperKey : Environment.GetEnvironmentVariable(n);
        Task<int> keeperRun = KeeperHost.RunAsync(keeperArgs, overrides, null, errors, environment,
            sp => pipeline = sp.GetService(typeof(KeeperPipeline)) as KeeperPipeline, keeperCts.Token);

        int exit = 1;
        using var producerCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Task? producer = null;
        try
        {
            // the keeper is up when it has processed a block
            for (int i = 0; i < 200 && (pipeline is null || pipeline.Stats.Blocks == 0); i++)
            {
                if (keeperRun.IsCompleted) break;
                await http.MineAsync(cancellationToken: ct).ConfigureAwait(false);
                await Task.Delay(100, ct).ConfigureAwait(false);
            }
            if (pipeline is null || pipeline.Stats.Blocks == 0)
            {
                console.WriteLine("  the keeper did not start: " + errors.ToString().Trim());
                return 1;
            }
            console.WriteLine($"  keeper {keeper} running (journal, WebSocket heads, batched reads)");

            // real blocks from here on: one every --block-ms with whatever is pending
            await http.SetAutomineAsync(false, ct).ConfigureAwait(false);
            producer = Task.Run(async () =>
            {
                while (!producerCts.Token.IsCancellationRequested)
                {
                    await http.MineAsync(cancellationToken: producerCts.Token).ConfigureAwait(false);
                    await Task.Delay(settings.BlockMilliseconds, producerCts.Token).ConfigureAwait(false);
                }
            }, producerCts.Token);

            ulong crashStart = await eth.BlockNumberAsync(ct).ConfigureAwait(false);
            console.MarkupLine("  [red]crash[/]: ETH and BTC -25% over three blocks");
            var initial = DevnetDefaults.Oracles.ToDictionary(o => o.Symbol, o => o.InitialPrice);
            decimal[] factors = [1m - (0.25m / 3), 1m - (0.5m / 3), 0.75m];
            foreach (decimal f in factors)
            {
                await prices.SetPricesAsync(new Dictionary<string, decimal> { ["ETH/USD"] = initial["ETH/USD"] * f, ["BTC/USD"] = initial["BTC/USD"] * f },
                    cancellationToken: ct).ConfigureAwait(false);
            }
            ulong crashEnd = await eth.BlockNumberAsync(ct).ConfigureAwait(false);

            HealthCounts after = default;
            ulong lastBlock = crashEnd;
            await ShowLiveAsync(console, pipeline, async () =>
            {
                lastBlock = await eth.BlockNumberAsync(ct).ConfigureAwait(false);
                after = await CountAsync(eth, engine, addresses, ct).ConfigureAwait(false);
                return (after.BelowMaintenance == 0 && pipeline.InFlight.Count == 0) || lastBlock > crashEnd + (ulong)settings.MaxBlocks;
            }, ct).ConfigureAwait(false);

            await producerCts.CancelAsync().ConfigureAwait(false);
            try { await producer.ConfigureAwait(false); } catch (OperationCanceledException) { }
            producer = null;
            await http.SetAutomineAsync(true, ct).ConfigureAwait(false);

            after = await CountAsync(eth, engine, addresses, ct).ConfigureAwait(false);
            Summarise(console, pipeline, before, after, crashStart, lastBlock);
            exit = after.BelowMaintenance == 0 ? 0 : 1;
            console.MarkupLine(exit == 0
                ? "  [green]all accounts are at or above maintenance (engine healthBatch)[/]"
                : $"  [red]{after.BelowMaintenance} accounts are still below maintenance[/]");
            console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  done in {total.Elapsed.TotalSeconds:0.0} s"));
            return exit;
        }
        finally
        {
            await producerCts.CancelAsync().ConfigureAwait(false);
            if (producer is not null)
            {
                try { await producer.ConfigureAwait(false); } catch (OperationCanceledException) { }
            }
            await keeperCts.CancelAsync().ConfigureAwait(false);
            try { await keeperRun.ConfigureAwait(false); } catch (OperationCanceledException) { }
            SqliteConnection.ClearAllPools();
            try { Directory.Delete(dir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>The live table (interactive terminals) or one line per finished transaction (logs, CI), until <paramref name="done"/>.</summary>
    private static async Task ShowLiveAsync(IAnsiConsole console, KeeperPipeline pipeline, Func<Task<bool>> done, CancellationToken ct)
    {
        if (console.Profile.Capabilities.Interactive)
        {
            await console.Live(new Table()).StartAsync(async live =>
            {
                while (true)
                {
                    bool finished = await done().ConfigureAwait(false);
                    live.UpdateTarget(Render(pipeline.Sends.Snapshot()));
                    live.Refresh();
                    if (finished) break;
                    await Task.Delay(250, ct).ConfigureAwait(false);
                }
            }).ConfigureAwait(false);
            return;
        }
        var printed = new HashSet<string>(StringComparer.Ordinal);
        console.WriteLine("  detected  kind         accounts  latency ms  outcome            gas        reward USD");
        while (true)
        {
            bool finished = await done().ConfigureAwait(false);
            foreach (SentTransaction s in pipeline.Sends.Snapshot())
            {
                if ((s.Outcome is null && !finished) || !printed.Add(s.IntentId)) continue;
                console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {s.DetectedBlock,8}  {s.Kind,-11}  {s.Accounts.Count,8}  {s.Latency.TotalMilliseconds,10:F2}  {Outcome(s),-17}  {s.GasUsed,9}  {Usd(s.ExpectedReward),10}"));
            }
            if (finished) break;
            await Task.Delay(250, ct).ConfigureAwait(false);
        }
    }

    private static Table Render(IReadOnlyList<SentTransaction> sends)
    {
        var table = new Table().Title("Liquidations").AddColumns("detected", "kind", "accounts", "latency ms", "outcome", "gas", "reward USD");
        foreach (SentTransaction s in sends.TakeLast(20))
        {
            table.AddRow(s.DetectedBlock.ToString(CultureInfo.InvariantCulture), s.Kind, s.Accounts.Count.ToString(CultureInfo.InvariantCulture),
                s.Latency.TotalMilliseconds.ToString("F2", CultureInfo.InvariantCulture), Outcome(s),
                s.GasUsed?.ToString(CultureInfo.InvariantCulture) ?? "", Usd(s.ExpectedReward));
        }
        table.Caption($"{sends.Count} transactions, {sends.Count(s => s.Outcome == ExecutionOutcomeKind.Included)} included");
        return table;
    }

    private static string Outcome(SentTransaction s) => s.Outcome switch
    {
        null => "pending",
        ExecutionOutcomeKind.Included => $"included @{s.IncludedBlock}",
        { } k => k.ToString(),
    };

    private static void Summarise(IAnsiConsole console, KeeperPipeline pipeline, HealthCounts before, HealthCounts after, ulong crashStart, ulong lastBlock)
    {
        var sends = pipeline.Sends.Snapshot();
        var included = sends.Where(s => s.Outcome == ExecutionOutcomeKind.Included).ToList();
        int accounts = included.SelectMany(s => s.Accounts).Distinct().Count();
        double[] latency = [.. sends.Select(s => s.Latency.TotalMilliseconds).Order()];
        ulong[] blocks = [.. included.Where(s => s.BlocksToInclusion is not null).Select(s => s.BlocksToInclusion!.Value).Order()];
        ulong gas = included.Aggregate(0UL, (g, s) => g + (s.GasUsed ?? 0));
        UInt256 fees = included.Aggregate(UInt256.Zero, (f, s) => f + (s.FeePaid ?? UInt256.Zero));
        UInt256 rewards = included.Aggregate(UInt256.Zero, (r, s) => r + s.ExpectedReward);
        var stats = pipeline.Stats;
        var table = new Table().Title("Summary").AddColumns("", "");
        table.AddRow("accounts before / after", $"{before} / {after}");
        table.AddRow("blocks watched", $"{crashStart}..{lastBlock}");
        table.AddRow("accounts liquidated", accounts.ToString(CultureInfo.InvariantCulture));
        table.AddRow("transactions sent / included / reverted / cancelled",
            $"{sends.Count} / {included.Count} / {sends.Count(s => s.Outcome == ExecutionOutcomeKind.Reverted)} / {stats.Cancelled}");
        table.AddRow("batchLiquidate / liquidateCollateral", $"{stats.Batches} ({stats.Requests} requests) / {stats.CollateralSales}");
        table.AddRow("blocks from liquidatable to liquidated (median / max)",
            blocks.Length == 0 ? "-" : $"{blocks[blocks.Length / 2]} / {blocks[^1]}");
        table.AddRow("detection-to-send latency p50 / p99 (ms)",
            latency.Length == 0 ? "-" : string.Create(CultureInfo.InvariantCulture, $"{Percentile(latency, 50):F2} / {Percentile(latency, 99):F2}"));
        table.AddRow("gas spent / fees paid (ETH)", string.Create(CultureInfo.InvariantCulture, $"{gas:N0} / {Decimal(fees, 18, 6)}"));
        table.AddRow("rewards earned (USD, as the mirror sized them)", Usd(rewards));
        console.Write(table);
    }

    private readonly record struct HealthCounts(int Healthy, int Restricted, int Liquidatable, int Insolvent)
    {
        public int BelowMaintenance => Liquidatable + Insolvent;

        public override string ToString() =>
            $"{Healthy} healthy, {Restricted} restricted, {Liquidatable} liquidatable, {Insolvent} insolvent";
    }

    /// <summary>Every account's status from the engine's healthBatch at the latest block.</summary>
    private static async Task<HealthCounts> CountAsync(EthClient eth, CrossMarginEngine engine, Address[] accounts, CancellationToken ct)
    {
        ulong block = await eth.BlockNumberAsync(ct).ConfigureAwait(false);
        int healthy = 0, restricted = 0, liquidatable = 0, insolvent = 0;
        foreach (var chunk in accounts.Chunk(250))
        {
            var health = await eth.CallAsync(engine.HealthBatch(chunk), BlockTag.Number(block), cancellationToken: ct).ConfigureAwait(false);
            foreach (var h in health)
            {
                if (h.Equity.IsNegative) insolvent++;
                else if (h.Equity < RiskMath.ToInt256(h.MaintenanceMargin)) liquidatable++;
                else if (h.InitialEquity < RiskMath.ToInt256(h.InitialMargin)) restricted++;
                else healthy++;
            }
        }
        return new HealthCounts(healthy, restricted, liquidatable, insolvent);
    }

    private static double Percentile(double[] sorted, int p) => sorted[Math.Clamp((int)Math.Ceiling(p / 100.0 * sorted.Length) - 1, 0, sorted.Length - 1)];

    private static string Usd(UInt256 wad) => Decimal(wad, 18, 2);

    /// <summary>An integer amount with <paramref name="decimals"/> decimals, shown with <paramref name="shown"/> digits (display only).</summary>
    private static string Decimal(UInt256 amount, int decimals, int shown)
    {
        UInt256 unit = Pow10(decimals);
        UInt256 whole = amount / unit;
        UInt256 frac = amount % unit / Pow10(decimals - shown);
        return string.Create(CultureInfo.InvariantCulture, $"{whole}.{frac.ToString().PadLeft(shown, '0')}");
    }

    private static UInt256 Pow10(int n)
    {
        UInt256 r = UInt256.One;
        for (int i = 0; i < n; i++) r *= new UInt256(10UL);
        return r;
    }
}
