using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Keeper.Indexing;
using E = CrossMargin.Contracts.CrossMarginEngine;

namespace CrossMargin.Keeper.Tests.Indexing;

/// <summary>Serves accountState / getMarket from a book replayed from the fake chain (the "storage").</summary>
internal sealed class ReplayStateReader(FakeChain chain) : IEngineStateReader
{
    public List<ulong> Blocks { get; } = [];
    public HashSet<Address> Reverting { get; } = [];
    public Action? DuringRead { get; set; }

    private AccountBook Replay(ulong block)
    {
        var book = new AccountBook();
        book.ApplyHistory(chain.AllLogs().Where(l => l.BlockNumber <= block).ToList(), block);
        return book;
    }

    public Task<E.AccountStateData?[]> ReadAccountsAsync(IReadOnlyList<Address> accounts, ulong block, CancellationToken cancellationToken = default)
    {
        Blocks.Add(block);
        var truth = Replay(block);
        DuringRead?.Invoke();
        var result = new E.AccountStateData?[accounts.Count];
        for (int i = 0; i < accounts.Count; i++)
        {
            if (Reverting.Contains(accounts[i])) continue;
            if (!truth.TryGetAccount(accounts[i], out var s))
            {
                result[i] = new E.AccountStateData(default, new UInt256[truth.AssetCount], [], default, default, default, default);
                continue;
            }
            var positions = s.Positions.Index().Where(p => p.Item.IsOpen)
                .Select(p => new E.PositionState((ulong)p.Index, p.Item.Size, p.Item.OpenNotional, p.Item.FundingSnapshot, 1, 2)).ToArray();
            result[i] = new E.AccountStateData(s.Cash, [.. s.Collateral], positions, 5, 6, 7, 8);
        }
        return Task.FromResult(result);
    }

    public Task<E.Market[]> ReadMarketsAsync(int count, ulong block, CancellationToken cancellationToken = default)
    {
        Blocks.Add(block);
        var funding = Replay(block).Funding();
        return Task.FromResult(Enumerable.Range(0, count).Select(m =>
        {
            var f = m < funding.Length ? funding[m] : default;
            return new E.Market(default, 0, 0, 0, 0, 0, 0, 0, 0, UInt256.Zero, f.RatePerSecond, f.Index, f.LastUpdateTime);
        }).ToArray());
    }
}

public sealed class AccountReconcilerTests
{
    [Fact]
    public async Task Reconciliation_counts_and_corrects_a_corrupted_account_and_market()
    {
        var rng = new Random(801);
        var chain = ChainIndexerTests.Chain(rng, 801, 80);
        var indexer = new ChainIndexer(chain, ChainIndexerTests.Options());
        await indexer.SyncAsync(chain.Head);
        var reader = new ReplayStateReader(chain);
        var reconciler = new AccountReconciler(reader, chain);

        var clean = await reconciler.ReconcileAsync(indexer.Book);
        Assert.Equal(0, clean.Mismatched);
        Assert.Equal(0, clean.MarketMismatches);
        Assert.Equal(indexer.Book.AccountCount, clean.Checked);

        var victim = indexer.Book.Accounts()[3];
        var other = indexer.Book.Accounts()[5];
        indexer.Book.Correct(victim, 123_456, [UInt256.Zero, (UInt256)999UL], [(2, new PositionEntry(5, 6, 7))]);
        indexer.Book.Correct(other, 1, [], []);
        indexer.Book.CorrectFunding(1, new MarketFunding(42, 42, 42));
        BookAssertNotEqual(chain, indexer.Book);

        var result = await reconciler.ReconcileAsync(indexer.Book);
        Assert.False(result.Discarded);
        Assert.Equal(2, result.Mismatched);
        Assert.Equal(1, result.MarketMismatches);
        Assert.Equal(3, reconciler.TotalMismatches);
        Assert.All(reader.Blocks, b => Assert.Equal(chain.Head, b)); // every read pinned to the book's head
        BookAssert.Equal(BookAssert.Replay(chain), indexer.Book, "after reconciliation", ignoreClosedPositions: true);
    }

    [Fact]
    public async Task Reverting_reads_are_unreadable_not_mismatches()
    {
        var rng = new Random(802);
        var chain = ChainIndexerTests.Chain(rng, 802, 40);
        var indexer = new ChainIndexer(chain, ChainIndexerTests.Options());
        await indexer.SyncAsync(chain.Head);
        var reader = new ReplayStateReader(chain);
        reader.Reverting.Add(indexer.Book.Accounts()[0]);
        var result = await new AccountReconciler(reader, chain).ReconcileAsync(indexer.Book);
        Assert.Equal(1, result.Unreadable);
        Assert.Equal(0, result.Mismatched);
    }

    [Fact]
    public async Task A_reorg_during_the_reads_discards_the_results()
    {
        var rng = new Random(803);
        var chain = ChainIndexerTests.Chain(rng, 803, 40);
        var indexer = new ChainIndexer(chain, ChainIndexerTests.Options());
        await indexer.SyncAsync(chain.Head);
        var victim = indexer.Book.Accounts()[0];
        indexer.Book.Correct(victim, 31337, [], []);
        var reader = new ReplayStateReader(chain) { DuringRead = () => chain.Reorg(1, [EngineLogs.RandomEvents(rng, 25, 5)]) };
        var result = await new AccountReconciler(reader, chain).ReconcileAsync(indexer.Book);
        Assert.True(result.Discarded);
        Assert.True(indexer.Book.TryGetAccount(victim, out var s));
        Assert.Equal((Int256)31337, s.Cash); // nothing was "corrected" with the other fork's state
    }

    [Fact]
    public async Task The_indexer_reconciles_on_its_cadence()
    {
        var rng = new Random(804);
        var chain = ChainIndexerTests.Chain(rng, 804, 40);
        var opts = ChainIndexerTests.Options();
        opts.ReconcileEveryBlocks = 5;
        var reader = new ReplayStateReader(chain);
        var indexer = new ChainIndexer(chain, opts, reconciler: new AccountReconciler(reader, chain));
        await indexer.SyncAsync(chain.Head);
        indexer.Book.Correct(indexer.Book.Accounts()[1], 99, [], []);
        for (int i = 0; i < 12; i++)
        {
            chain.Mine(EngineLogs.RandomEvents(rng, 25, 5));
            await indexer.OnNewHeadAsync(chain.HeaderAt(chain.Head));
        }
        Assert.True(indexer.Stats.Reconciliations >= 2);
        BookAssert.Equal(BookAssert.Replay(chain), indexer.Book, "cadence", ignoreClosedPositions: true);
    }

    private static void BookAssertNotEqual(FakeChain chain, AccountBook book) =>
        Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => BookAssert.Equal(BookAssert.Replay(chain), book, "corrupted"));
}
