using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Keeper.Execution;

namespace CrossMargin.Keeper.Tests.Execution;

public sealed class FeeEstimatorTests
{
    private static readonly UInt256 Gwei = 1_000_000_000;

    [Theory]
    [InlineData(30_000_000UL, 15_000_000UL, 100_000_000_000UL)] // at target: unchanged
    [InlineData(30_000_000UL, 30_000_000UL, 112_500_000_000UL)] // full: +12.5 %
    [InlineData(30_000_000UL, 0UL, 87_500_000_000UL)]           // empty: -12.5 %
    [InlineData(30_000_000UL, 22_500_000UL, 106_250_000_000UL)] // halfway above target: +6.25 %
    public void Next_base_fee_follows_eip1559(ulong gasLimit, ulong gasUsed, ulong expected)
    {
        Assert.Equal((UInt256)expected, FeeEstimator.PredictNextBaseFee(100 * Gwei, gasUsed, gasLimit));
    }

    [Fact]
    public void Base_fee_increase_is_at_least_one_wei_and_decrease_may_round_to_zero()
    {
        // delta = 7 * 1 / 15M / 8 = 0 -> 1
        Assert.Equal((UInt256)8UL, FeeEstimator.PredictNextBaseFee(7, 15_000_001, 30_000_000));
        Assert.Equal((UInt256)7UL, FeeEstimator.PredictNextBaseFee(7, 14_999_999, 30_000_000));
    }

    [Fact]
    public void Ratio_form_matches_the_exact_rule_for_representable_ratios()
    {
        var rng = new Random(1559);
        for (int i = 0; i < 200; i++)
        {
            ulong limit = 1_000_000_000;
            ulong used = (ulong)rng.NextInt64(0, (long)limit + 1);
            UInt256 parent = (UInt256)(ulong)rng.NextInt64(1, long.MaxValue);
            Assert.Equal(FeeEstimator.PredictNextBaseFee(parent, used, limit), FeeEstimator.PredictNextBaseFee(parent, used / (double)limit));
        }
    }

    [Fact]
    public void Estimate_takes_the_median_tip_skipping_empty_blocks_and_caps_max_fee()
    {
        var history = new FeeHistory(10,
            [10 * Gwei, 10 * Gwei, 10 * Gwei, 10 * Gwei, 10 * Gwei],
            [0.5, 0.0, 0.5, 1.0],
            [[3 * Gwei], [0], [1 * Gwei], [2 * Gwei]]);
        var options = new FeeOptions { MinPriorityFee = 1, MaxPriorityFee = 100 * Gwei, MaxFeeCap = 1_000 * Gwei };
        var estimate = FeeEstimator.FromHistory(history, options);
        Assert.Equal(2 * Gwei, estimate.MaxPriorityFeePerGas);
        // newest block full: 10 gwei * 1.125
        Assert.Equal((UInt256)11_250_000_000UL, estimate.NextBaseFee);
        Assert.Equal(2 * (UInt256)11_250_000_000UL + 2 * Gwei, estimate.MaxFeePerGas);

        var clamped = FeeEstimator.FromHistory(history, new FeeOptions { MinPriorityFee = 5 * Gwei, MaxPriorityFee = 6 * Gwei, MaxFeeCap = 20 * Gwei });
        Assert.Equal(5 * Gwei, clamped.MaxPriorityFeePerGas);
        Assert.Equal(20 * Gwei, clamped.MaxFeePerGas);

        var tipAboveCap = FeeEstimator.Compose(10 * Gwei, 9 * Gwei, 8 * Gwei);
        Assert.Equal(8 * Gwei, tipAboveCap.MaxFeePerGas);
        Assert.Equal(8 * Gwei, tipAboveCap.MaxPriorityFeePerGas);
    }

    [Fact]
    public void Node_reported_next_base_fee_wins_when_higher()
    {
        var history = new FeeHistory(1, [10 * Gwei, 12 * Gwei], [0.5], [[Gwei]]);
        Assert.Equal(12 * Gwei, FeeEstimator.FromHistory(history, new FeeOptions()).NextBaseFee);
    }

    [Fact]
    public void Invalid_fee_options_are_rejected_at_start()
    {
        Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() =>
            new ExecutionOptions { FeeBumpBps = 500 }.Validate());
        Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() =>
            new ExecutionOptions { Fees = new FeeOptions { MinPriorityFee = 10, MaxPriorityFee = 5 } }.Validate());
    }
}

public sealed class FeeBumpTests
{
    private static readonly UInt256 Gwei = 1_000_000_000;

    [Fact]
    public void Minimum_bump_rounds_up()
    {
        Assert.Equal((UInt256)12UL, FeeBump.Minimum(10, 1_250)); // 11.25 -> 12
        Assert.Equal((UInt256)2UL, FeeBump.Minimum(1, 1_000));   // 1.1 -> 2
        Assert.Equal((UInt256)11_250_000_000UL, FeeBump.Minimum(10 * Gwei, 1_250));
    }

    [Fact]
    public void Replacement_takes_the_higher_of_bumped_and_current_fees()
    {
        var low = new FeeEstimate(5 * Gwei, Gwei, 11 * Gwei);
        var next = FeeBump.Next(2 * Gwei, 20 * Gwei, low, 1_250, 1_000 * Gwei)!.Value;
        Assert.Equal((UInt256)2_250_000_000UL, next.Tip);
        Assert.Equal(22_500_000_000UL, (ulong)next.MaxFee);

        var high = new FeeEstimate(50 * Gwei, 3 * Gwei, 103 * Gwei);
        next = FeeBump.Next(2 * Gwei, 20 * Gwei, high, 1_250, 1_000 * Gwei)!.Value;
        Assert.Equal(3 * Gwei, next.Tip);
        Assert.Equal(103 * Gwei, next.MaxFee);
    }

