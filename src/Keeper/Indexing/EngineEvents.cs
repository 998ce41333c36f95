using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using E = CrossMargin.Contracts.CrossMarginEngine;

namespace CrossMargin.Keeper.Indexing;

/// <summary>What a decoded engine log does to the book. Every event carries absolute values (protocol §7.7).</summary>
public enum BookEventKind : byte
{
    CollateralUpdated,
    CashUpdated,
    PositionUpdated,
    FundingIndexUpdated,
    AssetAdded,
    MarketAdded,
    VaultCashUpdated,
    InsuranceFundUpdated,
    VaultPositionUpdated,
    PauseChanged,
}

/// <summary>
/// One decoded engine event, flattened into a value type: <see cref="Account"/>, <see cref="Id"/> (asset or market),
/// and up to three signed/unsigned words whose meaning depends on <see cref="Kind"/>.
/// </summary>
public readonly record struct BookEvent(BookEventKind Kind, Address Account, int Id, Int256 A, Int256 B, Int256 C, UInt256 U, ulong Time);

/// <summary>Topic filter and decoding of the engine events the book needs.</summary>
public static class EngineEvents
{
    /// <summary>Highest asset / market count the engine allows.</summary>
    public const int MaxIds = 64;

    /// <summary>topic0 of every event the book applies (the OR-list of an eth_getLogs filter).</summary>
    public static IReadOnlyList<Hash32> BookTopics { get; } =
    [
        E.CollateralUpdatedEvent.Topic0,
        E.CashUpdatedEvent.Topic0,
        E.PositionUpdatedEvent.Topic0,
        E.FundingIndexUpdatedEvent.Topic0,
        E.AssetAddedEvent.Topic0,
        E.MarketAddedEvent.Topic0,
        E.VaultCashUpdatedEvent.Topic0,
        E.InsuranceFundUpdatedEvent.Topic0,
        E.VaultPositionUpdatedEvent.Topic0,
        E.PauseChangedEvent.Topic0,
    ];

    private static readonly HashSet<Hash32> s_topics = [.. BookTopics];

    /// <summary>True when topic0 of the log is one of <see cref="BookTopics"/>.</summary>
    public static bool IsBookTopic(LogEntry log) => log.Topics.Count > 0 && s_topics.Contains(log.Topics[0]);

    /// <summary>The eth_getLogs filter of the book's events on <paramref name="engine"/> for a block range.</summary>
    public static LogFilter RangeFilter(Address engine, ulong from, ulong to) => new()
    {
        FromBlock = BlockTag.Number(from),
        ToBlock = BlockTag.Number(to),
        Addresses = [engine],
        Topics = [BookTopics],
    };

    /// <summary>The eth_getLogs filter of the book's events on <paramref name="engine"/> in one block (by hash, EIP-234).</summary>
    public static LogFilter BlockFilter(Address engine, Hash32 blockHash) => new()
    {
        BlockHash = blockHash,
        Addresses = [engine],
        Topics = [BookTopics],
    };

    /// <summary>
    /// Decodes a log into a <see cref="BookEvent"/>. False for logs of other events, malformed data and ids out of
    /// the engine's range (0..63).
    /// </summary>
    public static bool TryDecode(LogEntry log, out BookEvent ev)
    {
        ArgumentNullException.ThrowIfNull(log);
        ev = default;
        if (log.Topics.Count == 0) return false;
        var topics = log.Topics;
        var data = log.Data;
        Hash32 t0 = topics[0];
        try
        {
            if (t0 == E.CashUpdatedEvent.Topic0)
            {
                if (!E.CashUpdatedEvent.TryDecode(topics, data, out var e)) return false;
                ev = new BookEvent(BookEventKind.CashUpdated, e.Account, 0, e.NewCash, default, default, default, 0);
                return true;
            }
            if (t0 == E.PositionUpdatedEvent.Topic0)
            {
                if (!E.PositionUpdatedEvent.TryDecode(topics, data, out var e) || !TryId(e.MarketId, out int m)) return false;
                ev = new BookEvent(BookEventKind.PositionUpdated, e.Account, m, e.Size, e.OpenNotional, e.FundingSnapshot, default, 0);
                return true;
            }
            if (t0 == E.CollateralUpdatedEvent.Topic0)
            {
                if (!E.CollateralUpdatedEvent.TryDecode(topics, data, out var e) || !TryId(e.AssetId, out int a) || a == 0) return false;
                ev = new BookEvent(BookEventKind.CollateralUpdated, e.Account, a, default, default, default, e.NewBalance, 0);
                return true;
            }
            if (t0 == E.FundingIndexUpdatedEvent.Topic0)
            {
                if (!E.FundingIndexUpdatedEvent.TryDecode(topics, data, out var e) || !TryId(e.MarketId, out int m) || e.Timestamp.BitLength > 64) return false;
                ev = new BookEvent(BookEventKind.FundingIndexUpdated, default, m, e.Index, e.RatePerSecond, default, default, (ulong)e.Timestamp);
                return true;
            }
            if (t0 == E.VaultPositionUpdatedEvent.Topic0)
            {
                if (!E.VaultPositionUpdatedEvent.TryDecode(topics, data, out var e) || !TryId(e.MarketId, out int m)) return false;
                ev = new BookEvent(BookEventKind.VaultPositionUpdated, default, m, e.Size, e.OpenNotional, default, default, 0);
                return true;
            }
            if (t0 == E.VaultCashUpdatedEvent.Topic0)
            {
                if (!E.VaultCashUpdatedEvent.TryDecode(topics, data, out var e)) return false;
                ev = new BookEvent(BookEventKind.VaultCashUpdated, default, 0, e.NewCash, default, default, default, 0);
                return true;
            }
            if (t0 == E.InsuranceFundUpdatedEvent.Topic0)
            {
                if (!E.InsuranceFundUpdatedEvent.TryDecode(topics, data, out var e)) return false;
                ev = new BookEvent(BookEventKind.InsuranceFundUpdated, default, 0, default, default, default, e.NewBalance, 0);
                return true;
            }
            if (t0 == E.AssetAddedEvent.Topic0)
            {
                if (!E.AssetAddedEvent.TryDecode(topics, data, out var e) || !TryId(e.AssetId, out int a)) return false;
                ev = new BookEvent(BookEventKind.AssetAdded, default, a, default, default, default, default, 0);
                return true;
            }
            if (t0 == E.MarketAddedEvent.Topic0)
            {
                if (!E.MarketAddedEvent.TryDecode(topics, data, out var e) || !TryId(e.MarketId, out int m)) return false;
                ev = new BookEvent(BookEventKind.MarketAdded, default, m, default, default, default, default, 0);
                return true;
            }
            if (t0 == E.PauseChangedEvent.Topic0)
            {
                if (!E.PauseChangedEvent.TryDecode(topics, data, out var e)) return false;
                ev = new BookEvent(BookEventKind.PauseChanged, default, 0, e.Paused ? Int256.One : Int256.Zero, default, default, default, 0);
                return true;
            }
        }
        catch (Ethereum.Abi.AbiDecodingException)
        {
            return false;
        }
        return false;
    }

    private static bool TryId(UInt256 id, out int value)
    {
        value = (int)(ulong)id;
        return id < (UInt256)(ulong)MaxIds;
    }
}
