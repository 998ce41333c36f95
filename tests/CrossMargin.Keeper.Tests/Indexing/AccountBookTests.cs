using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Crypto;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Keeper.Indexing;

namespace CrossMargin.Keeper.Tests.Indexing;

public sealed class AccountBookTests
{
    private static readonly Address Engine = EngineLogs.Account(4000);

    private static LogEntry L(ulong block, ulong index, (Hash32[] Topics, byte[] Data) ev, Hash32? hash = null) =>
        new(Engine, ev.Topics, ev.Data, block, hash ?? Keccak256.ComputeUtf8($"b{block}"), null, 0, index, false);

    [Fact]
    public void Events_set_absolute_state_and_masks()
    {
        var a = EngineLogs.Account(1);
        var book = new AccountBook();
        book.ApplyHistory(
        [
            L(1, 0, EngineLogs.AssetAdded(0)), L(1, 1, EngineLogs.AssetAdded(1)), L(1, 2, EngineLogs.AssetAdded(2)),
            L(1, 3, EngineLogs.MarketAdded(0)), L(1, 4, EngineLogs.Funding(0, 0, 0, 1000)), L(1, 5, EngineLogs.MarketAdded(1)),
            L(2, 0, EngineLogs.Cash(a, 500)), L(2, 1, EngineLogs.Collateral(a, 2, 77)), L(2, 2, EngineLogs.Position(a, 1, -5, -50, 3)),
            L(3, 0, EngineLogs.Cash(a, -12)), L(3, 1, EngineLogs.Funding(1, -9, 4, 1036)), L(3, 2, EngineLogs.Traded(a, 1)),
        ], 3);
        Assert.True(book.TryGetAccount(a, out var s));
        Assert.Equal((Int256)(-12), s.Cash);
        Assert.Equal([UInt256.Zero, UInt256.Zero, (UInt256)77UL], s.Collateral);
        Assert.Equal(2, s.Positions.Count);
        Assert.Equal(new PositionEntry(-5, -50, 3), s.Positions[1]);
        Assert.Equal(0b10UL, s.PositionMask);
        Assert.Equal(0b100UL, s.CollateralMask);
        Assert.Equal(new MarketFunding(-9, 4, 1036), book.FundingOf(1));
        Assert.Equal(3, book.AssetCount);
        Assert.Equal(2, book.MarketCount);
        Assert.Equal(1, book.Stats.UndecodableLogs); // Traded is not a book event
    }

    [Fact]
    public void Applying_a_log_twice_is_a_no_op()
    {
        var a = EngineLogs.Account(1);
        var logs = new[] { L(1, 0, EngineLogs.Cash(a, 1)), L(1, 1, EngineLogs.Cash(a, 2)), L(2, 0, EngineLogs.Cash(a, 3)) };
        var book = new AccountBook();
        book.ApplyHistory(logs[..2], 1);
        book.ApplyHistory(logs, 2); // overlaps the first page
        book.ApplyHistory(logs, 2);
        Assert.True(book.TryGetAccount(a, out var s));
        Assert.Equal((Int256)3, s.Cash);
        Assert.Equal(3, book.Stats.AppliedLogs);
        Assert.Equal(5, book.Stats.DuplicateLogs);
    }

    [Fact]
    public void ApplyBlock_sorts_logs_and_rollback_restores_every_field()
    {
        var a = EngineLogs.Account(1);
        var b = EngineLogs.Account(2);
        var book = new AccountBook(reorgDepth: 4);
        var h0 = Keccak256.ComputeUtf8("b0");
        book.ApplyHistory([L(0, 0, EngineLogs.Cash(a, 10))], 0);
        book.SetHeadHash(h0);
        var h1 = Keccak256.ComputeUtf8("b1");
        var changes = book.ApplyBlock(1, h1, h0, [L(1, 1, EngineLogs.Cash(a, 30), h1), L(1, 0, EngineLogs.Cash(a, 20), h1), L(1, 2, EngineLogs.Position(b, 0, 4, 40, 0), h1)]);
        Assert.Equal([a, b], changes.ChangedAccounts.Order());
        Assert.True(book.TryGetAccount(a, out var s));
        Assert.Equal((Int256)30, s.Cash); // index order, not argument order
        Assert.Throws<InvalidOperationException>(() => book.ApplyBlock(2, Keccak256.ComputeUtf8("x"), Keccak256.ComputeUtf8("wrong parent"), []));

        var touched = book.RollbackTo(0);
        Assert.Equal([a, b], touched.Order());
        Assert.False(book.Contains(b));
        Assert.True(book.TryGetAccount(a, out s));
        Assert.Equal((Int256)10, s.Cash);
        Assert.Equal(0UL, book.Head);
        Assert.Equal(h0, book.HeadHash);
    }

    [Fact]
    public void Undo_window_is_bounded_by_the_reorg_depth()
    {
        var book = new AccountBook(reorgDepth: 3);
        book.ApplyHistory([], 0);
        var parent = Keccak256.ComputeUtf8("b0");
        book.SetHeadHash(parent);
        for (ulong n = 1; n <= 10; n++)
        {
            var h = Keccak256.ComputeUtf8($"b{n}");
            book.ApplyBlock(n, h, parent, [L(n, 0, EngineLogs.Cash(EngineLogs.Account(1), (long)n), h)]);
            parent = h;
        }
        Assert.Equal(7UL, book.RollbackFloor);
        Assert.Null(book.HashAt(6));
        Assert.Throws<ReorgTooDeepException>(() => book.RollbackTo(6));
        book.RollbackTo(7);
        Assert.True(book.TryGetAccount(EngineLogs.Account(1), out var s));
        Assert.Equal((Int256)7, s.Cash);
    }
}
