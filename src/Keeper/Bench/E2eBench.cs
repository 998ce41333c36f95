using System.Collections.Concurrent;
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
using CrossMargin.Keeper.Detection;
using CrossMargin.Keeper.Execution;
using CrossMargin.Keeper.Hosting;
using CrossMargin.Keeper.Indexing;
using CrossMargin.Keeper.Planning;
using CrossMargin.Keeper.Rpc;
using CrossMargin.Risk;

namespace CrossMargin.Keeper.Bench;

/// <summary>What one end-to-end run measured.</summary>
/// <param name="ColdSync">Indexer cold sync from the deployment block to the head (logs → account book).</param>
/// <param name="DetectionToSend">Per transaction: from the block's data in hand to the node accepting it (ms, sorted).</param>
/// <param name="FirstSend">Per block that sent: the first transaction's detection-to-send (ms, sorted).</param>
/// <param name="SendToInclusion">Per transaction: from sent to its receipt being processed (ms, sorted).</param>
/// <param name="RoundTripsPerBlock">JSON-RPC round trips (a batch counts once) per keeper block, over the crash (sorted).</param>
/// <param name="PeakRssBytes">Peak resident set of this process (VmHWM).</param>
public sealed record E2eResult(int Accounts, TimeSpan Seeding, TimeSpan ColdSync, int BelowMaintenance, int Transactions, int Reverted,
    double[] DetectionToSend, double[] FirstSend, double[] SendToInclusion, double[] RoundTripsPerBlock, ulong BlocksToClear, ulong GasBound, long PeakRssBytes)
{
    /// <summary>Resident set after the run and a full collection, with the keeper's state (book, risk book, journal) alive.</summary>
    public long RssAfterRunBytes { get; init; }

    /// <summary>Managed heap after the run and a full collection.</summary>
    public long ManagedHeapBytes { get; init; }
}

