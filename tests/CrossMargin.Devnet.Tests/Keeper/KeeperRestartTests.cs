using System.Text.RegularExpressions;
using CrossMargin.Devnet.Tests.Protocol;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Keeper.Execution;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace CrossMargin.Devnet.Tests.Keeper;

public sealed class KeeperRestartDevnet : ProtocolDevnet
{
    public override int SeededAccounts => 200;
}

/// <summary>
/// kill -9 of the keeper daemon while its liquidations sit in the pool, then a restart on the same journal: the chain
/// and the journal must end up consistent, with every account fixed once, no nonce gap and no reverted transaction.
/// </summary>
public sealed partial class KeeperRestartTests(KeeperRestartDevnet devnet, ITestOutputHelper output) : IClassFixture<KeeperRestartDevnet>
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    /// <param name="mineWhileDown">
    /// true: the pool's transactions are mined while the keeper is down (the restart finds receipts); false: the keeper
    /// restarts while they are still pending (it must re-attach them and not liquidate their accounts again).
    /// </param>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public Task Kill_9_with_liquidations_in_the_pool_then_restart_settles_the_journal_and_liquidates_each_account_once(bool mineWhileDown) =>
        devnet.IsolateAsync(() => KillAndRestartAsync(mineWhileDown));

    private async Task KillAndRestartAsync(bool mineWhileDown)
    {
        var d = devnet;
        string dir = Directory.CreateTempSubdirectory("cm-keeper-restart-").FullName;
        var scenario = new KeeperScenario(d, dir, output);
        KeeperProcess? process = null;
        try
        {
            var driver = await d.DriverAtInitialPricesAsync(d.Sender(0));
            ulong startBlock;
            ulong firstNonce;
            Assert.Empty(await KeeperAudit.BelowMaintenanceAsync(d.Eth, d.Engine, d.Deployment.Accounts, await d.Eth.BlockNumberAsync()));

            process = await scenario.StartKeeperAsync("keeper#1", StartTimeout);
            await scenario.WaitForStartupApprovalAsync(StartTimeout);
            startBlock = await d.Eth.BlockNumberAsync();
            firstNonce = await d.Eth.GetTransactionCountAsync(scenario.Keeper);
            await d.Rpc.SetAutomineAsync(false);
            ulong crashBlock = await scenario.CrashAsync(driver, KeeperDevnetTests.CrashOracles, 0.75m, TimeSpan.FromSeconds(30));
            int liquidatable = (await KeeperAudit.BelowMaintenanceAsync(d.Eth, d.Engine, d.Deployment.Accounts, crashBlock)).Count;
            output.WriteLine($"crash in block {crashBlock}: {liquidatable} accounts with positions below maintenance");
            Assert.True(liquidatable > 0);

            // the keeper's liquidations wait in the pool (nothing is mined): kill -9 it there
            var pending = await scenario.WaitForPendingAttemptsAsync(TimeSpan.FromSeconds(60));
            process.Kill();
            var atKill = KeeperAudit.ReadAttempts(scenario.JournalPath);
            output.WriteLine($"killed with {pending.Count} sent attempts pending; journal: {string.Join(", ", atKill.GroupBy(r => r.State).Select(g => $"{g.Key}={g.Count()}"))}");
            foreach (var row in pending) Assert.Null((await KeeperAudit.TransactionAsync(d.Rpc, row.Hash))?.Block);
            Assert.Equal(startBlock + 1, crashBlock); // nothing of the keeper was mined before the kill

            if (mineWhileDown)
            {
                // the pool outlives the keeper: its transactions are mined while it is down
                await d.Rpc.MineAsync(2);
                foreach (var row in pending) Assert.NotNull((await KeeperAudit.TransactionAsync(d.Rpc, row.Hash))?.Block);
            }

            process = await scenario.StartKeeperAsync("keeper#2", StartTimeout);
            string reconciled = await process.WaitForOutputAsync(l => l.Contains("Reconciled journal of", StringComparison.Ordinal), StartTimeout);
            var m = ReconciledLine().Match(reconciled);
            Assert.True(m.Success, reconciled);
            int settledAtStart = int.Parse(m.Groups[mineWhileDown ? "mined" : "pending"].Value);
            Assert.True(settledAtStart >= pending.Select(p => p.Nonce).Distinct().Count(), reconciled);

            ulong lastBlock = await scenario.MineUntilSettledAsync(TimeSpan.FromMilliseconds(400), TimeSpan.FromSeconds(90));
            process.Kill();
            await d.Rpc.MineAsync();
            lastBlock++;

            // chain: every transaction of the keeper succeeded, nonces contiguous, nothing left in the pool
            var ours = await KeeperAudit.MinedTransactionsAsync(d.Rpc, d.Eth, scenario.Keeper, d.Deployment.Engine, startBlock + 1, lastBlock);
            foreach (var tx in ours) output.WriteLine("keeper tx " + tx);
            Assert.NotEmpty(ours);
            Assert.All(ours, tx => Assert.True(tx.Receipt.Succeeded, $"reverted: {tx}"));
            Assert.Empty(await KeeperAudit.PoolNoncesAsync(d.Rpc, scenario.Keeper));
            Assert.Empty(await KeeperAudit.BelowMaintenanceAsync(d.Eth, d.Engine, d.Deployment.Accounts, lastBlock));
            var skipped = ours.SelectMany(t => t.Skipped).ToList();
            output.WriteLine($"{ours.Count} keeper transactions, {ours.Sum(t => t.Liquidated.Count)} liquidations, {skipped.Count} skipped requests " +
                $"({string.Join(", ", skipped.GroupBy(s => s.Reason).Select(g => $"reason {g.Key}: {g.Count()}"))})");
            Assert.Empty(KeeperAudit.Duplicates(ours));

            // the attempts pending at the kill were mined before the restart and the restarted keeper settled them
            var minedHashes = ours.Select(t => t.Hash).ToHashSet();
            Assert.All(pending, p => Assert.Contains(p.Hash, minedHashes));

            // journal versus chain
            SqliteConnection.ClearAllPools();
            using var journal = TxJournal.Open(scenario.JournalPath);
            Assert.All(pending, p => Assert.Equal(AttemptState.Included, journal.GetAttempt(p.Hash)!.State));
            var failures = await KeeperAudit.JournalVersusChainAsync(d.Eth, journal, scenario.Keeper, firstNonce, ours);
            Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
        }
        finally
        {
            process?.Dispose();
            try { await d.Rpc.SetAutomineAsync(true); } catch (RpcClientException) { }
            SqliteConnection.ClearAllPools();
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    [GeneratedRegex(@"Reconciled journal of \S+: (?<mined>\d+) mined, (?<dropped>\d+) dropped, (?<pending>\d+) pending")]
    private static partial Regex ReconciledLine();
}
