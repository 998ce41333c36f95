using CrossMargin.Contracts;
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
using Xunit.Abstractions;

namespace CrossMargin.Devnet.Tests.Keeper;

public sealed class Keeper1000Devnet : ProtocolDevnet
{
    public override int SeededAccounts => 1000;
}

/// <summary>
/// The keeper issue's crash test: 1,000 seeded accounts, one price move that makes at least 200 of them liquidatable;
/// every one is liquidated and none is left below maintenance after at most ⌈total liquidation gas / block gas limit⌉ + 1
/// blocks from the crash block, with no reverted transaction. Blocks have a realistic 30M gas limit here.
/// </summary>
public sealed class KeeperScaleTests(Keeper1000Devnet devnet, ITestOutputHelper output) : IClassFixture<Keeper1000Devnet>
{
    private const ulong BlockGasLimit = 30_000_000;

    [Fact]
    public async Task Crash_of_1000_accounts_is_cleared_within_the_gas_bound_without_reverts()
    {
        var d = devnet;
        string dir = Directory.CreateTempSubdirectory("cm-keeper-scale-").FullName;
        using var http = new JsonRpcClient(d.Anvil.RpcUrl, timeout: TimeSpan.FromSeconds(60));
        var counting = new CountingRpcClient(http);
        var eth = new EthClient(counting);
        using var signer = new LocalTxSigner(PrivateKey.FromHex(AnvilDevAccounts.AnvilDevPrivateKey2), ownsKey: true);
        var usdc = d.Deployment.Assets[0];
        await d.Sender(0).SendAndWaitAsync(new MockERC20(usdc.Token).Mint(signer.Address, new UInt256(100_000_000UL * 1_000_000UL)));
        await d.Rpc.RequestAsync(new RpcRequest<bool>("evm_setBlockGasLimit", w => w.WriteStringValue(Hex.EncodeQuantity(BlockGasLimit)), _ => true));

        // the keeper may fill most of a block during a crash (the block gas budget is an operator setting)
        await using var stack = KeeperStack.Create(eth, new KeeperStackOptions
        {
            Engine = d.Deployment.Engine, OracleHub = d.Deployment.OracleHub, DeploymentBlock = d.Deployment.DeployBlock, WebSocketUrl = d.Anvil.WsUrl,
            PollInterval = TimeSpan.FromMilliseconds(50), RetryDelay = TimeSpan.FromMilliseconds(50),
            Signer = signer, JournalPath = Path.Combine(dir, "journal.db"),
            Detection = new DetectionOptions { DefaultBlockTimeSeconds = 1 },
            Planner = new PlannerOptions { MinProfit = RiskMath.Wad / new UInt256(10UL), BlockGasBudget = 28_000_000 },
            Execution = new ExecutionOptions { ReplaceAfterBlocks = 3 },
        });
        await stack.SyncAsync(await eth.BlockNumberAsync());
        await stack.StartAsync();
        var pipeline = stack.Pipeline;

        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        using var producerCts = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
        Task? producer = null;
        try
        {
            var driver = await d.DriverAtInitialPricesAsync(d.Sender(0));
            for (int i = 0; i < 3; i++) await d.Rpc.MineAsync();
            while (pipeline.Stats.Blocks < 2) await Task.Delay(50, cts.Token);
            long callsBefore = counting.Count, blocksBefore = pipeline.Stats.Blocks;

            // one block a second with whatever is pending; the crash lands in one block
            await d.Rpc.SetAutomineAsync(false);
            producer = Task.Run(async () =>
            {
                while (!producerCts.Token.IsCancellationRequested)
                {
                    await d.Rpc.MineAsync();
                    await Task.Delay(1000, producerCts.Token);
                }
            });
            var crash = KeeperDevnetTests.CrashOracles.ToDictionary(o => o, o => DevnetDefaults.Oracles.First(x => x.Symbol == o).InitialPrice * 0.72m);
            await driver.SetPricesAsync(crash);
            ulong crashBlock = await d.Eth.BlockNumberAsync();
            int liquidatable = await BelowMaintenanceAsync(d, crashBlock);
            output.WriteLine($"crash block {crashBlock}: {liquidatable} of {d.Deployment.Accounts.Count} accounts below maintenance");
            Assert.True(liquidatable >= 200, $"the move made only {liquidatable} accounts liquidatable");

            ulong clearedAt = 0;
            for (int i = 0; i < 120 && clearedAt == 0; i++)
            {
                await Task.Delay(250, cts.Token);
                ulong head = await d.Eth.BlockNumberAsync();
                if (await BelowMaintenanceAsync(d, head) == 0) clearedAt = head;
            }
            while (pipeline.InFlight.Count > 0 && !cts.IsCancellationRequested) await Task.Delay(100, cts.Token);
            await producerCts.CancelAsync();
            try { await producer; } catch (OperationCanceledException) { }
            producer = null;
            await d.Rpc.SetAutomineAsync(true);

            var sends = pipeline.Sends.Snapshot();
            ulong gas = sends.Where(s => s.Outcome == ExecutionOutcomeKind.Included).Aggregate(0UL, (g, s) => g + (s.GasUsed ?? 0));
            ulong bound = (gas + BlockGasLimit - 1) / BlockGasLimit + 1;
            var stats = pipeline.Stats;
            double[] lat = [.. pipeline.Latencies.Select(t => t.TotalMilliseconds).Order()];
            long calls = counting.Count - callsBefore, blocks = stats.Blocks - blocksBefore;
            output.WriteLine($"cleared at block {clearedAt} ({clearedAt - crashBlock} blocks after the crash); bound ⌈{gas:N0} / {BlockGasLimit:N0}⌉ + 1 = {bound}");
            output.WriteLine($"transactions {sends.Count}: batches {stats.Batches} ({stats.Requests} requests), collateral sales {stats.CollateralSales}, included {stats.Included}, reverted {stats.Reverted}, cancelled {stats.Cancelled}, failures {stats.Failures}");
            if (lat.Length > 0) output.WriteLine($"detection→send ms: p50 {lat[lat.Length / 2]:F2}, p99 {lat[Math.Min(lat.Length - 1, (int)Math.Ceiling(lat.Length * 0.99) - 1)]:F2}, n {lat.Length}");
            output.WriteLine($"RPC round trips: {calls} over {blocks} keeper blocks = {(double)calls / Math.Max(1, blocks):F2} per block");
            foreach (var (method, n) in counting.ByMethod.OrderByDescending(kv => kv.Value)) output.WriteLine($"  {method}: {n}");
            foreach (var g in sends.GroupBy(s => s.DetectedBlock).OrderBy(g => g.Key))
            {
                output.WriteLine($"  detected at {g.Key}: {g.Count(s => s.Kind == "liquidation")} batches ({g.Where(s => s.Kind == "liquidation").Sum(s => s.Requests)} requests, {g.Where(s => s.Kind == "liquidation").Sum(s => s.Accounts.Count)} accounts), "
                    + $"{g.Count(s => s.Kind == "collateral")} collateral sales; included at {string.Join(",", g.Select(s => s.IncludedBlock).Distinct())}; gas {g.Sum(s => (decimal)(s.GasUsed ?? 0)):N0}");
            }

            Assert.NotEqual(0UL, clearedAt);
            Assert.True(clearedAt - crashBlock <= bound, $"cleared {clearedAt - crashBlock} blocks after the crash; the bound is {bound}");
            Assert.Equal(0, stats.Reverted);
            Assert.DoesNotContain(sends, s => s.Outcome == ExecutionOutcomeKind.Reverted);
        }
        finally
        {
            await producerCts.CancelAsync();
            if (producer is not null)
            {
                try { await producer; } catch (OperationCanceledException) { }
            }
            await stack.DisposeAsync();
            await d.Rpc.SetAutomineAsync(true);
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    /// <summary>Accounts with equity below maintenance (positions or not) at <paramref name="block"/>, from healthBatch.</summary>
    private static async Task<int> BelowMaintenanceAsync(ProtocolDevnet d, ulong block)
    {
        int below = 0;
        var accounts = d.Deployment.Accounts;
        for (int from = 0; from < accounts.Count; from += 250)
        {
            Address[] part = [.. accounts.Skip(from).Take(250)];
            var health = await d.Eth.CallAsync(d.Engine.HealthBatch(part), BlockTag.Number(block));
            foreach (var h in health)
            {
                if (h.Equity < RiskMath.ToInt256(h.MaintenanceMargin)) below++;
            }
        }
        return below;
    }
}
