using System.Text;
using System.Text.Json;
using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Keeper.Oracle.Sources;

/// <summary>Samples from one Hermes answer together with the binary update data to submit on chain.</summary>
/// <param name="Samples">One sample per requested, configured asset.</param>
/// <param name="UpdateData">The <c>binary.data</c> blobs, decoded, in answer order.</param>
public sealed record PythPriceBatch(IReadOnlyList<PriceSample> Samples, IReadOnlyList<byte[]> UpdateData);

/// <summary>
/// Pyth Hermes <c>GET v2/updates/price/latest?ids[]=..&amp;encoding=hex&amp;parsed=true</c>:
/// <c>{"binary":{"encoding":"hex","data":["..."]},"parsed":[{"id":"..","price":{"price":"352145000000","conf":"12345","expo":-8,"publish_time":1700000000},...}]}</c>.
/// Price and confidence become WAD exactly as value x 10^(18+expo) (truncated toward zero if 18+expo &lt; 0).
/// </summary>
public sealed class PythHermesPriceSource : HttpPriceSource
{
    private readonly Dictionary<string, string> _feedToAsset = new(StringComparer.Ordinal); // 64 lower-case hex digits -> asset
    private readonly Dictionary<string, string> _assetToFeed = new(StringComparer.Ordinal);
    private volatile PythPriceBatch? _lastBatch;

    /// <param name="feedIds">Asset to 32-byte Pyth price-feed id (hex, with or without 0x).</param>
    public PythHermesPriceSource(HttpClient http, IReadOnlyDictionary<string, string> feedIds,
        PriceSourceResilienceOptions? resilience = null, TimeProvider? timeProvider = null, string id = "pyth")
        : base(id, http, resilience, timeProvider)
    {
        ArgumentNullException.ThrowIfNull(feedIds);
        foreach ((string asset, string feed) in feedIds)
        {
            string norm = NormalizeId(feed) ?? throw new ArgumentException($"Feed id of {asset} is not 32 bytes of hex: '{feed}'.", nameof(feedIds));
            _feedToAsset.Add(norm, asset);
            _assetToFeed.Add(asset, norm);
        }
    }

    /// <summary>The batch of the most recent successful fetch (samples and update data).</summary>
    public PythPriceBatch? LastBatch => _lastBatch;

    /// <summary>Fetches samples and the binary update data for the given assets.</summary>
    public async ValueTask<PythPriceBatch> FetchBatchAsync(IReadOnlyList<string> assets, CancellationToken cancellationToken)
    {
        IReadOnlyList<PriceSample> samples = await FetchAsync(assets, cancellationToken).ConfigureAwait(false);
        PythPriceBatch batch = _lastBatch!;
        return ReferenceEquals(batch.Samples, samples) ? batch : new PythPriceBatch(samples, []);
    }

    internal static string? NormalizeId(string id)
    {
        ReadOnlySpan<char> s = id.AsSpan();
        if (s.StartsWith("0x", StringComparison.OrdinalIgnoreCase)) s = s[2..];
        if (s.Length != 64) return null;
        foreach (char c in s) if (!char.IsAsciiHexDigit(c)) return null;
        return s.ToString().ToLowerInvariant();
    }

