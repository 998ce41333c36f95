using CrossMargin.Keeper.Execution;

namespace CrossMargin.Keeper.Tests.Execution;

public sealed class ReconcilerTests
{
    [Fact]
    public async Task Crash_then_restart_reattaches_pending_transactions_without_duplicates_or_gaps()
    {
        await using var h = new ExecutorHarness();
        await h.Executor.StartAsync();
        var a = ExecutorHarness.Intent();
        var b = ExecutorHarness.Intent();
        var c = ExecutorHarness.Intent();
        await h.Executor.SubmitAsync(a, ExecutorHarness.Liquidate(1), 300_000, ExecutorHarness.Value);
        await h.Executor.SubmitAsync(b, ExecutorHarness.Liquidate(2), 300_000, ExecutorHarness.Value);
        // c is signed and journaled, but the process dies before the node gets it
        h.Chain.FailNext("eth_sendRawTransaction", new Ethereum.Rpc.RpcConnectionException("crash"));
        await h.Executor.SubmitAsync(c, ExecutorHarness.Liquidate(3), 300_000, ExecutorHarness.Value);
        h.Chain.MiningPaused = true;
        h.Chain.Mine();
        h.Chain.MiningPaused = false;
        // a is mined while we are down
        var aHash = h.Journal.GetAttempts(a.Id)[0].Hash;
        h.Chain.Mine(); // mines a and b (c is unknown to the node)
        int sentBefore = h.Chain.Sent.Count;

        h.Restart();
        var report = await h.Executor.StartAsync();

        Assert.Equal(2, report.Mined);
        Assert.Equal(0, report.Dropped);
        var pending = Assert.Single(report.StillPending);
        Assert.Equal(2UL, pending.Nonce);
        Assert.Equal(c.Id, pending.IntentId);
        Assert.Equal(3UL, report.NextNonce);
        Assert.Equal(sentBefore + 1, h.Chain.Sent.Count); // c re-broadcast, once, with its journaled bytes
        Assert.Equal(h.Journal.GetAttempts(c.Id)[0].Hash, h.Chain.Sent[^1]);
        Assert.Equal(IntentState.Included, h.Journal.GetIntent(a.Id)!.State);
        Assert.Equal(AttemptState.Included, h.Journal.GetAttempt(aHash)!.State);

        await h.MineAsync();
        Assert.Equal(IntentState.Included, h.Journal.GetIntent(c.Id)!.State);
        Assert.Equal(3UL, h.Chain.NonceOf(h.Sender));
        Assert.Empty(h.Journal.GetOpenAttempts(h.Sender));
        // every hash we ever sent is distinct: no duplicate transaction
        Assert.Equal(h.Chain.Sent.Count, h.Chain.Sent.Distinct().Count());
    }

    [Fact]
    public async Task Nonce_taken_by_an_unknown_transaction_while_down_is_marked_dropped()
    {
        await using var h = new ExecutorHarness();
        await h.Executor.StartAsync();
        var a = ExecutorHarness.Intent();
        await h.Executor.SubmitAsync(a, ExecutorHarness.Liquidate(), 300_000, ExecutorHarness.Value);
        h.Chain.ExternalTransaction(h.Sender);

        h.Restart();
        var report = await h.Executor.StartAsync();
        Assert.Equal(1, report.Dropped);
        Assert.Empty(report.StillPending);
        Assert.Equal(IntentState.Dropped, h.Journal.GetIntent(a.Id)!.State);
        Assert.Equal(AttemptState.Dropped, h.Journal.GetAttempts(a.Id)[0].State);
        Assert.Equal(1UL, h.Nonces.PeekNext(h.Sender));
    }

    [Fact]
    public async Task Replacement_mined_while_down_settles_the_nonce_and_marks_the_original_replaced()
    {
        await using var h = new ExecutorHarness();
        await h.Executor.StartAsync();
        var a = ExecutorHarness.Intent();
        await h.Executor.SubmitAsync(a, ExecutorHarness.Liquidate(), 300_000, ExecutorHarness.Value);
        await h.IdleBlocksAsync(2); // replaced
        var attempts = h.Journal.GetAttempts(a.Id);
        Assert.Equal(2, attempts.Count);
        h.Chain.Mine();

        h.Restart();
        var report = await h.Executor.StartAsync();
        Assert.Equal(1, report.Mined);
        Assert.Equal(AttemptState.Replaced, h.Journal.GetAttempt(attempts[0].Hash)!.State);
        Assert.Equal(AttemptState.Included, h.Journal.GetAttempt(attempts[1].Hash)!.State);
        Assert.Contains(report.Outcomes, o => o.Kind == ExecutionOutcomeKind.Included && o.TxHash == attempts[1].Hash);
    }

    [Fact]
    public async Task Still_pending_transactions_keep_being_tracked_and_replaced_after_restart()
    {
        await using var h = new ExecutorHarness();
        await h.Executor.StartAsync();
        var a = ExecutorHarness.Intent();
        await h.Executor.SubmitAsync(a, ExecutorHarness.Liquidate(), 300_000, ExecutorHarness.Value);

        h.Restart();
        var report = await h.Executor.StartAsync();
        Assert.Single(report.StillPending);
        Assert.Equal(0, report.Rebroadcast); // the node already had it ("already known")
        Assert.Single(h.Executor.InFlight);
        await h.IdleBlocksAsync(2);
        Assert.Equal(2, h.Journal.GetAttempts(a.Id).Count);
        await h.MineAsync();
        Assert.Equal(IntentState.Included, h.Journal.GetIntent(a.Id)!.State);
    }

    [Fact]
    public async Task Intent_recorded_but_never_signed_is_closed_as_interrupted()
    {
        await using var h = new ExecutorHarness();
        await h.Executor.StartAsync();
        var a = ExecutorHarness.Intent();
        h.Journal.RecordIntent(a);

        h.Restart();
        var report = await h.Executor.StartAsync();
        Assert.Equal(1, report.InterruptedIntents);
        Assert.Equal(IntentState.Failed, h.Journal.GetIntent(a.Id)!.State);
    }
}
