using System.Diagnostics;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Keeper.Indexing;
using CrossMargin.Keeper.Monitoring;
using CrossMargin.Risk;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CrossMargin.Keeper.Detection;

/// <summary>Reads of a block queued by <see cref="LiquidationDetector.QueueBlockReads"/> (prices, and funding when asked).</summary>
public sealed record PrefetchedReads(ulong At, Hash32[] PriceIds, Task<UInt256[]>? Prices, Task<FundingState[]>? Funding);

/// <summary>
/// Keeps a <see cref="RiskBook"/> in step with the indexed chain and reports, per block, the accounts the engine would
/// liquidate in the next block. Per block: one getPrices eth_call pinned to the block (all protocol oracles plus the
/// gas token's), funding re-read only when the indexer saw a funding change, then only the affected accounts are
/// recomputed: the changed ones (from the <see cref="AccountBook"/>) and those exposed to a moved price. Funding accrues
/// to the next block's estimated timestamp; while a market has a non-zero funding rate every block moves its index, so
/// its accounts are recomputed too (done as one sweep). A reorg reloads the whole book.
/// Not thread-safe: one caller (the keeper loop).
/// </summary>
public sealed partial class LiquidationDetector
{
    /// <summary>Accounts copied from the book at a time by a full load.</summary>
    private const int FullLoadChunk = 4096;

    private readonly IMarketDataReader _reader;
    private readonly AccountBook _book;
    private readonly DetectionOptions _options;
    private readonly ILogger _logger;
    private readonly Dictionary<Address, int> _ids = [];
    private readonly List<Address> _addresses = [];
    private readonly List<int> _scratch = [];
    private ProtocolConfig? _config;
    private RiskBook? _risk;
    private Hash32[] _priceIds = [];
    private UInt256[] _prices = [];
    private FundingState[] _funding = [];
    private UInt256 _nativePrice;
    private ulong? _lastBlock;
    private ulong _lastTimestamp;
    private ulong _interval;
    private ulong _contextTimestamp;
    private bool _reloadRequested;
    private (ulong Block, ulong At, Task<UInt256[]> Prices)? _prefetch;
    private (ulong Block, ulong At, Task<FundingState[]> Funding)? _prefetchFunding;

    public LiquidationDetector(IMarketDataReader reader, AccountBook book, DetectionOptions? options = null, ILogger<LiquidationDetector>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(book);
        _reader = reader;
        _book = book;
        _options = options ?? new DetectionOptions();
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _interval = _options.DefaultBlockTimeSeconds;
    }

    /// <summary>The protocol configuration (after the first block).</summary>
    public ProtocolConfig? Config => _config;

    /// <summary>The risk book (after the first block).</summary>
    public RiskBook? Risk => _risk;

    /// <summary>The last block processed.</summary>
    public ulong? LastBlock => _lastBlock;

    /// <summary>Estimated seconds between blocks.</summary>
    public ulong BlockInterval => _interval;

    /// <summary>Loads the protocol configuration now (at the latest block) when it is not loaded yet.</summary>
    public async Task<ProtocolConfig> EnsureConfigAsync(CancellationToken cancellationToken = default)
    {
        if (_config is { } loaded) return loaded;
        _config = await _reader.LoadConfigAsync(null, cancellationToken).ConfigureAwait(false);
        _priceIds = [.. _config.SlotOracles, _options.NativeOracleId];
        return _config;
    }

    /// <summary>Makes the next block reload every account (after an indexer resynchronisation).</summary>
    public void RequestFullReload() => _reloadRequested = true;

    /// <summary>The address of a book id.</summary>
    public Address AddressOf(int id) => _addresses[id];

    /// <summary>The risk model's copy of an account, or null when unknown.</summary>
    public AccountState? StateOf(Address account) =>
        _risk is not null && _ids.TryGetValue(account, out int id) && _risk.Contains(id) ? _risk.GetAccount(id) : null;

    /// <summary>Every tracked account with its id.</summary>
    public IEnumerable<(Address Account, int Id)> Accounts()
    {
        for (int i = 0; i < _addresses.Count; i++)
        {
            if (_risk is not null && _risk.Contains(i)) yield return (_addresses[i], i);
        }
    }

