using System.Diagnostics;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Keeper.Execution;
using CrossMargin.Keeper.Monitoring;
using CrossMargin.Keeper.Oracle;
using CrossMargin.Keeper.Oracle.Push;
using CrossMargin.Keeper.Tests.Oracle;
using static CrossMargin.Keeper.Tests.Indexing.EngineLogs;
using E = CrossMargin.Contracts.CrossMarginEngine;

namespace CrossMargin.Keeper.Tests.Monitoring;

public sealed class KeeperMetricsTests : IDisposable
{
    private static readonly Address Me = Account(900);
    private static readonly Address Rival = Account(901);
    private readonly ManualTimeProvider _time = new();
    private readonly KeeperMeterFactory _factory = new();
    private readonly MetricsCollector _collector;
    private readonly KeeperMetrics _metrics;

    public KeeperMetricsTests()
    {
        _collector = MetricsCollector.ForFactory(_factory);
        _metrics = new KeeperMetrics(_factory, Me, _time);
    }

    public void Dispose()
    {
        _collector.Dispose();
        _factory.Dispose();
    }

    private ParsedScrape Scrape() => PrometheusText.Parse(_collector.Scrape());

    private static LogEntry Log((Hash32[] Topics, byte[] Data) e) => new(Account(500), e.Topics, e.Data, 1, null, null, 0, 0, false);

    private static LogEntry Liquidated(Address account, Address liquidator, long rewardWad) =>
        Log(([E.LiquidatedEvent.Topic0, Word(account), Word(0), Word(liquidator)], Data(Word(10), Word(2000), Word(rewardWad), Word(1))));

    private static LogEntry Skipped(Address account, int reason) =>
        Log(([E.LiquidationSkippedEvent.Topic0, Word(account), Word(1)], Data(Word(reason))));

    private ExecutionOutcome Outcome(ExecutionOutcomeKind kind, string? intent, ulong? nonce, ulong? gas = null, ulong? price = null, IReadOnlyList<LogEntry>? logs = null) =>
        new(kind, intent, null, nonce, _time.GetUtcNow(), gas is null ? null : 100, gas, price is { } p ? new UInt256(p) : null, null, logs);

    [Fact]
    public void Unlabelled_counters_exist_from_the_start()
    {
        var s = Scrape();
        Assert.Equal(0, s.Value(KeeperMetrics.LiquidationsSentName));
        Assert.Equal(0, s.Value(KeeperMetrics.LiquidationsWonName));
        Assert.Equal(0, s.Value(KeeperMetrics.BlocksName));
        Assert.Null(s.ValueOrNull(KeeperMetrics.HeadBlockName));
        Assert.Null(s.ValueOrNull(KeeperMetrics.WalletBalanceName));
    }

    [Fact]
    public void The_subscription_gauge_drops_when_the_subscription_ends()
    {
        _metrics.HeadSourceActive(subscribed: true);
        Assert.Equal(1, Scrape().Value(KeeperMetrics.HeadSubscribedName));
        Assert.True(_metrics.Status.Subscribed);
        _metrics.SubscriptionEnded();
        Assert.Equal(0, Scrape().Value(KeeperMetrics.HeadSubscribedName));
        Assert.False(_metrics.Status.Subscribed);
        _metrics.HeadSourceActive(subscribed: false); // polling
        Assert.Equal(0, Scrape().Value(KeeperMetrics.HeadSubscribedName));
    }

