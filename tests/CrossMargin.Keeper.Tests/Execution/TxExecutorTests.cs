using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Abi;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Keeper.Execution;

namespace CrossMargin.Keeper.Tests.Execution;

public sealed class TxExecutorTests
{
    [Fact]
    public async Task Submit_simulates_journals_sends_and_reports_inclusion()
    {
        await using var h = new ExecutorHarness();
        await h.Executor.StartAsync();
        var intent = ExecutorHarness.Intent();
        var result = await h.Executor.SubmitAsync(intent, ExecutorHarness.Liquidate(), 300_000, ExecutorHarness.Value);

        Assert.Equal(IntentState.Sent, result.State);
        Assert.Equal(0UL, result.Nonce);
        Assert.Equal(["eth_chainId", "eth_blockNumber"], h.Chain.Calls.Take(2));
        Assert.True(h.Chain.Calls.IndexOf("eth_call") < h.Chain.Calls.IndexOf("eth_sendRawTransaction"));
        var attempt = Assert.Single(h.Journal.GetAttempts(intent.Id));
        Assert.Equal(AttemptState.Sent, attempt.State);
        Assert.Equal(result.TxHash, attempt.Hash);
        // fees: next base 10 gwei (ratio 0.5), tip 1 gwei sampled, max = 2 * base + tip
        Assert.Equal((UInt256)1_000_000_000UL, attempt.MaxPriorityFeePerGas);
        Assert.Equal((UInt256)21_000_000_000UL, attempt.MaxFeePerGas);

        await h.MineAsync();
        var outcomes = h.DrainOutcomes();
        Assert.Equal([ExecutionOutcomeKind.Sent, ExecutionOutcomeKind.Included], outcomes.Select(o => o.Kind));
        var included = outcomes[1];
        Assert.Equal(h.Chain.Head, included.BlockNumber);
        Assert.NotNull(included.GasUsed);
        Assert.Equal((UInt256)11_000_000_000UL, included.EffectiveGasPrice);
        Assert.Equal(IntentState.Included, h.Journal.GetIntent(intent.Id)!.State);
        Assert.Equal(AttemptState.Included, h.Journal.GetAttempt(attempt.Hash)!.State);
        Assert.Empty(h.Executor.InFlight);
    }

    [Fact]
    public async Task Simulation_revert_skips_the_intent_with_the_decoded_reason_and_sends_nothing()
    {
        await using var h = new ExecutorHarness();
        await h.Executor.StartAsync();
        h.Chain.CallRevertData = AbiRevert.ErrorString.Encode(["account healthy"]);
        var intent = ExecutorHarness.Intent();
        var result = await h.Executor.SubmitAsync(intent, ExecutorHarness.Liquidate(), 300_000, ExecutorHarness.Value);

        Assert.Equal(IntentState.Skipped, result.State);
        Assert.Contains("account healthy", result.Reason);
        Assert.Empty(h.Chain.Sent);
        Assert.Empty(h.Journal.GetAttempts(intent.Id));
        var stored = h.Journal.GetIntent(intent.Id)!;
        Assert.Equal(IntentState.Skipped, stored.State);
        Assert.Contains("account healthy", stored.Reason);
        Assert.Equal(0UL, h.Nonces.PeekNext(h.Sender));
    }

    [Fact]
    public async Task Unaffordable_opportunity_is_skipped()
    {
        await using var h = new ExecutorHarness();
        await h.Executor.StartAsync();
        // 300k gas at >= 10 gwei costs >= 0.003 ETH; half of 0.001 ETH cannot pay for it
        var result = await h.Executor.SubmitAsync(ExecutorHarness.Intent(), ExecutorHarness.Liquidate(), 300_000, UInt256.Parse("1000000000000000"));
        Assert.Equal(IntentState.Skipped, result.State);
        Assert.Contains("unprofitable", result.Reason);
        Assert.Empty(h.Chain.Sent);
    }

