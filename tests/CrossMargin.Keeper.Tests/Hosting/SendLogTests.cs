using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Keeper.Execution;
using CrossMargin.Keeper.Hosting;
using CrossMargin.Keeper.Tests.Detection;

namespace CrossMargin.Keeper.Tests.Hosting;

public sealed class SendLogTests
{
    private static SentTransaction Tx(int i, Address account) =>
        new($"intent-{i}", "batchLiquidate", null, (ulong)i, [account], 1, UInt256.One, TimeSpan.FromMilliseconds(1));

    [Fact]
    public void The_log_keeps_the_newest_transactions_and_still_finds_and_settles_them()
    {
        var log = new SendLog(capacity: 40);
        for (int i = 0; i < 1_000; i++) log.Sent(Tx(i, RiskWorld.Addr(i)));
        var kept = log.Snapshot();
        Assert.InRange(kept.Count, 30, 40);
        Assert.Equal("intent-999", kept[^1].IntentId);
        Assert.Equal(Enumerable.Range(1_000 - kept.Count, kept.Count).Select(i => $"intent-{i}"), kept.Select(t => t.IntentId));
        Assert.Null(log.Find("intent-0"));
        log.SeenLiquidatable(RiskWorld.Addr(998), 990);
        log.Observe(new ExecutionOutcome(ExecutionOutcomeKind.Included, "intent-998", null, null, DateTimeOffset.UnixEpoch, BlockNumber: 1_000));
        Assert.Equal(10UL, log.Find("intent-998")!.BlocksToInclusion);
    }

    [Fact]
    public void First_seen_notes_of_accounts_never_liquidated_by_us_expire()
    {
        var log = new SendLog();
        for (int i = 0; i < 500; i++) log.SeenLiquidatable(RiskWorld.Addr(i), 100); // liquidated by others: never settled here
        Assert.Equal(500, log.FirstSeenCount);
        log.SeenLiquidatable(RiskWorld.Addr(10_000), 100 + SendLog.FirstSeenKeptBlocks - 1);
        Assert.Equal(501, log.FirstSeenCount); // still within the window
        log.SeenLiquidatable(RiskWorld.Addr(10_001), 100 + (2 * SendLog.FirstSeenKeptBlocks));
        Assert.Equal(1, log.FirstSeenCount); // the old notes went, the newest stays
    }
}