    [Fact]
    public void Blocks_detection_and_lag()
    {
        _metrics.ChainHead(105);
        _metrics.BlockProcessed(100);
        _metrics.Detection(indexed: 150, liquidatable: 4, recomputed: 30, TimeSpan.FromMilliseconds(3));
        _metrics.BlockFailed();
        var s = Scrape();
        Assert.Equal(105, s.Value(KeeperMetrics.HeadBlockName));
        Assert.Equal(100, s.Value(KeeperMetrics.ProcessedBlockName));
        Assert.Equal(5, s.Value(KeeperMetrics.BlocksBehindName));
        Assert.Equal(1, s.Value(KeeperMetrics.BlocksName));
        Assert.Equal(1, s.Value(KeeperMetrics.BlockFailuresName));
        Assert.Equal(150, s.Value(KeeperMetrics.AccountsIndexedName));
        Assert.Equal(4, s.Value(KeeperMetrics.AccountsLiquidatableName));
        Assert.Equal(30, s.Value(KeeperMetrics.AccountsRecomputedName));
        Assert.Equal(1, s.Value(KeeperMetrics.DetectionName + "_count"));
        Assert.Equal(1, s.Value(KeeperMetrics.DetectionName + "_bucket", ("le", "0.005")));
        Assert.Equal(0, s.Value(KeeperMetrics.DetectionName + "_bucket", ("le", "0.0025")));

        _metrics.BlockProcessed(106); // processing past the last announced head moves the head too
        s = Scrape();
        Assert.Equal(106, s.Value(KeeperMetrics.HeadBlockName));
        Assert.Equal(0, s.Value(KeeperMetrics.BlocksBehindName));
        Assert.Equal(new DateTimeOffset(2024, 6, 1, 12, 0, 0, TimeSpan.Zero), _metrics.Status.ProcessedAt);
    }

    [Fact]
    public void A_liquidation_batch_from_send_to_inclusion()
    {
        _metrics.DetectionToSend(TimeSpan.FromMilliseconds(40));
        _metrics.LiquidationSent("i1", requests: 3);
        _metrics.Outcome(Outcome(ExecutionOutcomeKind.Sent, "i1", nonce: 7));
        _time.Advance(TimeSpan.FromSeconds(2));
        _metrics.Outcome(Outcome(ExecutionOutcomeKind.Replaced, "i1", nonce: 7));
        _time.Advance(TimeSpan.FromSeconds(4));
        var logs = new[]
        {
            Liquidated(Account(1), Me, 3_000_000_000_000_000_000),
            Liquidated(Account(2), Me, 500_000_000_000_000_000),
            Liquidated(Account(3), Rival, 9_000_000_000_000_000_000), // not ours (another liquidator in the same receipt)
            Skipped(Account(4), 1),
            Skipped(Account(5), 2),
            Skipped(Account(1), 1), // another market of an account this batch already liquidated: skipped, not lost
            Skipped(Account(3), 2), // the rival's account: lost
        };
        _metrics.Outcome(Outcome(ExecutionOutcomeKind.Included, "i1", nonce: 7, gas: 300_000, price: 2_000_000_000, logs: logs));

        var s = Scrape();
        Assert.Equal(3, s.Value(KeeperMetrics.LiquidationsSentName));
        Assert.Equal(2, s.Value(KeeperMetrics.LiquidationsWonName));
        Assert.Equal(1, s.Value(KeeperMetrics.LiquidationsLostName, ("reason", "not_liquidatable")));
        Assert.Equal(2, s.Value(KeeperMetrics.LiquidationsLostName, ("reason", "no_position")));
        Assert.Equal(2, s.Value(KeeperMetrics.RequestsSkippedName, ("reason", "not_liquidatable")));
        Assert.Equal(2, s.Value(KeeperMetrics.RequestsSkippedName, ("reason", "no_position")));
        Assert.Equal(3.5, s.Value(KeeperMetrics.RewardsName), 9);
        Assert.Equal(1, s.Value(KeeperMetrics.BatchesName, ("outcome", "included")));
        Assert.Equal(300_000, s.Value(KeeperMetrics.GasUsedName, ("kind", "liquidation")));
        Assert.Equal(0.0006, s.Value(KeeperMetrics.FeesPaidName, ("kind", "liquidation")), 12);
        Assert.Equal(7, s.Value(KeeperMetrics.NonceName));
        Assert.Equal(1, s.Value(KeeperMetrics.DetectionToSendName + "_count"));
        Assert.Equal(1, s.Value(KeeperMetrics.DetectionToSendName + "_bucket", ("le", "0.05")));
        // from the first Sent (not the replacement) to the receipt: 6 s
        Assert.Equal(6, s.Value(KeeperMetrics.SendToInclusionName + "_sum"));
        Assert.Equal(0, s.Value(KeeperMetrics.SendToInclusionName + "_bucket", ("le", "5")));
        Assert.Equal(1, s.Value(KeeperMetrics.SendToInclusionName + "_bucket", ("le", "10")));
        Assert.Equal(0, s.Value(KeeperMetrics.LiquidationsRevertedName));

        // a second outcome for a settled intent counts nothing more
        _metrics.Outcome(Outcome(ExecutionOutcomeKind.Included, "i1", nonce: 7, logs: logs));
        Assert.Equal(2, Scrape().Value(KeeperMetrics.LiquidationsWonName));
    }