    [Fact]
    public async Task Pending_transaction_is_replaced_with_fees_bumped_by_at_least_the_configured_share()
    {
        await using var h = new ExecutorHarness();
        await h.Executor.StartAsync();
        var intent = ExecutorHarness.Intent();
        await h.Executor.SubmitAsync(intent, ExecutorHarness.Liquidate(), 300_000, ExecutorHarness.Value);

        await h.IdleBlocksAsync(1);
        Assert.Single(h.Chain.Sent); // not yet: ReplaceAfterBlocks = 2
        await h.IdleBlocksAsync(1);
        Assert.Equal(2, h.Chain.Sent.Count);

        var attempts = h.Journal.GetAttempts(intent.Id);
        Assert.Equal(2, attempts.Count);
        Assert.Equal(attempts[0].Nonce, attempts[1].Nonce);
        Assert.Equal(AttemptKind.Replacement, attempts[1].Kind);
        Assert.True(attempts[1].MaxFeePerGas * 10_000 >= attempts[0].MaxFeePerGas * 11_250);
        Assert.True(attempts[1].MaxPriorityFeePerGas * 10_000 >= attempts[0].MaxPriorityFeePerGas * 11_250);

        await h.MineAsync();
        var outcomes = h.DrainOutcomes();
        Assert.Equal([ExecutionOutcomeKind.Sent, ExecutionOutcomeKind.Replaced, ExecutionOutcomeKind.Included], outcomes.Select(o => o.Kind));
        Assert.Equal(attempts[1].Hash, outcomes[2].TxHash);
        Assert.Equal(AttemptState.Replaced, h.Journal.GetAttempt(attempts[0].Hash)!.State);
        Assert.Equal(AttemptState.Included, h.Journal.GetAttempt(attempts[1].Hash)!.State);
    }

    [Fact]
    public async Task Replacement_timing_counts_from_the_detected_block_when_blocks_are_reported_late()
    {
        await using var h = new ExecutorHarness(); // ReplaceAfterBlocks = 2
        await h.Executor.StartAsync();
        // the chain moves on while the caller is busy: the executor last heard of block 100
        h.Chain.MiningPaused = true;
        for (int i = 0; i < 3; i++) h.Chain.Mine();
        h.Chain.MiningPaused = false;
        var intent = ExecutorHarness.Intent(block: h.Chain.Head);
        var submitted = await h.Executor.SubmitAsync(intent, ExecutorHarness.Liquidate(), 300_000, ExecutorHarness.Value);
        Assert.Equal(IntentState.Sent, submitted.State);
        Assert.Equal(h.Chain.Head, h.Journal.GetAttempt(submitted.TxHash!.Value)!.SentBlock);

        await h.IdleBlocksAsync(1);
        Assert.Single(h.Chain.Sent); // one block after sending: not replaced yet
        await h.IdleBlocksAsync(1);
        Assert.Equal(2, h.Chain.Sent.Count);
        Assert.Equal(AttemptKind.Replacement, h.Journal.GetAttempts(intent.Id)[^1].Kind);
    }

    [Fact]
    public async Task Replacements_never_exceed_the_share_of_the_opportunity_value()
    {
        var options = new ExecutionOptions { ReplaceAfterBlocks = 1, MaxFeeShareOfValueBps = 5_000 };
        await using var h = new ExecutorHarness(options);
        await h.Executor.StartAsync();
        // value such that the affordable max fee is 30 gwei at 100k gas: 100k * 30 gwei * 2 = 0.006 ETH
        UInt256 value = UInt256.Parse("6000000000000000");
        UInt256 cap = FeeBump.AffordableMaxFee(value, 5_000, 100_000, options.Fees.MaxFeeCap);
        Assert.Equal((UInt256)30_000_000_000UL, cap);
        var intent = ExecutorHarness.Intent();
        await h.Executor.SubmitAsync(intent, ExecutorHarness.Liquidate(), 100_000, value);
        await h.IdleBlocksAsync(10);

        var attempts = h.Journal.GetAttempts(intent.Id);
        Assert.True(attempts.Count >= 2);
        Assert.All(attempts, a => Assert.True(a.MaxFeePerGas <= cap, $"{a.MaxFeePerGas} > {cap}"));
        // 21 -> 23.625 -> 26.58 -> 29.9 gwei; the next bump (33.6) would exceed 30 gwei, so it stops
        Assert.Equal(4, attempts.Count);
    }