    /// <summary>
    /// Queues the block's price read in <paramref name="batch"/> (sent by the caller with the block's other reads) for
    /// the next <see cref="ProcessAsync"/> of that block. Null when the block needs a full load (first block, reorg).
    /// </summary>
    public Task<UInt256[]>? QueuePrices(IRpcBatch batch, BlockProcessed block)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(block);
        _prefetch = null;
        _prefetchFunding = null;
        if (_config is null || _risk is null || block.ReorgAncestor is not null || _reloadRequested) return null;
        ulong at = ReadBlockFor(block);
        Task<UInt256[]>? prices = _reader.QueuePrices(batch, _priceIds, at);
        if (prices is not null) _prefetch = (block.Number, at, prices);
        return prices;
    }

    /// <summary>
    /// The block's reads queued in <paramref name="batch"/> ahead of its notification (with the indexer's read of its
    /// logs), to be handed to <see cref="UsePrefetched"/>: the prices at <paramref name="block"/>, and the funding state
    /// when <paramref name="withFunding"/>. Safe to call from another thread than the keeper loop (it only reads the
    /// loaded configuration). Null when the configuration is not loaded yet.
    /// </summary>
    public PrefetchedReads? QueueBlockReads(IRpcBatch batch, ulong block, bool withFunding)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ProtocolConfig? config = Volatile.Read(ref _config);
        Hash32[] ids = Volatile.Read(ref _priceIds);
        if (config is null || ids.Length == 0) return null;
        return new PrefetchedReads(block, ids, _reader.QueuePrices(batch, ids, block),
            withFunding ? _reader.QueueFunding(batch, config.Risk.MarketCount, block) : null);
    }

    /// <summary>
    /// Reads made with <see cref="QueueBlockReads"/>: the next <see cref="ProcessAsync"/> of <paramref name="block"/> uses
    /// them when they were made at the block it reads with the current configuration (otherwise, or when a part failed,
    /// it reads on its own).
    /// </summary>
    public void UsePrefetched(BlockProcessed block, PrefetchedReads reads)
    {
        ArgumentNullException.ThrowIfNull(block);
        ArgumentNullException.ThrowIfNull(reads);
        _prefetch = null;
        _prefetchFunding = null;
        if (_config is null || _risk is null || block.ReorgAncestor is not null || _reloadRequested
            || reads.At != ReadBlockFor(block) || !ReferenceEquals(reads.PriceIds, _priceIds)) return;
        if (reads.Prices is { } prices) _prefetch = (block.Number, reads.At, prices);
        if (reads.Funding is { } funding) _prefetchFunding = (block.Number, reads.At, funding);
    }

    private ulong ReadBlockFor(BlockProcessed block) => _book.Head is { } head && head > block.Number ? head : block.Number;

    /// <summary>Processes one indexed block (the first call, and any reorg, loads everything).</summary>
    public async Task<DetectionResult> ProcessAsync(BlockProcessed block, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(block);
        long started = Stopwatch.GetTimestamp();
        if (_lastBlock is { } last && block.Number == last + 1 && block.Timestamp > _lastTimestamp)
        {
            _interval = Math.Clamp(block.Timestamp - _lastTimestamp, 1, _options.MaxBlockTimeSeconds);
        }
        ulong next = block.Timestamp + _interval;

        bool full = _config is null || _risk is null || block.ReorgAncestor is not null || _reloadRequested;
        _reloadRequested = false;
        if (_config is null)
        {
            // latest: the indexer may already hold accounts in assets or markets added after this block
            _config = await _reader.LoadConfigAsync(null, cancellationToken).ConfigureAwait(false);
            _priceIds = [.. _config.SlotOracles, _options.NativeOracleId];
        }
        RiskConfig cfg = _config.Risk;
        // Reads are pinned to this block; when the indexer is already further (a backlog of notifications), to its head,
        // because the account states taken from the book are the head's.
        ulong at = ReadBlockFor(block);
        Activity? tick = KeeperTracing.Start(KeeperTracing.PriceTick);
        tick?.SetTag("block.number", at);
        UInt256[]? read = null;
        if (_prefetch is { } p && p.Block == block.Number && p.At == at)
        {
            try
            {
                read = await p.Prices.ConfigureAwait(false);
            }
            catch (RpcClientException)
            {
                read = null; // the batch failed as a whole: read on our own
            }
        }
        _prefetch = null;
        read ??= await _reader.ReadPricesAsync(_priceIds, at, cancellationToken).ConfigureAwait(false);
        tick?.Dispose();
        UInt256[] prices = read.AsSpan(0, cfg.PriceSlotCount).ToArray();
        _nativePrice = read[^1];
        FundingState[]? fundingRead = null;
        if (_prefetchFunding is { } pf && pf.Block == block.Number && pf.At == at && (full || block.FundingChanged))
        {
            try
            {
                fundingRead = await pf.Funding.ConfigureAwait(false);
                if (fundingRead.Length != cfg.MarketCount) fundingRead = null;
            }
            catch (RpcClientException)
            {
                fundingRead = null; // read on our own
            }
        }
        _prefetchFunding = null;
        if (full || block.FundingChanged)
        {
            _funding = fundingRead ?? await _reader.ReadFundingAsync(cfg.MarketCount, at, cancellationToken).ConfigureAwait(false);
        }

        int recomputed = 0, moved = 0;
        for (int s = 0; s < prices.Length; s++) if (_prices.Length != prices.Length || _prices[s] != prices[s]) moved++;
        bool accruing = false;
        foreach (var f in _funding) accruing |= !f.RatePerSecond.IsZero;

        if (full)
        {
            int count = _book.AccountCount;
            _risk = RiskBook.ForConfig(cfg, Math.Max(16, count + (count / 8)));
            // in chunks: copies of every account at once would double the book's memory for the length of the load
            Address[] all = _book.Accounts();
            for (int i = 0; i < all.Length; i += FullLoadChunk)
            {
                var chunk = new ArraySegment<Address>(all, i, Math.Min(FullLoadChunk, all.Length - i));
                foreach (var snapshot in _book.GetAccounts(chunk)) _risk.SetAccount(IdOf(snapshot.Account), Convert(snapshot, cfg));
            }
            _risk.SetMarketState(prices, _funding, next);
            recomputed = _book.AccountCount;
            _contextTimestamp = next;
        }
        else
        {
            RiskBook risk = _risk!;
            if (block.FundingChanged)
            {
                risk.SetMarketState(prices, _funding, next);
                recomputed = _addresses.Count;
                _contextTimestamp = next;
            }
            else
            {
                if (accruing && next != _contextTimestamp)
                {
                    recomputed += risk.SetTimestamp(next); // only the accounts in markets whose index moves
                    _contextTimestamp = next;
                }
                for (int s = 0; s < prices.Length; s++)
                {
                    if (_prices[s] != prices[s]) recomputed += risk.UpdatePrice(s, prices[s]);
                }
            }
            if (block.ChangedAccounts.Count > 0)
            {
                var snapshots = _book.GetAccounts(block.ChangedAccounts);
                var present = new HashSet<Address>();
                foreach (var snapshot in snapshots)
                {
                    present.Add(snapshot.Account);
                    risk.SetAccount(IdOf(snapshot.Account), Convert(snapshot, cfg));
                    recomputed++;
                }
                foreach (Address a in block.ChangedAccounts)
                {
                    if (!present.Contains(a) && _ids.TryGetValue(a, out int id)) risk.RemoveAccount(id);
                }
            }
        }
        _prices = prices;
        _lastBlock = block.Number;
        _lastTimestamp = block.Timestamp;

        var result = new DetectionResult(at, block.Timestamp, next, _risk!.Context!, _nativePrice, Collect(), recomputed, moved, full);
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            double ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            LogDetected(_logger, block.Number, result.Liquidatable.Count, recomputed, moved, full, ms);
        }
        return result;
    }

    /// <summary>An account refers to an asset or market the configuration does not have: reload everything next block.</summary>
    private AccountState Convert(AccountSnapshot snapshot, RiskConfig cfg)
    {
        try
        {
            return ToModel(snapshot, cfg);
        }
        catch (InvalidOperationException)
        {
            _config = null;
            throw;
        }
    }

    private List<LiquidationCandidate> Collect()
    {
        RiskBook risk = _risk!;
        _scratch.Clear();
        risk.Liquidatable(_scratch);
        var list = new List<LiquidationCandidate>(_scratch.Count);
        int unpriceable = 0;
        Address first = default;
        foreach (int id in _scratch)
        {
            AccountStatus status = risk.StatusOf(id);
            if (status == AccountStatus.Reverts)
            {
                if (unpriceable++ == 0) first = _addresses[id];
                continue;
            }
            Health h = risk.HealthOf(id);
            if (!h.IsLiquidatable) continue;
            list.Add(new LiquidationCandidate(_addresses[id], id, h, h.MaintenanceShortfall, status));
        }
        if (unpriceable > 0) LogUnpriceable(_logger, unpriceable, first);
        list.Sort(static (a, b) =>
        {
            int c = b.Shortfall.CompareTo(a.Shortfall);
            return c != 0 ? c : a.Account.CompareTo(b.Account);
        });
        return list;
    }

    private int IdOf(Address account)
    {
        if (!_ids.TryGetValue(account, out int id))
        {
            id = _addresses.Count;
            _ids[account] = id;
            _addresses.Add(account);
        }
        return id;
    }

    /// <summary>Converts an indexed account into the risk model (entries beyond the configuration must be zero).</summary>
    public static AccountState ToModel(AccountSnapshot snapshot, RiskConfig config)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(config);
        var s = new AccountState(config) { Cash = snapshot.Cash };
        for (int i = 1; i < snapshot.Collateral.Count; i++)
        {
            if (snapshot.Collateral[i].IsZero) continue;
            if (i >= config.AssetCount) throw new InvalidOperationException($"account {snapshot.Account}: collateral in unknown asset {i}");
            s.Collateral[i] = snapshot.Collateral[i];
        }
        for (int m = 0; m < snapshot.Positions.Count; m++)
        {
            PositionEntry p = snapshot.Positions[m];
            if (!p.IsOpen) continue;
            if (m >= config.MarketCount) throw new InvalidOperationException($"account {snapshot.Account}: position in unknown market {m}");
            s.Positions[m] = new Position(p.Size, p.OpenNotional, p.FundingSnapshot);
        }
        return s;
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Debug,
        Message = "Block {Block}: {Liquidatable} liquidatable, {Recomputed} recomputed, {MovedSlots} prices moved, full {Full}, {Milliseconds:F2} ms")]
    private static partial void LogDetected(ILogger logger, ulong block, int liquidatable, int recomputed, int movedSlots, bool full, double milliseconds);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "{Count} accounts (first {Account}): health cannot be computed (a price is missing or stale, or the math overflows)")]
    private static partial void LogUnpriceable(ILogger logger, int count, Address account);
}