    [Fact]
    public void Reverted_batches_and_other_transaction_kinds()
    {
        _metrics.LiquidationSent("bad", requests: 4);
        _metrics.Outcome(Outcome(ExecutionOutcomeKind.Sent, "bad", nonce: 1));
        _metrics.Outcome(Outcome(ExecutionOutcomeKind.Reverted, "bad", nonce: 1, gas: 50_000, price: 1_000_000_000));
        _metrics.LiquidationSent("gone", requests: 2);
        _metrics.Outcome(Outcome(ExecutionOutcomeKind.Sent, "gone", nonce: 2));
        _metrics.Outcome(Outcome(ExecutionOutcomeKind.Cancelled, "gone", nonce: 2, gas: 21_000, price: 1_000_000_000));
        _metrics.Outcome(Outcome(ExecutionOutcomeKind.GapFilled, null, nonce: 3, gas: 21_000, price: 1_000_000_000));
        _metrics.Outcome(Outcome(ExecutionOutcomeKind.Included, "oracle-push-1", nonce: 4, gas: 80_000, price: 1_000_000_000));
        _metrics.CollateralSaleSent("sale");
        _metrics.Outcome(Outcome(ExecutionOutcomeKind.Sent, "sale", nonce: 5));
        _metrics.Outcome(Outcome(ExecutionOutcomeKind.Included, "sale", nonce: 5, gas: 90_000, price: 1_000_000_000));
        _metrics.PendingTransactions(2);

        var s = Scrape();
        Assert.Equal(4, s.Value(KeeperMetrics.LiquidationsRevertedName));
        Assert.Equal(1, s.Value(KeeperMetrics.BatchesName, ("outcome", "reverted")));
        Assert.Equal(1, s.Value(KeeperMetrics.BatchesName, ("outcome", "cancelled")));
        Assert.Equal(50_000, s.Value(KeeperMetrics.GasUsedName, ("kind", "liquidation")));
        Assert.Equal(21_000, s.Value(KeeperMetrics.GasUsedName, ("kind", "cancel")));
        Assert.Equal(21_000, s.Value(KeeperMetrics.GasUsedName, ("kind", "gap_fill")));
        Assert.Equal(80_000, s.Value(KeeperMetrics.GasUsedName, ("kind", "other")));
        Assert.Equal(90_000, s.Value(KeeperMetrics.GasUsedName, ("kind", "collateral")));
        Assert.Equal(1, s.Value(KeeperMetrics.CollateralSalesName, ("outcome", "included")));
        Assert.Null(s.ValueOrNull(KeeperMetrics.BatchesName, ("outcome", "included"))); // a sale is not a liquidation batch
        Assert.Null(s.ValueOrNull(KeeperMetrics.SendToInclusionName + "_count")); // only included batches are timed
        Assert.Equal(2, s.Value(KeeperMetrics.PendingName));
        Assert.Equal(5, s.Value(KeeperMetrics.NonceName));
    }

    [Fact]
    public void Wallet_balance_is_reported_in_gas_token_units()
    {
        _metrics.WalletBalance(new UInt256(1_500_000_000_000_000_000UL));
        Assert.Equal(1.5, Scrape().Value(KeeperMetrics.WalletBalanceName));
        Assert.Equal(new UInt256(1_500_000_000_000_000_000UL), _metrics.Status.WalletBalanceWei);
    }

    private static OracleServiceRound Round(DateTimeOffset t, params (string Asset, OracleState State, int Sources, double? Dev)[] assets)
    {
        var aggregates = assets.ToDictionary(a => a.Asset, a => new AggregatePrice(a.Asset, UInt256.One, UInt256.One, UInt256.One, a.State,
            [.. Enumerable.Range(0, a.Sources).Select(i => "s" + i)], t, [], 0, ""));
        var deviations = assets.Where(a => a.Dev is not null).ToDictionary(a => a.Asset, a => a.Dev!.Value);
        return new OracleServiceRound(7, aggregates, deviations, null);
    }