    [Fact]
    public async Task Cancel_sends_a_bumped_zero_value_self_transfer_with_the_same_nonce()
    {
        await using var h = new ExecutorHarness();
        await h.Executor.StartAsync();
        var intent = ExecutorHarness.Intent();
        var sent = await h.Executor.SubmitAsync(intent, ExecutorHarness.Liquidate(), 300_000, ExecutorHarness.Value);

        Assert.True(await h.Executor.CancelAsync(intent.Id, "account healthy again"));
        Assert.False(await h.Executor.CancelAsync("unknown", "n/a"));
        var cancel = h.Chain.SentTransactions[^1];
        Assert.Equal(h.Sender, cancel.Transaction.To);
        Assert.True(cancel.Transaction.Value.IsZero);
        Assert.Equal(sent.Nonce, cancel.Transaction.Nonce);
        Assert.Equal(21_000UL, cancel.Transaction.GasLimit);

        await h.MineAsync();
        var outcomes = h.DrainOutcomes();
        Assert.Equal(ExecutionOutcomeKind.Cancelled, outcomes[^1].Kind);
        Assert.Equal(IntentState.Cancelled, h.Journal.GetIntent(intent.Id)!.State);
        var attempts = h.Journal.GetAttempts(intent.Id);
        Assert.Equal([AttemptState.Cancelled, AttemptState.Included], attempts.Select(a => a.State));
    }

    [Fact]
    public async Task Transport_failure_while_sending_keeps_the_nonce_and_rebroadcasts_the_same_bytes()
    {
        await using var h = new ExecutorHarness();
        await h.Executor.StartAsync();
        h.Chain.FailNext("eth_sendRawTransaction", new RpcConnectionException("reset"));
        var intent = ExecutorHarness.Intent();
        var result = await h.Executor.SubmitAsync(intent, ExecutorHarness.Liquidate(), 300_000, ExecutorHarness.Value);
        Assert.Equal(IntentState.Sent, result.State);
        Assert.Empty(h.Chain.Sent);
        Assert.Equal(AttemptState.Signed, h.Journal.GetAttempt(result.TxHash!.Value)!.State);

        await h.IdleBlocksAsync(1);
        Assert.Equal([result.TxHash!.Value], h.Chain.Sent);
        Assert.Equal(AttemptState.Sent, h.Journal.GetAttempt(result.TxHash!.Value)!.State);
        await h.MineAsync();
        Assert.Equal(IntentState.Included, h.Journal.GetIntent(intent.Id)!.State);
        Assert.Equal(1UL, h.Nonces.PeekNext(h.Sender));
    }

    [Fact]
    public async Task Rpc_errors_during_block_processing_are_survived()
    {
        await using var h = new ExecutorHarness();
        await h.Executor.StartAsync();
        var intent = ExecutorHarness.Intent();
        await h.Executor.SubmitAsync(intent, ExecutorHarness.Liquidate(), 300_000, ExecutorHarness.Value);
        h.Chain.FailNext("eth_getTransactionCount", new RpcTimeoutException(TimeSpan.FromSeconds(1)));
        h.Chain.FailNext("eth_getTransactionReceipt", new RpcResponseFormatException(RpcFormatError.InvalidResult, "garbage"));
        await h.MineAsync(); // count fails: nothing done
        await h.MineAsync(); // receipt fails: nothing done
        Assert.Equal(IntentState.Sent, h.Journal.GetIntent(intent.Id)!.State);
        await h.MineAsync();
        Assert.Equal(IntentState.Included, h.Journal.GetIntent(intent.Id)!.State);
    }

    [Fact]
    public async Task Nonce_too_low_resyncs_and_resends_with_the_chain_nonce()
    {
        await using var h = new ExecutorHarness();
        await h.Executor.StartAsync();
        h.Chain.ExternalTransaction(h.Sender); // the key was used elsewhere after we synced
        h.Chain.ExternalTransaction(h.Sender);
        var intent = ExecutorHarness.Intent();
        var result = await h.Executor.SubmitAsync(intent, ExecutorHarness.Liquidate(), 300_000, ExecutorHarness.Value);
        Assert.Equal(IntentState.Sent, result.State);
        Assert.Equal(2UL, result.Nonce);
        var attempts = h.Journal.GetAttempts(intent.Id);
        Assert.Equal([AttemptState.Dropped, AttemptState.Sent], attempts.Select(a => a.State));
        Assert.Contains("NonceTooLow", attempts[0].Error);
        Assert.Equal(3UL, h.Nonces.PeekNext(h.Sender));
    }