    protected override async ValueTask<IReadOnlyList<PriceSample>> FetchOnceAsync(IReadOnlyList<string> assets, CancellationToken cancellationToken)
    {
        var wanted = new List<string>();
        foreach (string a in assets.Distinct(StringComparer.Ordinal))
            if (_assetToFeed.TryGetValue(a, out string? f)) wanted.Add(f);
        if (wanted.Count == 0)
        {
            var empty = new PythPriceBatch([], []);
            _lastBatch = empty;
            return empty.Samples;
        }

        var uri = new StringBuilder("v2/updates/price/latest?");
        foreach (string f in wanted) uri.Append("ids%5B%5D=0x").Append(f).Append('&');
        uri.Append("encoding=hex&parsed=true");

        using JsonDocument doc = await GetJsonAsync(uri.ToString(), cancellationToken).ConfigureAwait(false);
        DateTimeOffset now = Time.GetUtcNow();
        JsonElement root = doc.RootElement;

        List<byte[]> updates = ReadBinary(Property(root, "binary", "root"));
        JsonElement parsed = Property(root, "parsed", "root");
        if (parsed.ValueKind != JsonValueKind.Array) throw Malformed($"\"parsed\" must be an array, got {parsed.ValueKind}");

        var byFeed = new Dictionary<string, PriceSample>(StringComparer.Ordinal);
        int i = 0;
        foreach (JsonElement item in parsed.EnumerateArray())
        {
            string where = $"parsed[{i++}]";
            string feed = NormalizeId(StringProperty(item, "id", where)) ?? throw Malformed($"{where}: id is not 32 bytes of hex");
            if (!_feedToAsset.TryGetValue(feed, out string? asset)) continue;
            JsonElement price = Property(item, "price", where);
            int expo = Int32Property(price, "expo", where);
            UInt256 priceWad = Scaled(StringProperty(price, "price", where), expo, where + ".price", requirePositive: true);
            UInt256 confWad = Scaled(StringProperty(price, "conf", where), expo, where + ".conf", requirePositive: false);
            long publish = Int64Property(price, "publish_time", where);
            if (publish <= 0 || publish > 253402300799) throw Invalid($"{where}: publish_time {publish} out of range");
            if (!byFeed.TryAdd(feed, new PriceSample(asset, priceWad, confWad, DateTimeOffset.FromUnixTimeSeconds(publish), now, Id)))
                throw Malformed($"{where}: feed {feed} appears twice");
        }
        foreach (string f in wanted)
            if (!byFeed.ContainsKey(f)) throw new PriceSourceException(Id, PriceSourceError.MissingAsset, $"no price for {_feedToAsset[f]} (0x{f})");
        if (updates.Count == 0) throw Malformed("binary.data is empty");

        var batch = new PythPriceBatch([.. byFeed.Values], updates);
        _lastBatch = batch;
        return batch.Samples;
    }

    private List<byte[]> ReadBinary(JsonElement binary)
    {
        string encoding = StringProperty(binary, "encoding", "binary");
        JsonElement data = Property(binary, "data", "binary");
        if (data.ValueKind != JsonValueKind.Array) throw Malformed($"binary.data must be an array, got {data.ValueKind}");
        var list = new List<byte[]>(data.GetArrayLength());
        foreach (JsonElement d in data.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.String) throw Malformed($"binary.data entries must be strings, got {d.ValueKind}");
            string s = d.GetString()!;
            try
            {
                list.Add(encoding switch
                {
                    "hex" => Convert.FromHexString(s.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? s.AsSpan(2) : s),
                    "base64" => Convert.FromBase64String(s),
                    _ => throw Malformed($"unknown binary encoding '{Clip(encoding)}'"),
                });
            }
            catch (FormatException e)
            {
                throw new PriceSourceException(Id, PriceSourceError.Malformed, $"binary.data is not valid {encoding}", e);
            }
        }
        return list;
    }

    private UInt256 Scaled(string text, int expo, string where, bool requirePositive)
    {
        // Hermes sends int64 mantissas as decimal strings.
        if (!long.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out long v))
            throw Malformed($"{where}: '{Clip(text)}' is not a 64-bit integer");
        if (v < 0 || (requirePositive && v == 0)) throw Invalid($"{where}: {v} is not positive");
        if (expo is < -30 or > 30) throw Invalid($"{where}: exponent {expo} out of range");
        return WadDecimal.FromScaled((ulong)v, expo);
    }

    private int Int32Property(JsonElement obj, string name, string where)
    {
        JsonElement v = Property(obj, name, where);
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int r)) throw Malformed($"{where}: \"{name}\" must be a 32-bit integer");
        return r;
    }

    private long Int64Property(JsonElement obj, string name, string where)
    {
        JsonElement v = Property(obj, name, where);
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long r)) throw Malformed($"{where}: \"{name}\" must be a 64-bit integer");
        return r;
    }
}
