using System.Globalization;
using System.Text.RegularExpressions;
using CrossMargin.Contracts;
using CrossMargin.Devnet.Tests.Protocol;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Contracts;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Ethereum.Signing;
using CrossMargin.Ethereum.Transactions;
using CrossMargin.Keeper.Execution;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace CrossMargin.Devnet.Tests.Keeper;

public sealed class KeeperCompetitionDevnet : ProtocolDevnet
{
    public override int SeededAccounts => 200;
}

/// <summary>
/// Another liquidator (anvil dev account 1, batchLiquidate through the bindings) takes liquidations the keeper daemon
/// has in the pool. The keeper must cancel a transaction whose opportunity is gone (0-value self-transfer with the same
/// nonce) and never get a transaction mined for an opportunity that was already gone a block earlier; requests the
/// competitor took from a batch that still has work are skipped by batchLiquidate.
/// </summary>
public sealed partial class KeeperCompetitionTests(KeeperCompetitionDevnet devnet, ITestOutputHelper output) : IClassFixture<KeeperCompetitionDevnet>
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly UInt256 CompetitorTip = 100_000_000_000UL; // 100 gwei

    [Fact]
    public Task Competitor_mined_a_block_earlier_makes_the_keeper_cancel_or_skip_and_never_pay_for_a_gone_opportunity() =>
        devnet.IsolateAsync(() => CompeteAsync(sameBlock: false));

    [Fact]
    public Task Competitor_ahead_in_the_same_block_leaves_the_keeper_skipped_requests_and_no_revert() =>
        devnet.IsolateAsync(() => CompeteAsync(sameBlock: true));

    /// <param name="sameBlock">
    /// false: a base fee spike keeps the keeper's batches out of the competitor's block, so the keeper sees the
    /// opportunity gone while its transactions are still pending; true: the competitor's higher tip puts it first in the
    /// block that also mines the keeper's batches.
    /// </param>
    private async Task CompeteAsync(bool sameBlock)
    {
        var d = devnet;
        string dir = Directory.CreateTempSubdirectory("cm-keeper-competition-").FullName;
        var scenario = new KeeperScenario(d, dir, output);
        KeeperProcess? process = null;
        try
        {
            var driver = await d.DriverAtInitialPricesAsync(d.Sender(0));
            ulong startBlock;
            ulong firstNonce;
            UInt256 baseFee = (await d.Eth.GetBlockByNumberAsync(BlockTag.Latest))!.BaseFeePerGas ?? UInt256.Zero;

            process = await scenario.StartKeeperAsync("keeper", StartTimeout);
            await scenario.WaitForStartupApprovalAsync(StartTimeout);
            startBlock = await d.Eth.BlockNumberAsync();
            firstNonce = await d.Eth.GetTransactionCountAsync(scenario.Keeper);
            await d.Rpc.SetAutomineAsync(false);
            ulong crashBlock = await scenario.CrashAsync(driver, KeeperDevnetTests.CrashOracles, 0.75m, TimeSpan.FromSeconds(30));
            output.WriteLine($"crash in block {crashBlock}");

            // the keeper plans the crash and sends every batch: they wait in the pool. (Nothing was liquidatable before
            // the crash; the block in the line is the notification's, which may be older than the state it read.)
            Assert.Empty(await KeeperAudit.BelowMaintenanceAsync(d.Eth, d.Engine, d.Deployment.Accounts, startBlock));
            string planned = await process.WaitForOutputAsync(l => PlannedLine().Match(l) is { Success: true } m
                && int.Parse(m.Groups["batches"].Value, CultureInfo.InvariantCulture) > 0, TimeSpan.FromSeconds(60));
            int batches = int.Parse(PlannedLine().Match(planned).Groups["batches"].Value, CultureInfo.InvariantCulture);
            Assert.True(batches >= 2, planned);
            List<JournalIntentRow> intents = [];
            await KeeperScenario.PollAsync(() =>
            {
                intents = [.. KeeperAudit.ReadIntents(scenario.JournalPath).Where(i => i.Kind == "liquidation")];
                return Task.FromResult(intents.Count >= batches && intents.All(i => i.State != IntentState.Pending));
            }, TimeSpan.FromSeconds(30), "the keeper's batches");
            Assert.All(intents, i => Assert.Equal(IntentState.Sent, i.State));
            // the keeper's own transactions for these batches (an approval for collateral sales may also be in the journal)
            var sent = KeeperAudit.ReadAttempts(scenario.JournalPath).Where(a => intents.Any(i => i.Id == a.IntentId)).ToList();
            Assert.All(sent, a => Assert.Equal(AttemptState.Sent, a.State));

            // the competitor pays a tip the keeper does not. A block earlier: it takes every account of the first batch
            // and a few of the second. Same block: a few of each batch.
            var first = intents[0];
            var second = intents[1];
            LiquidationTarget[] targets = sameBlock ? [.. first.Targets.Take(3), .. second.Targets.Take(3)] : [.. first.Targets, .. second.Targets.Take(3)];
            // each request three times: whatever one liquidation leaves below maintenance, the next one takes
            CrossMarginEngine.LiquidationRequest[] requests =
                [.. Enumerable.Repeat(targets, 3).SelectMany(t => t).Select(t => new CrossMarginEngine.LiquidationRequest(t.Account, t.MarketId, UInt256.Zero))];
            var competitor = new TransactionSender(d.Eth, new LocalTxSigner(PrivateKey.FromHex(AnvilDevAccounts.All[1].PrivateKeyHex), ownsKey: true),
                d.Anvil.ChainId, new TransactionSenderOptions { PriorityFee = CompetitorTip });
            // gas estimated against latest: anvil's default (pending) would run it after the keeper's pooled batches
            var rivalCall = d.Engine.BatchLiquidate(requests);
            ulong rivalGas = await d.Eth.EstimateGasAsync(rivalCall.ToCallRequest(competitor.Address), BlockTag.Latest) * 3 / 2;
            var rivalTx = await competitor.SignAsync(rivalCall, rivalGas);
            Hash32 rival = await competitor.BroadcastAsync(rivalTx);
            if (!sameBlock) await SetNextBaseFeeAsync(d.Rpc, sent.Max(a => a.MaxFeePerGas) + UInt256.One);
            await d.Rpc.MineAsync();
            ulong rivalBlock = await d.Eth.BlockNumberAsync();
            var rivalReceipt = await d.Eth.GetTransactionReceiptAsync(rival);
            Assert.NotNull(rivalReceipt);
            Assert.True(rivalReceipt.Succeeded);
            Assert.Equal(rivalBlock, rivalReceipt.BlockNumber);
            var gone = new HashSet<Address>(targets.Select(t => t.Account));
            int rivalLiquidations = rivalReceipt.Logs.Count(l => CrossMarginEngine.LiquidatedEvent.TryDecode(l.Topics, l.Data, out _));
            output.WriteLine($"competitor {rival} in block {rivalBlock}#{rivalReceipt.TransactionIndex}: {rivalLiquidations} liquidations of {gone.Count} accounts");
            Assert.Empty(await KeeperAudit.BelowMaintenanceAsync(d.Eth, d.Engine, [.. gone], rivalBlock));
            var goneHealth = await d.Eth.CallAsync(d.Engine.HealthBatch([.. gone]), BlockTag.Number(rivalBlock));
            output.WriteLine($"the competitor's accounts at block {rivalBlock}: {goneHealth.Count(h => h.MaintenanceMargin.IsZero && h.Equity.IsNegative)} " +
                "without positions and with negative equity (no batchLiquidate request of theirs can do anything), " +
                $"{goneHealth.Count(h => !h.Equity.IsNegative)} solvent");
            foreach (var a in sent)
            {
                var receipt = await d.Eth.GetTransactionReceiptAsync(a.Hash);
                if (sameBlock)
                {
                    Assert.NotNull(receipt); // mined right after the competitor: the requests it took are skipped
                    Assert.Equal(rivalBlock, receipt.BlockNumber);
                    Assert.True(receipt.TransactionIndex > rivalReceipt.TransactionIndex);
                }
                else
                {
                    Assert.Null(receipt);
                }
            }

            if (!sameBlock)
            {
                // the keeper sees that block and cancels the batch whose opportunity is gone, before anything of it is mined
                await KeeperScenario.PollAsync(() => Task.FromResult(KeeperAudit.ReadAttempts(scenario.JournalPath)
                    .Any(a => a.IntentId == first.Id && a.Kind == AttemptKind.Cancel && a.State == AttemptState.Sent)), TimeSpan.FromSeconds(30), "the keeper's cancellation");
                await SetNextBaseFeeAsync(d.Rpc, baseFee);
            }
            ulong lastBlock = await scenario.MineUntilSettledAsync(TimeSpan.FromMilliseconds(400), TimeSpan.FromSeconds(90));
            process.Kill();
            await d.Rpc.MineAsync();
            lastBlock++;

            var ours = await KeeperAudit.MinedTransactionsAsync(d.Rpc, d.Eth, scenario.Keeper, d.Deployment.Engine, startBlock + 1, lastBlock);
            foreach (var tx in ours) output.WriteLine("keeper tx " + tx);
            Assert.All(ours, tx => Assert.True(tx.Receipt.Succeeded, $"reverted: {tx}"));
            Assert.Empty(await KeeperAudit.PoolNoncesAsync(d.Rpc, scenario.Keeper));
            Assert.Empty(await KeeperAudit.BelowMaintenanceAsync(d.Eth, d.Engine, d.Deployment.Accounts, lastBlock));
            Assert.Empty(KeeperAudit.Duplicates(ours));

            SqliteConnection.ClearAllPools();
            using var journal = TxJournal.Open(scenario.JournalPath);
            var failures = await KeeperAudit.JournalVersusChainAsync(d.Eth, journal, scenario.Keeper, firstNonce, ours);
            Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));

            MinedTx? cancelTx = null;
            if (!sameBlock)
            {
                // the fully taken batch was cancelled: its nonce went to a 0-value self-transfer
                Assert.Equal(IntentState.Cancelled, journal.GetIntent(first.Id)!.State);
                var firstAttempts = journal.GetAttempts(first.Id);
                var winner = Assert.Single(firstAttempts, a => a.State == AttemptState.Included);
                Assert.Equal(AttemptKind.Cancel, winner.Kind);
                cancelTx = Assert.Single(ours, t => t.Hash == winner.Hash);
                Assert.Equal(scenario.Keeper, cancelTx.Receipt.To);
                Assert.Empty(cancelTx.Receipt.Logs);
                Assert.All(firstAttempts.Where(a => a.Kind != AttemptKind.Cancel), a => Assert.Equal(AttemptState.Cancelled, a.State));
            }

            // no transaction of ours was mined for accounts that were all fixed a block earlier; what the competitor took
            // was skipped by ours (never liquidated again)
            foreach (var tx in ours.Where(t => t.Hash != cancelTx?.Hash))
            {
                var attempt = journal.GetAttempt(tx.Hash)!;
                var intent = journal.GetIntent(attempt.IntentId!)!;
                if (intent.Intent.Kind != "liquidation") continue;
                var accounts = intent.Intent.Targets.Select(t => t.Account).Distinct().ToList();
                var liquidatableBefore = await KeeperAudit.BelowMaintenanceAsync(d.Eth, d.Engine, accounts, tx.Block - 1);
                Assert.True(liquidatableBefore.Count > 0, $"{tx}: none of its {accounts.Count} accounts was liquidatable at block {tx.Block - 1}");
                Assert.NotEmpty(tx.Liquidated);
                foreach (var l in tx.Liquidated) Assert.DoesNotContain(l.Account, gone);
            }
            var skippedGone = ours.SelectMany(t => t.Skipped).Where(s => gone.Contains(s.Account)).Select(s => s.Account).ToHashSet();
            if (sameBlock) Assert.Equal(gone.Order(), skippedGone.Order());

            // the journal's observations agree with the receipts: won = the accounts our Liquidated events name (and the
            // accounts of our mined collateral sales), every account the competitor took is lost, rewards were realised
            var expectedWon = ours.SelectMany(t => t.Liquidated).Select(l => l.Account).ToHashSet();
            foreach (var tx in ours.Where(t => t.Hash != cancelTx?.Hash))
            {
                var intent = journal.GetIntent(journal.GetAttempt(tx.Hash)!.IntentId!)!;
                if (intent.Intent.Kind == "collateral") expectedWon.UnionWith(intent.Intent.Targets.Select(t => t.Account));
            }
            var wonObserved = journal.GetObservations(ObservationKinds.LiquidationWon).Select(o => Address.Parse(o.Key)).ToHashSet();
            var lostObserved = journal.GetObservations(ObservationKinds.LiquidationLost).Select(o => Address.Parse(o.Key)).ToHashSet();
            Assert.Equal(expectedWon.Order(), wonObserved.Order());
            Assert.Subset(lostObserved, gone);
            var rewards = journal.GetObservations(ObservationKinds.RewardWei);
            Assert.Equal(ours.Count(t => t.Liquidated.Count > 0), rewards.Count);
            Assert.All(rewards, r => Assert.False(r.AsUInt256().IsZero));
            output.WriteLine($"{ours.Count} keeper transactions; intents {string.Join(", ", intents.Select(i => $"{i.Id} {journal.GetIntent(i.Id)!.State}"))}; " +
                $"{skippedGone.Count} of the competitor's {gone.Count} accounts skipped in ours");
        }
        finally
        {
            process?.Dispose();
            try { await d.Rpc.SetAutomineAsync(true); } catch (RpcClientException) { }
            SqliteConnection.ClearAllPools();
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    private static Task SetNextBaseFeeAsync(IRpcClient rpc, UInt256 baseFee) =>
        rpc.RequestAsync("anvil_setNextBlockBaseFeePerGas", w => w.WriteQuantity(baseFee), _ => true);

    [GeneratedRegex(@"Block (?<block>\d+): (?<liquidatable>\d+) liquidatable, (?<batches>\d+) batches with (?<requests>\d+) requests planned")]
    private static partial Regex PlannedLine();
}
