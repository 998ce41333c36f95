using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Keeper.Execution;
using static CrossMargin.Keeper.Tests.Indexing.EngineLogs;
using E = CrossMargin.Contracts.CrossMarginEngine;

namespace CrossMargin.Keeper.Tests.Execution;

public sealed class LiquidationReceiptTests
{
    private static readonly Address Me = Account(900);
    private static readonly Address Rival = Account(901);

    private static LogEntry Log((Hash32[] Topics, byte[] Data) e) => new(Account(500), e.Topics, e.Data, 1, null, null, 0, 0, false);

    private static LogEntry Liquidated(Address account, int market, Address liquidator, long rewardWad) =>
        Log(([E.LiquidatedEvent.Topic0, Word(account), Word(market), Word(liquidator)], Data(Word(10), Word(2000), Word(rewardWad), Word(1))));

    private static LogEntry Skipped(Address account, int market, int reason) =>
        Log(([E.LiquidationSkippedEvent.Topic0, Word(account), Word(market)], Data(Word(reason))));

    [Fact]
    public void Won_lost_and_reward_come_from_the_events_naming_the_keeper()
    {
        Address a = Account(1), b = Account(2), c = Account(3);
        LogEntry[] logs =
        [
            Liquidated(a, 0, Me, 5),
            Skipped(a, 1, 1),        // a second market of an account the first request fixed: skipped, not lost
            Liquidated(a, 2, Me, 7), // two requests, one account
            Skipped(b, 0, 1),        // someone else got there first
            Skipped(b, 1, 2),
            Liquidated(c, 0, Rival, 100), // not ours (another contract call in the same receipt)
            Log(Cash(a, 3)),         // other events are ignored
        ];
        var r = LiquidationReceipt.Read(logs, Me);
        Assert.Equal(2, r.RequestsWon);
        Assert.Equal([a], r.AccountsWon);
        Assert.Equal(new UInt256(12UL), r.RewardWad);
        Assert.Equal(3, r.Skipped.Count);
        Assert.Equal(["not_liquidatable", "not_liquidatable", "no_position"], r.Skipped.Select(s => s.Label));
        Assert.Equal([b], r.AccountsLost);
        Assert.True(r.IsLost(b));
        Assert.False(r.IsLost(a));
    }

    [Fact]
    public void Without_a_keeper_every_liquidation_counts_and_empty_receipts_are_empty()
    {
        var r = LiquidationReceipt.Read([Liquidated(Account(1), 0, Rival, 3), Liquidated(Account(2), 0, Me, 4)], keeper: null);
        Assert.Equal(2, r.RequestsWon);
        Assert.Equal(new UInt256(7UL), r.RewardWad);
        Assert.Same(LiquidationReceipt.Empty, LiquidationReceipt.Read(null, Me));
        Assert.Same(LiquidationReceipt.Empty, LiquidationReceipt.Read([], Me));
    }

    [Fact]
    public void Undecodable_and_topicless_logs_are_ignored()
    {
        var truncated = new LogEntry(Account(500), [E.LiquidatedEvent.Topic0, Word(Account(1))], [1, 2, 3], 1, null, null, 0, 0, false);
        var anonymous = new LogEntry(Account(500), [], [], 1, null, null, 0, 0, false);
        var r = LiquidationReceipt.Read([truncated, anonymous, Skipped(Account(4), 0, 9)], Me);
        Assert.Equal(0, r.RequestsWon);
        Assert.Equal("other", Assert.Single(r.Skipped).Label);
        Assert.Equal([Account(4)], r.AccountsLost);
    }
}
