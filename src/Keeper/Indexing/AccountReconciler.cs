using CrossMargin.Contracts;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Contracts;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CrossMargin.Keeper.Indexing;

/// <summary>Reads engine storage for reconciliation, every read of one call pinned to one block number.</summary>
public interface IEngineStateReader
{
    /// <summary>accountState of each account at <paramref name="block"/>; null where that call failed (e.g. a revert).</summary>
    Task<CrossMarginEngine.AccountStateData?[]> ReadAccountsAsync(IReadOnlyList<Address> accounts, ulong block, CancellationToken cancellationToken = default);

    /// <summary>getMarket(0..count-1) at <paramref name="block"/>.</summary>
    Task<CrossMarginEngine.Market[]> ReadMarketsAsync(int count, ulong block, CancellationToken cancellationToken = default);
}

/// <summary>
/// <see cref="IEngineStateReader"/> over JSON-RPC batches: up to <c>batchSize</c> eth_calls per POST, all at the same
/// block number.
/// </summary>
public sealed class RpcEngineStateReader : IEngineStateReader
{
    private readonly JsonRpcClient _rpc;
    private readonly CrossMarginEngine _engine;
    private readonly int _batchSize;

    public RpcEngineStateReader(JsonRpcClient rpc, Address engine, int batchSize = 100)
    {
        ArgumentNullException.ThrowIfNull(rpc);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        _rpc = rpc;
        _engine = new CrossMarginEngine(engine);
        _batchSize = batchSize;
    }

    public async Task<CrossMarginEngine.AccountStateData?[]> ReadAccountsAsync(IReadOnlyList<Address> accounts, ulong block, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(accounts);
        var result = new CrossMarginEngine.AccountStateData?[accounts.Count];
        var tag = BlockTag.Number(block);
        for (int start = 0; start < accounts.Count; start += _batchSize)
        {
            int n = Math.Min(_batchSize, accounts.Count - start);
            var batch = _rpc.CreateBatch();
            var tasks = new Task<CrossMarginEngine.AccountStateData>[n];
            for (int i = 0; i < n; i++) tasks[i] = batch.Add(_engine.AccountState(accounts[start + i]), tag);
            await batch.SendAsync(cancellationToken).ConfigureAwait(false);
            for (int i = 0; i < n; i++)
            {
                try
                {
                    result[start + i] = await tasks[i].ConfigureAwait(false);
                }
                catch (RpcException ex) when (ex.IsExecutionReverted)
                {
                    result[start + i] = null;
                }
            }
        }
        return result;
    }

    public async Task<CrossMarginEngine.Market[]> ReadMarketsAsync(int count, ulong block, CancellationToken cancellationToken = default)
    {
        if (count == 0) return [];
        var batch = _rpc.CreateBatch();
        var tasks = new Task<CrossMarginEngine.Market>[count];
        for (int i = 0; i < count; i++) tasks[i] = batch.Add(_engine.GetMarket((UInt256)(ulong)i), BlockTag.Number(block));
        await batch.SendAsync(cancellationToken).ConfigureAwait(false);
        return await Task.WhenAll(tasks).ConfigureAwait(false);
    }
}

/// <summary>Outcome of one reconciliation.</summary>
/// <param name="Block">The block every read was pinned to.</param>
/// <param name="Checked">Accounts compared.</param>
/// <param name="Mismatched">Accounts whose book state differed from storage (and were corrected).</param>
/// <param name="Unreadable">Accounts whose accountState call failed (not compared).</param>
/// <param name="MarketMismatches">Markets whose funding state differed (and were corrected).</param>
/// <param name="Discarded">True when the block was reorganised away during the reads: nothing was corrected.</param>
public sealed record ReconcileResult(ulong Block, int Checked, int Mismatched, int Unreadable, int MarketMismatches, bool Discarded);

/// <summary>
/// Compares the book with engine storage read at the book's head block and corrects the differences. Reads are
/// pinned to one block number; afterwards the block's hash is checked again so that a reorg during the reads
/// discards the results instead of "correcting" the book with another fork's state.
/// </summary>
public sealed partial class AccountReconciler
{
    private readonly IEngineStateReader _reader;
    private readonly IEthClient _eth;
    private readonly ILogger _logger;
    private long _runs, _mismatches;