    [Fact]
    public async Task Refused_send_releases_the_nonce_for_the_next_intent()
    {
        await using var h = new ExecutorHarness();
        await h.Executor.StartAsync();
        await h.Executor.SubmitAsync(ExecutorHarness.Intent(), ExecutorHarness.Liquidate(1), 300_000, ExecutorHarness.Value); // nonce 0
        h.Chain.FailNext("eth_sendRawTransaction", new RpcException(-32000, "insufficient funds for gas * price + value", null, null));
        var refused = await h.Executor.SubmitAsync(ExecutorHarness.Intent(), ExecutorHarness.Liquidate(2), 300_000, ExecutorHarness.Value);
        Assert.Equal(IntentState.Failed, refused.State);
        Assert.Equal(1UL, h.Nonces.PeekNext(h.Sender));
        var next = await h.Executor.SubmitAsync(ExecutorHarness.Intent(), ExecutorHarness.Liquidate(3), 300_000, ExecutorHarness.Value);
        Assert.Equal(1UL, next.Nonce);
        await h.MineAsync();
        Assert.Equal(2UL, h.Chain.NonceOf(h.Sender));
        Assert.Empty(h.Nonces.Gaps(h.Sender));
    }

    [Fact]
    public async Task Nonce_used_by_an_unknown_transaction_marks_the_intent_dropped()
    {
        await using var h = new ExecutorHarness();
        await h.Executor.StartAsync();
        var intent = ExecutorHarness.Intent();
        await h.Executor.SubmitAsync(intent, ExecutorHarness.Liquidate(), 300_000, ExecutorHarness.Value);
        h.Chain.ExternalTransaction(h.Sender); // replaces ours in the pool and takes the nonce
        await h.IdleBlocksAsync(1); // first sighting: grace block
        Assert.Equal(IntentState.Sent, h.Journal.GetIntent(intent.Id)!.State);
        await h.IdleBlocksAsync(1);
        Assert.Equal(IntentState.Dropped, h.Journal.GetIntent(intent.Id)!.State);
        Assert.Contains(h.DrainOutcomes(), o => o.Kind == ExecutionOutcomeKind.Dropped);
    }

    [Fact]
    public async Task Released_nonce_below_a_sent_one_is_filled_with_a_self_transfer()
    {
        await using var h = new ExecutorHarness();
        await h.Executor.StartAsync();
        var abandoned = h.Nonces.Reserve(h.Sender); // nonce 0, taken by another component that then gives up
        var intent = ExecutorHarness.Intent();
        var sent = await h.Executor.SubmitAsync(intent, ExecutorHarness.Liquidate(), 300_000, ExecutorHarness.Value);
        Assert.Equal(1UL, sent.Nonce);
        abandoned.Release();
        Assert.Equal([0UL], h.Nonces.Gaps(h.Sender));

        await h.IdleBlocksAsync(1); // the executor fills the gap
        var fill = h.Chain.SentTransactions[^1];
        Assert.Equal(0UL, fill.Transaction.Nonce);
        Assert.Equal(h.Sender, fill.Transaction.To);
        Assert.True(fill.Transaction.Value.IsZero);
        Assert.Empty(h.Nonces.Gaps(h.Sender));

        await h.MineAsync();
        Assert.Equal(2UL, h.Chain.NonceOf(h.Sender));
        Assert.Equal(IntentState.Included, h.Journal.GetIntent(intent.Id)!.State);
        Assert.Contains(h.DrainOutcomes(), o => o.Kind == ExecutionOutcomeKind.GapFilled && o.Nonce == 0);
        Assert.Empty(h.Journal.GetOpenAttempts(h.Sender));
    }
}