/// <summary>
/// <c>crossmargin bench e2e</c>: per account count, a fresh anvil (30M-gas blocks once seeded), the protocol deployed and
/// seeded, the keeper's indexer cold-synced, then the keeper pipeline (WebSocket heads, batched reads, the same
/// components as <c>run</c>) through a one-block −28% crash of ETH and BTC, one block every <c>blockMs</c>.
/// </summary>
public static class E2eBench
{
    public static async Task<E2eResult> RunAsync(int accounts, int blockMs, TextWriter log, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(log);
        await using var anvil = await AnvilProcess.StartAsync(new AnvilOptions { GasLimit = 1_000_000_000 }, ct).ConfigureAwait(false);
        var deployment = await DevnetDeployer.DeployAsync(anvil.RpcUrl, anvil.ChainId, wsUrl: anvil.WsUrl, cancellationToken: ct).ConfigureAwait(false);
        var (addresses, seeding) = await BenchDevnet.SeedAsync(deployment, accounts, log, ct).ConfigureAwait(false);

        using var http = new JsonRpcClient(anvil.RpcUrl, timeout: TimeSpan.FromSeconds(120));
        var counting = new CountingRpcClient(http);
        var eth = new EthClient(counting);
        var plain = new EthClient(http);
        using var deployerSigner = new LocalTxSigner(PrivateKey.FromHex(AnvilDevAccounts.Deployer.PrivateKeyHex), ownsKey: true);
        var sender = new TransactionSender(plain, deployerSigner, anvil.ChainId);
        using var signer = new LocalTxSigner(PrivateKey.FromHex(AnvilDevAccounts.AnvilDevPrivateKey2), ownsKey: true);
        var prices = await BenchDevnet.PrepareAsync(deployment, http, sender, signer.Address, ct).ConfigureAwait(false);

        string dir = Directory.CreateTempSubdirectory("crossmargin-bench-").FullName;
        var stack = KeeperStack.Create(eth, new KeeperStackOptions
        {
            Engine = deployment.Engine, OracleHub = deployment.OracleHub, DeploymentBlock = deployment.DeployBlock, WebSocketUrl = anvil.WsUrl,
            Signer = signer, JournalPath = Path.Combine(dir, "journal.db"),
            Detection = new DetectionOptions { DefaultBlockTimeSeconds = 1 },
            Planner = new PlannerOptions { MinProfit = RiskMath.Wad / new UInt256(10UL), BlockGasBudget = 28_000_000 },
        });
        var sync = Stopwatch.StartNew();
        await stack.SyncAsync(await plain.BlockNumberAsync(ct).ConfigureAwait(false), ct).ConfigureAwait(false);
        sync.Stop();
        await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"  cold sync: {stack.Indexer.Book.AccountCount} accounts in {sync.Elapsed.TotalMilliseconds:F0} ms")).ConfigureAwait(false);
        await stack.StartAsync(ct).ConfigureAwait(false);
        var pipeline = stack.Pipeline;
        var executor = stack.Executor;
        Task? producer = null;
        using var producerCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        try
        {
            for (int i = 0; i < 3; i++) await http.MineAsync(cancellationToken: ct).ConfigureAwait(false);
            while (pipeline.Stats.Blocks < 2) await Task.Delay(50, ct).ConfigureAwait(false);
            await http.SetAutomineAsync(false, ct).ConfigureAwait(false);
            producer = Task.Run(async () =>
            {
                while (!producerCts.Token.IsCancellationRequested)
                {
                    await http.MineAsync(cancellationToken: producerCts.Token).ConfigureAwait(false);
                    await Task.Delay(blockMs, producerCts.Token).ConfigureAwait(false);
                }
            }, producerCts.Token);

            var roundTrips = new ConcurrentQueue<double>();
            long lastBlocks = pipeline.Stats.Blocks, lastCalls = counting.Count;
            counting.TakeRoundTrips();
            counting.RecordRoundTrips = true;
            var crash = new Dictionary<string, decimal>();
            foreach (string o in (string[])["ETH/USD", "BTC/USD"]) crash[o] = DevnetDefaults.Oracles.First(x => x.Symbol == o).InitialPrice * 0.72m;
            await prices.SetPricesAsync(crash, cancellationToken: ct).ConfigureAwait(false);
            ulong crashBlock = await plain.BlockNumberAsync(ct).ConfigureAwait(false);
            int below = await BelowMaintenanceAsync(plain, deployment.Engine, addresses, crashBlock, ct).ConfigureAwait(false);
            await log.WriteLineAsync($"  crash at block {crashBlock}: {below} accounts below maintenance").ConfigureAwait(false);

            ulong clearedAt = 0;
            TxExecutor.SubmitTimings? lastTimings = null;
            for (int i = 0; i < 240 && clearedAt == 0; i++)
            {
                await Task.Delay(blockMs / 2, ct).ConfigureAwait(false);
                if (executor.LastSubmitTimings is { } t && t != lastTimings)
                {
                    lastTimings = t;
                    await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                        $"    submit of {t.Items} ({t.Sent} sent): simulate {t.SimulateMs:F1} ms, sign {t.SignMs:F1} ms, journal {t.JournalMs:F1} ms, send {t.SendMs:F1} ms")).ConfigureAwait(false);
                }
                long blocks = pipeline.Stats.Blocks, calls = counting.Count;
                if (blocks > lastBlocks)
                {
                    double perBlock = (double)(calls - lastCalls) / (blocks - lastBlocks);
                    for (long b = lastBlocks; b < blocks; b++) roundTrips.Enqueue(perBlock);
                    await LogRoundTripsAsync(log, counting, blocks - lastBlocks).ConfigureAwait(false);
                    lastBlocks = blocks;
                    lastCalls = calls;
                }
                ulong head = await plain.BlockNumberAsync(ct).ConfigureAwait(false);
                if (await BelowMaintenanceAsync(plain, deployment.Engine, addresses, head, ct).ConfigureAwait(false) == 0) clearedAt = head;
            }
            for (int i = 0; i < 40 && pipeline.InFlight.Count > 0; i++) await Task.Delay(blockMs / 2, ct).ConfigureAwait(false);
            // a few quiet blocks after the crash (listed, not counted in the table)
            await LogRoundTripsAsync(log, counting, pipeline.Stats.Blocks - lastBlocks).ConfigureAwait(false);
            lastBlocks = pipeline.Stats.Blocks;
            for (int i = 0; i < 3; i++)
            {
                while (pipeline.Stats.Blocks == lastBlocks) await Task.Delay(blockMs / 10, ct).ConfigureAwait(false);
                await Task.Delay(blockMs / 2, ct).ConfigureAwait(false);
                await LogRoundTripsAsync(log, counting, pipeline.Stats.Blocks - lastBlocks, "quiet ").ConfigureAwait(false);
                lastBlocks = pipeline.Stats.Blocks;
            }
            counting.RecordRoundTrips = false;

            var sends = pipeline.Sends.Snapshot();
            ulong gas = sends.Where(s => s.Outcome == ExecutionOutcomeKind.Included).Aggregate(0UL, (g, s) => g + (s.GasUsed ?? 0));
            double[] latency = [.. sends.Select(s => s.Latency.TotalMilliseconds).Order()];
            double[] first = [.. sends.GroupBy(s => s.DetectedBlock).Select(g => g.Min(s => s.Latency.TotalMilliseconds)).Order()];
            double[] inclusion = [.. sends.Where(s => s.IncludedAt is not null).Select(s => (s.IncludedAt!.Value - s.SentAt).TotalMilliseconds).Order()];
            return new E2eResult(accounts, seeding, sync.Elapsed, below, sends.Count, sends.Count(s => s.Outcome == ExecutionOutcomeKind.Reverted),
                latency, first, inclusion, [.. roundTrips.Order()], clearedAt == 0 ? ulong.MaxValue : clearedAt - crashBlock,
                (gas + BenchDevnet.BlockGasLimit - 1) / BenchDevnet.BlockGasLimit + 1, PeakRss())
            {
                ManagedHeapBytes = HeapAfterCollection(),
                RssAfterRunBytes = Rss("VmRSS:"),
            };
        }
        finally
        {
            await producerCts.CancelAsync().ConfigureAwait(false);
            if (producer is not null)
            {
                try { await producer.ConfigureAwait(false); } catch (OperationCanceledException) { }
            }
            await stack.DisposeAsync().ConfigureAwait(false);
            try { Directory.Delete(dir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>Lists the round trips since the last listing (which calls travelled together) under the keeper blocks they served.</summary>
    private static async Task LogRoundTripsAsync(TextWriter log, CountingRpcClient counting, long blocks, string kind = "")
    {
        IReadOnlyList<string[]> trips = counting.TakeRoundTrips();
        if (blocks <= 0 && trips.Count == 0) return;
        await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"    {kind}{blocks} block(s), {trips.Count} round trips: {string.Join(" ", trips.Select(CountingRpcClient.Describe))}")).ConfigureAwait(false);
    }

    private static long HeapAfterCollection()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(false);
    }

    /// <summary>Peak resident set size of this process (Linux VmHWM; the working-set peak elsewhere).</summary>
    public static long PeakRss() => Rss("VmHWM:");

    private static long Rss(string field)
    {
        try
        {
            return BenchDevnet.ProcStatus(field);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            using var p = Process.GetCurrentProcess();
            return p.PeakWorkingSet64;
        }
    }

    private static async Task<int> BelowMaintenanceAsync(EthClient eth, Address engine, List<Address> accounts, ulong block, CancellationToken ct)
    {
        var e = new CrossMarginEngine(engine);
        int below = 0;
        foreach (var part in accounts.Chunk(500))
        {
            var health = await eth.CallAsync(e.HealthBatch(part), BlockTag.Number(block), cancellationToken: ct).ConfigureAwait(false);
            foreach (var h in health) if (h.Equity < RiskMath.ToInt256(h.MaintenanceMargin)) below++;
        }
        return below;
    }
}
