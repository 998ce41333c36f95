using CrossMargin.Devnet.Tests.Protocol;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Keeper.Execution;
using Xunit.Abstractions;

namespace CrossMargin.Devnet.Tests.Keeper;

/// <summary>
/// Steps shared by the keeper's process-level devnet tests: start <c>crossmargin run</c> against the fixture's chain,
/// crash prices in one mined block (automine off), wait for the keeper's journal, and mine until everything settled.
/// </summary>
internal sealed class KeeperScenario(ProtocolDevnet devnet, string directory, ITestOutputHelper output)
{
    /// <summary>The keeper's key: anvil dev account 2 (a well-known development key).</summary>
    public static readonly AnvilDevAccount KeeperAccount = AnvilDevAccounts.All[2];

    public string JournalPath { get; } = Path.Combine(directory, "journal.db");

    public string DeploymentPath { get; } = Path.Combine(directory, "deployment.json");

    public Address Keeper => KeeperAccount.Address;

    /// <summary>Starts the daemon (after writing the deployment file) and waits until its executor has started.</summary>
    public async Task<KeeperProcess> StartKeeperAsync(string name, TimeSpan timeout)
    {
        if (!File.Exists(DeploymentPath)) devnet.Deployment.Save(DeploymentPath);
        string[] args =
        [
            "run", "--deployment", DeploymentPath, "--dev-allow-raw-key", "--no-oracle",
            "--Keeper:JournalPath=" + JournalPath,
            "--Keeper:Detection:DefaultBlockTimeSeconds=1",
            "--Keeper:MinProfitUsd=0.1",
            "--Logging:Console:FormatterName=simple",
            "--Logging:Console:FormatterOptions:SingleLine=true",
        ];
        var env = new Dictionary<string, string> { ["CROSSMARGIN_DEV_PRIVATE_KEY"] = KeeperAccount.PrivateKeyHex };
        var process = KeeperProcess.Start(args, directory, env, output, name);
        try
        {
            await process.WaitForOutputAsync(l => l.Contains("Executor for", StringComparison.Ordinal) && l.Contains(" started ", StringComparison.Ordinal), timeout);
        }
        catch
        {
            process.Dispose();
            throw;
        }
        return process;
    }

    /// <summary>
    /// With automine off: sends the price updates of <paramref name="oracles"/> at <paramref name="factor"/> of their
    /// initial prices, waits until both are in the pool, mines them in one block and returns its number.
    /// </summary>
    public async Task<ulong> CrashAsync(PriceDriver driver, IReadOnlyList<string> oracles, decimal factor, TimeSpan timeout)
    {
        var pusher = devnet.Deployment.Deployer;
        int before = (await KeeperAudit.PoolNoncesAsync(devnet.Rpc, pusher)).Count;
        Task update = driver.SetPricesAsync(oracles.ToDictionary(o => o, o => DevnetDefaults.Oracles.First(x => x.Symbol == o).InitialPrice * factor));
        await PollAsync(async () => update.IsFaulted || (await KeeperAudit.PoolNoncesAsync(devnet.Rpc, pusher)).Count >= before + 2, timeout, "price updates in the pool");
        await devnet.Rpc.MineAsync();
        await update;
        return await devnet.Eth.BlockNumberAsync();
    }

    /// <summary>
    /// Waits until the keeper's start-up approval of the settlement token (for collateral sales; sent once, when the
    /// allowance is missing) is mined, so that the block and nonce bookkeeping of a test starts after it.
    /// </summary>
    public Task WaitForStartupApprovalAsync(TimeSpan timeout) =>
        PollAsync(() => Task.FromResult(File.Exists(JournalPath)
            && KeeperAudit.ReadIntents(JournalPath).Any(i => i.Kind == "approve" && i.State == IntentState.Included)), timeout, "the start-up approval");

    /// <summary>Waits until the journal holds at least one Sent attempt that anvil still has pending in its pool; returns those.</summary>
    public async Task<List<JournalRow>> WaitForPendingAttemptsAsync(TimeSpan timeout)
    {
        List<JournalRow> pending = [];
        await PollAsync(async () =>
        {
            pending = [];
            foreach (var row in KeeperAudit.ReadAttempts(JournalPath).Where(r => r.State == AttemptState.Sent))
            {
                var tx = await KeeperAudit.TransactionAsync(devnet.Rpc, row.Hash);
                if (tx is { Block: null }) pending.Add(row);
            }
            return pending.Count > 0;
        }, timeout, "a sent attempt pending in the pool");
        return pending;
    }

    /// <summary>
    /// Mines a block every <paramref name="interval"/> until, on three checks in a row: no account with positions is
    /// below maintenance, nothing of the keeper is in the pool, and the journal has no open attempt. Returns the last block.
    /// </summary>
    public async Task<ulong> MineUntilSettledAsync(TimeSpan interval, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        int settledChecks = 0;
        string state = "";
        while (DateTime.UtcNow < deadline)
        {
            await devnet.Rpc.MineAsync();
            await Task.Delay(interval);
            ulong latest = await devnet.Eth.BlockNumberAsync();
            var below = await KeeperAudit.BelowMaintenanceAsync(devnet.Eth, devnet.Engine, devnet.Deployment.Accounts, latest);
            var pool = await KeeperAudit.PoolNoncesAsync(devnet.Rpc, Keeper);
            int open = KeeperAudit.ReadAttempts(JournalPath).Count(r => r.State is AttemptState.Signed or AttemptState.Sent);
            state = $"block {latest}: {below.Count} accounts below maintenance, {pool.Count} keeper transactions in the pool, {open} open attempts";
            settledChecks = below.Count == 0 && pool.Count == 0 && open == 0 ? settledChecks + 1 : 0;
            if (settledChecks >= 3)
            {
                output.WriteLine("settled at " + state);
                return latest;
            }
        }
        throw new TimeoutException($"not settled within {timeout}; last state: {state}");
    }

    internal static async Task PollAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out after {timeout} waiting for {what}");
            await Task.Delay(50);
        }
    }
}