    public AccountReconciler(IEngineStateReader reader, IEthClient eth, ILogger<AccountReconciler>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(eth);
        _reader = reader;
        _eth = eth;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    public long Runs => Interlocked.Read(ref _runs);

    /// <summary>Mismatched accounts and markets over all runs.</summary>
    public long TotalMismatches => Interlocked.Read(ref _mismatches);

    /// <summary>
    /// Reconciles every known account and every market at the book's head. The caller must not apply blocks to the
    /// book meanwhile (the indexer runs this between blocks).
    /// </summary>
    public async Task<ReconcileResult> ReconcileAsync(AccountBook book, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(book);
        if (book.Head is not { } block) return new ReconcileResult(0, 0, 0, 0, 0, true);
        Hash32? hash = book.HeadHash;
        var accounts = book.Accounts();
        var states = await _reader.ReadAccountsAsync(accounts, block, cancellationToken).ConfigureAwait(false);
        var markets = await _reader.ReadMarketsAsync(book.MarketCount, block, cancellationToken).ConfigureAwait(false);
        if (hash is { } h)
        {
            var header = await _eth.GetBlockByNumberAsync(BlockTag.Number(block), cancellationToken).ConfigureAwait(false);
            if (header is null || header.Hash != h || book.Head != block)
            {
                Log.Discarded(_logger, block);
                return new ReconcileResult(block, 0, 0, 0, 0, true);
            }
        }

        int mismatched = 0, unreadable = 0, marketMismatches = 0;
        for (int i = 0; i < accounts.Length; i++)
        {
            if (states[i] is not { } s) { unreadable++; continue; }
            if (!book.TryGetAccount(accounts[i], out var mine)) continue;
            var chain = ToSnapshot(accounts[i], s, mine.Positions.Count);
            if (mine.SameState(chain, ignoreClosedPositions: true)) continue;
            mismatched++;
            Log.AccountMismatch(_logger, accounts[i], block, mine.ToString(), chain.ToString());
            var positions = chain.Positions.Index().Where(p => p.Item.IsOpen).Select(p => (p.Index, p.Item)).ToArray();
            book.Correct(accounts[i], s.Cash, [.. s.Collateral], positions);
        }
        var funding = book.Funding();
        for (int m = 0; m < markets.Length; m++)
        {
            var mk = markets[m];
            var chain = new MarketFunding(mk.FundingIndex, mk.FundingRatePerSecond, mk.LastFundingTime);
            if (m < funding.Length && funding[m] == chain) continue;
            marketMismatches++;
            Log.MarketMismatch(_logger, m, block, m < funding.Length ? funding[m].ToString() : "none", chain.ToString());
            book.CorrectFunding(m, chain);
        }
        Interlocked.Increment(ref _runs);
        Interlocked.Add(ref _mismatches, mismatched + marketMismatches);
        Log.Reconciled(_logger, block, accounts.Length, mismatched, unreadable, marketMismatches);
        return new ReconcileResult(block, accounts.Length, mismatched, unreadable, marketMismatches, false);
    }

    /// <summary>The account state of an accountState answer in the book's shape.</summary>
    public static AccountSnapshot ToSnapshot(Address account, CrossMarginEngine.AccountStateData state, int marketCount = 0)
    {
        ArgumentNullException.ThrowIfNull(state);
        var collateral = state.Collateral.Length == 0 ? new UInt256[1] : (UInt256[])state.Collateral.Clone();
        int nm = marketCount;
        foreach (var p in state.Positions) nm = Math.Max(nm, checked((int)(ulong)p.MarketId) + 1);
        var positions = new PositionEntry[nm];
        foreach (var p in state.Positions)
            positions[(int)(ulong)p.MarketId] = new PositionEntry(p.Size, p.OpenNotional, p.FundingSnapshot);
        return new AccountSnapshot(account, state.Cash, collateral, positions);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4101, Level = LogLevel.Warning, Message = "Reconciliation: account {Account} differs at block {Block}; book {Book}, chain {Chain}; corrected")]
        public static partial void AccountMismatch(ILogger logger, Address account, ulong block, string book, string chain);

        [LoggerMessage(EventId = 4102, Level = LogLevel.Warning, Message = "Reconciliation: market {Market} funding differs at block {Block}; book {Book}, chain {Chain}; corrected")]
        public static partial void MarketMismatch(ILogger logger, int market, ulong block, string book, string chain);

        [LoggerMessage(EventId = 4103, Level = LogLevel.Information, Message = "Reconciled block {Block}: {Accounts} accounts, {Mismatched} corrected, {Unreadable} unreadable, {Markets} markets corrected")]
        public static partial void Reconciled(ILogger logger, ulong block, int accounts, int mismatched, int unreadable, int markets);

        [LoggerMessage(EventId = 4104, Level = LogLevel.Information, Message = "Reconciliation at block {Block} discarded: the block was reorganised away during the reads")]
        public static partial void Discarded(ILogger logger, ulong block);
    }
}
