using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Keeper.Oracle.Push;
using CrossMargin.Keeper.Planning;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CrossMargin.Keeper.Oracle;

/// <summary>Counters of an <see cref="AggregatorPriceGate"/>.</summary>
/// <param name="Checks">Distinct (oracle id, price, block) checks of configured assets.</param>
/// <param name="Blocked">Of those, blocked.</param>
/// <param name="Unknown">Checks of oracle ids no asset maps to.</param>
public readonly record struct PriceGateStats(long Checks, long Blocked, long Unknown);

/// <summary>
/// The keeper planner's <see cref="ILiquidationPriceGate"/> backed by the oracle bot: the hub oracle id of a price slot
/// maps to a configured asset, and the price the detector read from the hub is checked with the
/// <see cref="SanityGate"/> against the aggregator's latest round: blocked when the asset has no aggregate, is
/// Halted, its aggregate is stale, or the hub price lies outside the band; Healthy and Degraded assets pass within the
/// band.
/// </summary>
/// <remarks>
/// The planner asks once per position, so decisions are cached per oracle id for the same price, block and aggregator
/// round; a block raises the <c>crossmargin.oracle.liquidation_blocked</c> alert once per asset, block and reason, and the log
/// records changes of the verdict only. Oracle ids that no asset maps to (markets the bot does not price) are allowed,
/// with one warning per id, unless <c>blockUnknown</c> is set. Thread-safe.
/// </remarks>
public sealed partial class AggregatorPriceGate : ILiquidationPriceGate
{
    private readonly PriceAggregator _aggregator;
    private readonly SanityGate _sanity;
    private readonly IReadOnlyDictionary<Hash32, string> _assets;
    private readonly OracleMetrics _metrics;
    private readonly bool _blockUnknown;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly Dictionary<Hash32, Cached> _cache = [];
    private readonly Dictionary<string, SanityDecision> _last = new(StringComparer.Ordinal);
    private readonly HashSet<Hash32> _unknownLogged = [];
    private long _checks, _blocked, _unknown;

    private sealed record Cached(ulong Block, UInt256 Price, AggregatePrice? Round, SanityDecision Decision);

    /// <param name="aggregator">The oracle bot's aggregator (updated by its rounds).</param>
    /// <param name="assetsByOracleId">Hub oracle id to asset symbol.</param>
    /// <param name="metrics">Where blocked checks are counted.</param>
    /// <param name="blockUnknown">Block oracle ids that no asset maps to (default: allow them).</param>
    /// <param name="timeProvider">Clock of the staleness check.</param>
    /// <param name="logger">Logger.</param>
    public AggregatorPriceGate(PriceAggregator aggregator, IReadOnlyDictionary<Hash32, string> assetsByOracleId, OracleMetrics metrics,
        bool blockUnknown = false, TimeProvider? timeProvider = null, ILogger<AggregatorPriceGate>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(aggregator);
        ArgumentNullException.ThrowIfNull(assetsByOracleId);
        ArgumentNullException.ThrowIfNull(metrics);
        _aggregator = aggregator;
        _sanity = new SanityGate(aggregator, timeProvider);
        _assets = assetsByOracleId;
        _metrics = metrics;
        _blockUnknown = blockUnknown;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>Counters so far.</summary>
    public PriceGateStats Stats => new(Interlocked.Read(ref _checks), Interlocked.Read(ref _blocked), Interlocked.Read(ref _unknown));

    /// <summary>The latest decision for <paramref name="asset"/>, or null when it was never checked.</summary>
    public SanityDecision? LastDecision(string asset)
    {
        lock (_lock) return _last.TryGetValue(asset, out SanityDecision? d) ? d : null;
    }

    /// <inheritdoc />
    public bool Allows(Hash32 oracleId, UInt256 price, ulong block) => Check(oracleId, price, block)?.IsAllowed ?? !_blockUnknown;

    /// <summary>The decision for a hub price of <paramref name="oracleId"/> at <paramref name="block"/>; null for unknown oracle ids.</summary>
    public SanityDecision? Check(Hash32 oracleId, UInt256 price, ulong block)
    {
        if (!_assets.TryGetValue(oracleId, out string? asset))
        {
            Interlocked.Increment(ref _unknown);
            bool first;
            lock (_lock) first = _unknownLogged.Add(oracleId);
            if (first) LogUnknown(_logger, oracleId, _blockUnknown ? "blocked" : "not gated");
            return null;
        }
        AggregatePrice? round = _aggregator.Latest(asset); // a new record every round
        SanityDecision? previous;
        lock (_lock)
        {
            if (_cache.TryGetValue(oracleId, out Cached? c) && c.Block == block && c.Price == price && ReferenceEquals(c.Round, round)) return c.Decision;
            _last.TryGetValue(asset, out previous);
        }
        SanityDecision decision = _sanity.Check(asset, price);
        bool alert;
        lock (_lock)
        {
            // one alert per asset and block (and again when the reason changes within the block)
            alert = !_cache.TryGetValue(oracleId, out Cached? c) || c.Block != block
                || !(c.Decision is SanityDecision.Blocked cb && decision is SanityDecision.Blocked nb && cb.Reason == nb.Reason);
            _cache[oracleId] = new Cached(block, price, round, decision);
            _last[asset] = decision;
        }
        Interlocked.Increment(ref _checks);
        if (decision is SanityDecision.Blocked b)
        {
            Interlocked.Increment(ref _blocked);
            if (alert) _metrics.LiquidationBlocked(asset, b.Reason);
            if (previous is not SanityDecision.Blocked pb || pb.Reason != b.Reason) LogBlocked(_logger, asset, block, b.Reason, b.Detail);
        }
        else if (previous is SanityDecision.Blocked)
        {
            LogAllowedAgain(_logger, asset, block, ((SanityDecision.Allowed)decision).DeviationBps);
        }
        return decision;
    }

    [LoggerMessage(EventId = 3301, Level = LogLevel.Warning, Message = "Price gate: liquidations on {Asset} blocked from block {Block}: {Reason}: {Detail}")]
    private static partial void LogBlocked(ILogger logger, string asset, ulong block, SanityBlockReason reason, string detail);

    [LoggerMessage(EventId = 3302, Level = LogLevel.Information, Message = "Price gate: liquidations on {Asset} allowed again at block {Block} (hub price {DeviationBps} bps from the aggregate)")]
    private static partial void LogAllowedAgain(ILogger logger, string asset, ulong block, long deviationBps);

    [LoggerMessage(EventId = 3303, Level = LogLevel.Warning, Message = "Price gate: oracle id {OracleId} has no configured asset (Keeper:Oracle:Assets): liquidations priced by it are {Verdict}")]
    private static partial void LogUnknown(ILogger logger, Hash32 oracleId, string verdict);
}