    [Fact]
    public void Replacement_is_capped_and_refused_when_the_minimum_bump_exceeds_the_cap()
    {
        var high = new FeeEstimate(50 * Gwei, 3 * Gwei, 103 * Gwei);
        var capped = FeeBump.Next(2 * Gwei, 20 * Gwei, high, 1_250, 30 * Gwei)!.Value;
        Assert.Equal(30 * Gwei, capped.MaxFee);
        Assert.Null(FeeBump.Next(2 * Gwei, 28 * Gwei, high, 1_250, 30 * Gwei));
    }

    [Fact]
    public void Affordable_max_fee_is_the_value_share_per_gas()
    {
        Assert.Equal(50 * Gwei, FeeBump.AffordableMaxFee(UInt256.Parse("10000000000000000"), 5_000, 100_000, 1_000 * Gwei));
        Assert.Equal(40 * Gwei, FeeBump.AffordableMaxFee(UInt256.Parse("10000000000000000"), 5_000, 100_000, 40 * Gwei));
    }
}

public sealed class NonceManagerTests
{
    private static readonly Address A = Address.Parse("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");

    private static async Task<(FakeChain, NonceManager)> SyncedAsync(ulong chainNonce)
    {
        var chain = new FakeChain();
        for (ulong i = 0; i < chainNonce; i++) chain.ExternalTransaction(A);
        var m = new NonceManager(chain);
        await m.SyncAsync(A);
        return (chain, m);
    }

    [Fact]
    public async Task Reserve_requires_sync_and_hands_out_consecutive_nonces()
    {
        var m = new NonceManager(new FakeChain());
        Assert.Throws<InvalidOperationException>(() => m.Reserve(A));
        (_, m) = await SyncedAsync(5);
        Assert.Equal(5UL, m.Reserve(A).Nonce);
        Assert.Equal(6UL, m.Reserve(A).Nonce);
    }

    [Fact]
    public async Task Releasing_the_newest_nonce_gives_it_back()
    {
        var (_, m) = await SyncedAsync(0);
        var a = m.Reserve(A);
        a.Commit();
        var b = m.Reserve(A);
        b.Release();
        Assert.Equal(1UL, m.PeekNext(A));
        Assert.Empty(m.Gaps(A));
        Assert.Equal(1UL, m.Reserve(A).Nonce);
    }

    [Fact]
    public async Task Releasing_a_middle_nonce_makes_a_gap_that_the_next_reservation_fills()
    {
        var (_, m) = await SyncedAsync(0);
        var n0 = m.Reserve(A);
        var n1 = m.Reserve(A);
        var n2 = m.Reserve(A);
        n0.Commit();
        n2.Commit();
        n1.Dispose(); // not sent
        Assert.Equal([1UL], m.Gaps(A));
        var reuse = m.Reserve(A);
        Assert.Equal(1UL, reuse.Nonce);
        Assert.Empty(m.Gaps(A));
        reuse.Commit();
        Assert.Equal(3UL, m.Reserve(A).Nonce);
        n1.Commit(); // a lease settles once
        Assert.Equal([0UL, 1UL, 2UL], m.InFlight(A));
    }

    [Fact]
    public async Task Released_trailing_nonces_collapse_back()
    {
        var (_, m) = await SyncedAsync(0);
        var n0 = m.Reserve(A);
        var n1 = m.Reserve(A);
        var n2 = m.Reserve(A);
        n1.Release();
        n2.Release();
        Assert.Equal(1UL, m.PeekNext(A));
        Assert.Empty(m.Gaps(A));
        n0.Release();
        Assert.Equal(0UL, m.PeekNext(A));
    }

    [Fact]
    public async Task Sync_stays_above_in_flight_nonces_the_node_forgot_and_forgets_mined_gaps()
    {
        var (chain, m) = await SyncedAsync(0);
        for (int i = 0; i < 3; i++) m.Reserve(A).Commit(); // 0,1,2 sent; the node lost them
        Assert.Equal(3UL, await m.SyncAsync(A));
        chain.ExternalTransaction(A);
        chain.ExternalTransaction(A); // chain at 2
        var extra = m.Reserve(A); // 3
        var later = m.Reserve(A); // 4
        later.Commit();
        extra.Release(); // gap 3
        Assert.Equal([3UL], m.Gaps(A));
        m.MarkMined(A, 4);
        Assert.Empty(m.Gaps(A));
        Assert.Equal(5UL, m.PeekNext(A));
    }

    [Fact]
    public async Task Pending_count_above_ours_moves_next_up()
    {
        var (chain, m) = await SyncedAsync(0);
        chain.ExternalTransaction(A);
        chain.ExternalTransaction(A);
        Assert.Equal(2UL, await m.SyncAsync(A));
        Assert.Equal(2UL, m.Reserve(A).Nonce);
    }

    [Theory]
    [InlineData("nonce too low", SendErrorKind.NonceTooLow)]
    [InlineData("nonce too low: next nonce 5, tx nonce 3", SendErrorKind.NonceTooLow)]
    [InlineData("already known", SendErrorKind.AlreadyKnown)]
    [InlineData("transaction already imported", SendErrorKind.AlreadyKnown)]
    [InlineData("replacement transaction underpriced", SendErrorKind.ReplacementUnderpriced)]
    [InlineData("insufficient funds for gas * price + value", SendErrorKind.InsufficientFunds)]
    [InlineData("max fee per gas less than block base fee", SendErrorKind.FeeTooLow)]
    [InlineData("execution reverted", SendErrorKind.Other)]
    public void Send_errors_are_classified(string message, SendErrorKind kind)
    {
        Assert.Equal(kind, SendErrors.Classify(new RpcException(-32000, message, null, null)));
    }
}
