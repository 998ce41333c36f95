using CrossMargin.Ethereum;

namespace CrossMargin.Keeper.Oracle.Push;

/// <summary>How one asset is pushed on chain.</summary>
public sealed class AssetPushConfig
{
    /// <summary>Asset symbol as the aggregator names it (e.g. "ETH").</summary>
    public required string Asset { get; init; }

    /// <summary>The asset's KeeperPriceFeed (written through <c>OracleHub.pushPrices</c>).</summary>
    public required Address Feed { get; init; }

    /// <summary>Decimals of the feed's answers (KeeperPriceFeed: 8).</summary>
    public byte FeedDecimals { get; init; } = 8;

    /// <summary>Pyth price id of the asset on the on-chain Pyth contract; null when Pyth is not pushed for it.</summary>
    public Hash32? PythPriceId { get; init; }

    /// <summary>Push when |aggregate − on-chain| / on-chain reaches this (basis points). Default 50 (0.5 %).</summary>
    public long DeviationBps { get; init; } = 50;

    /// <summary>
    /// When another asset's push goes out anyway, this asset rides along in the same transaction once its deviation
    /// reaches this (basis points; below <see cref="DeviationBps"/>). Default 25 (0.25 %).
    /// </summary>
    public long EarlyBps { get; init; } = 25;

    /// <summary>Push when the on-chain round is at least this old. Default 60 s.</summary>
    public TimeSpan Heartbeat { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Throws on inconsistent settings.</summary>
    public void Validate()
    {
        if (string.IsNullOrEmpty(Asset)) throw new ArgumentException("Asset is required.", nameof(Asset));
        if (Feed.IsZero) throw new ArgumentException($"{Asset}: feed address is zero.", nameof(Feed));
        if (FeedDecimals > 36) throw new ArgumentOutOfRangeException(nameof(FeedDecimals), $"{Asset}: feed decimals must be at most 36.");
        if (DeviationBps <= 0) throw new ArgumentOutOfRangeException(nameof(DeviationBps), $"{Asset}: deviation threshold must be positive.");
        if (EarlyBps <= 0 || EarlyBps > DeviationBps)
            throw new ArgumentOutOfRangeException(nameof(EarlyBps), $"{Asset}: early threshold must be in (0, {DeviationBps}] bps.");
        if (Heartbeat <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(Heartbeat), $"{Asset}: heartbeat must be positive.");
    }
}

/// <summary>Settings of an <see cref="OraclePusher"/>.</summary>
public sealed class OraclePusherOptions
{
    /// <summary>Assets to push.</summary>
    public List<AssetPushConfig> Assets { get; } = [];

    /// <summary>Round interval of the timer started by <see cref="OraclePusher.Start"/>. Default 5 s.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Pyth pushes: deviation of the Hermes price from the on-chain Pyth price that triggers an update (bps). Default 50.</summary>
    public long PythDeviationBps { get; set; } = 50;

    /// <summary>Pyth pushes: on-chain Pyth publish age that triggers an update. Default 60 s.</summary>
    public TimeSpan PythHeartbeat { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Throws on inconsistent settings.</summary>
    public void Validate()
    {
        if (Assets.Count == 0) throw new ArgumentException("At least one asset is required.", nameof(Assets));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (AssetPushConfig a in Assets)
        {
            ArgumentNullException.ThrowIfNull(a);
            a.Validate();
            if (!seen.Add(a.Asset)) throw new ArgumentException($"Asset {a.Asset} is configured twice.", nameof(Assets));
        }
        if (Interval <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(Interval));
        if (PythDeviationBps <= 0) throw new ArgumentOutOfRangeException(nameof(PythDeviationBps));
        if (PythHeartbeat <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(PythHeartbeat));
    }
}
