using System.Collections.Concurrent;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Keeper.Oracle.Sources;

/// <summary>Reads AggregatorV3-compatible feeds (Chainlink-style); implemented over the RPC client elsewhere.</summary>
public interface IAggregatorV3Reader
{
    /// <summary><c>latestRoundData()</c>: round id, answer (feed decimals) and updatedAt (unix seconds).</summary>
    ValueTask<(ulong roundId, Int256 answer, ulong updatedAt)> LatestRoundDataAsync(Address feed, CancellationToken cancellationToken);

    /// <summary><c>decimals()</c> of the feed (constant per feed; the adapter caches it).</summary>
    ValueTask<byte> DecimalsAsync(Address feed, CancellationToken cancellationToken);
}

/// <summary>
/// On-chain AggregatorV3 feeds as a price source: answer scaled from the feed's decimals to WAD exactly
/// (truncated toward zero for feeds with more than 18 decimals); publish time = updatedAt.
/// </summary>
public sealed class AggregatorV3PriceSource : ResilientPriceSource
{
    private readonly IAggregatorV3Reader _reader;
    private readonly IReadOnlyDictionary<string, Address> _feeds;
    private readonly ConcurrentDictionary<Address, byte> _decimals = new();

    public AggregatorV3PriceSource(IAggregatorV3Reader reader, IReadOnlyDictionary<string, Address> feeds,
        PriceSourceResilienceOptions? resilience = null, TimeProvider? timeProvider = null, string id = "chainlink")
        : base(id, resilience, timeProvider)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(feeds);
        _reader = reader;
        _feeds = feeds;
    }

    protected override async ValueTask<IReadOnlyList<PriceSample>> FetchOnceAsync(IReadOnlyList<string> assets, CancellationToken cancellationToken)
    {
        var samples = new List<PriceSample>();
        foreach (string asset in assets.Distinct(StringComparer.Ordinal))
        {
            if (!_feeds.TryGetValue(asset, out Address feed)) continue;
            if (!_decimals.TryGetValue(feed, out byte decimals))
            {
                decimals = await _reader.DecimalsAsync(feed, cancellationToken).ConfigureAwait(false);
                if (decimals > 77) throw Invalid($"{asset}: feed reports {decimals} decimals");
                _decimals[feed] = decimals;
            }
            (ulong roundId, Int256 answer, ulong updatedAt) = await _reader.LatestRoundDataAsync(feed, cancellationToken).ConfigureAwait(false);
            if (!answer.IsPositive) throw Invalid($"{asset}: answer {answer} is not positive (round {roundId})");
            if (updatedAt == 0 || updatedAt > 253402300799) throw Invalid($"{asset}: updatedAt {updatedAt} out of range (round {roundId})");
            UInt256 wad;
            try
            {
                wad = WadDecimal.FromDecimals(answer.Bits, decimals);
            }
            catch (OverflowException)
            {
                throw Invalid($"{asset}: answer {answer} with {decimals} decimals overflows a WAD");
            }
            if (wad.IsZero) throw Invalid($"{asset}: answer {answer} is below one wei of a WAD");
            samples.Add(new PriceSample(asset, wad, UInt256.Zero, DateTimeOffset.FromUnixTimeSeconds((long)updatedAt), Time.GetUtcNow(), Id));
        }
        return samples;
    }
}