    [Fact]
    public void Oracle_rounds_give_sources_deviation_and_halted_time()
    {
        _metrics.OracleRound(Round(_time.GetUtcNow(), ("ETH", OracleState.Healthy, 3, 12), ("BTC", OracleState.Halted, 0, null)));
        _time.Advance(TimeSpan.FromSeconds(30));
        _metrics.OracleRound(Round(_time.GetUtcNow(), ("ETH", OracleState.Healthy, 3, 7), ("BTC", OracleState.Halted, 0, null)));
        var s = Scrape();
        Assert.Equal(3, s.Value(KeeperMetrics.OracleSourcesName, ("asset", "ETH")));
        Assert.Equal(0, s.Value(KeeperMetrics.OracleSourcesName, ("asset", "BTC")));
        Assert.Equal(7, s.Value(KeeperMetrics.OracleDeviationName, ("asset", "ETH")));
        Assert.Null(s.ValueOrNull(KeeperMetrics.OracleDeviationName, ("asset", "BTC")));
        Assert.Equal(30, s.Value(KeeperMetrics.OracleHaltedName, ("asset", "BTC")));
        Assert.Equal(0, s.Value(KeeperMetrics.OracleHaltedName, ("asset", "ETH")));
        Assert.Equal(2, _metrics.Status.OracleRounds);

        _metrics.OracleRound(Round(_time.GetUtcNow(), ("ETH", OracleState.Healthy, 3, 7), ("BTC", OracleState.Degraded, 1, -40.5)));
        Assert.Empty(_metrics.Status.HaltedSince);
        Assert.Equal(0, Scrape().Value(KeeperMetrics.OracleHaltedName, ("asset", "BTC")));
        Assert.Equal(-40.5, Scrape().Value(KeeperMetrics.OracleDeviationName, ("asset", "BTC")));

        // a round without a deviation for an asset (hub unreadable, or the asset Halted) drops its sample: no stale value
        _metrics.OracleRound(Round(_time.GetUtcNow(), ("ETH", OracleState.Healthy, 3, null), ("BTC", OracleState.Degraded, 1, 12)));
        s = Scrape();
        Assert.Null(s.ValueOrNull(KeeperMetrics.OracleDeviationName, ("asset", "ETH")));
        Assert.Equal(12, s.Value(KeeperMetrics.OracleDeviationName, ("asset", "BTC")));
        Assert.Equal(_time.GetUtcNow(), _metrics.Status.OracleRoundAt);
    }

    [Fact]
    public void Included_span_links_to_the_liquidation_span()
    {
        var spans = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == KeeperTracing.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a => { lock (spans) spans.Add(a); },
        };
        ActivitySource.AddActivityListener(listener);
        string intent = "trace-" + Guid.NewGuid().ToString("N");
        ActivityContext sendContext;
        using (var liq = KeeperTracing.StartSubmit(1))
        {
            Assert.NotNull(liq);
            sendContext = liq.Context;
            _metrics.LiquidationSent(intent, 2);
            _metrics.Outcome(Outcome(ExecutionOutcomeKind.Sent, intent, 1));
        }
        _time.Advance(TimeSpan.FromSeconds(3));
        // the receipt is settled inside a later block's span: the included span is not its child, and that block span
        // stays current afterwards
        using (var block = KeeperTracing.StartBlock(2))
        {
            Assert.NotNull(block);
            _metrics.Outcome(Outcome(ExecutionOutcomeKind.Included, intent, 1, gas: 100_000, price: 1));
            Assert.Same(block, Activity.Current);
        }
        Activity included;
        lock (spans) included = Assert.Single(spans, a => a.OperationName == KeeperTracing.Included && (string?)a.GetTagItem("intent.id") == intent);
        Assert.Equal(default, included.ParentSpanId);
        Assert.Null(included.Parent);
        Assert.Equal(sendContext.TraceId, Assert.Single(included.Links).Context.TraceId);
        Assert.Equal(sendContext.SpanId, included.Links.Single().Context.SpanId);
        Assert.Equal(TimeSpan.FromSeconds(3), included.Duration);
    }
}
