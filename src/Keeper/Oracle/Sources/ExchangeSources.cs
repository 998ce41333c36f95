using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Keeper.Oracle.Sources;

/// <summary>
/// Binance spot <c>GET api/v3/ticker/price?symbols=[...]</c>: <c>[{"symbol":"ETHUSDT","price":"3521.45000000"}]</c>.
/// USDT quotes are taken as USD. The ticker has no timestamp: publish time = receive time.
/// </summary>
public sealed class BinancePriceSource : HttpPriceSource
{
    /// <summary>Default asset to symbol map.</summary>
    public static IReadOnlyDictionary<string, string> DefaultSymbols { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["ETH"] = "ETHUSDT", ["BTC"] = "BTCUSDT", ["SOL"] = "SOLUSDT", ["ARB"] = "ARBUSDT", ["LINK"] = "LINKUSDT",
    };

    private readonly IReadOnlyDictionary<string, string> _symbols;

    public BinancePriceSource(HttpClient http, IReadOnlyDictionary<string, string>? symbols = null,
        PriceSourceResilienceOptions? resilience = null, TimeProvider? timeProvider = null, string id = "binance")
        : base(id, http, resilience, timeProvider) => _symbols = symbols ?? DefaultSymbols;

    protected override async ValueTask<IReadOnlyList<PriceSample>> FetchOnceAsync(IReadOnlyList<string> assets, CancellationToken cancellationToken)
    {
        var wanted = new Dictionary<string, string>(StringComparer.Ordinal); // symbol -> asset
        foreach (string a in assets)
            if (_symbols.TryGetValue(a, out string? s)) wanted[s] = a;
        if (wanted.Count == 0) return [];

        var sb = new StringBuilder("[");
        foreach (string s in wanted.Keys) sb.Append(sb.Length > 1 ? "," : "").Append('"').Append(s).Append('"');
        sb.Append(']');
        string uri = "api/v3/ticker/price?symbols=" + Uri.EscapeDataString(sb.ToString());

        using JsonDocument doc = await GetJsonAsync(uri, cancellationToken).ConfigureAwait(false);
        DateTimeOffset now = Time.GetUtcNow();
        JsonElement root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Array) throw Malformed($"expected an array, got {root.ValueKind}");
        var found = new Dictionary<string, PriceSample>(StringComparer.Ordinal);
        int i = 0;
        foreach (JsonElement item in root.EnumerateArray())
        {
            string where = $"[{i++}]";
            string symbol = StringProperty(item, "symbol", where);
            if (!wanted.TryGetValue(symbol, out string? asset)) continue;
            UInt256 price = PositivePrice(StringProperty(item, "price", where), symbol);
            if (!found.TryAdd(asset, new PriceSample(asset, price, UInt256.Zero, now, now, Id)))
                throw Malformed($"symbol {symbol} appears twice");
        }
        foreach ((string symbol, string asset) in wanted)
            if (!found.ContainsKey(asset)) throw new PriceSourceException(Id, PriceSourceError.MissingAsset, $"no ticker for {symbol}");
        return [.. found.Values];
    }

    protected override void OnErrorStatus(HttpStatusCode status, byte[] body)
    {
        // Binance errors: {"code":-1121,"msg":"Invalid symbol."}
        if ((int)status is >= 400 and < 500 && status != HttpStatusCode.TooManyRequests)
        {
            try
            {
                using JsonDocument d = JsonDocument.Parse(body);
                if (d.RootElement.ValueKind == JsonValueKind.Object
                    && d.RootElement.TryGetProperty("code", out JsonElement code)
                    && d.RootElement.TryGetProperty("msg", out JsonElement msg))
                {
                    throw new PriceSourceException(Id, PriceSourceError.SourceReported, $"HTTP {(int)status}, code {code.GetRawText()}: {msg.GetRawText()}");
                }
            }
            catch (JsonException) { }
        }
    }
}

/// <summary>
/// Coinbase Exchange <c>GET products/ETH-USD/ticker</c> (one request per product):
/// <c>{"ask":..,"bid":..,"volume":..,"trade_id":..,"price":"3521.45","size":..,"time":"2024-...Z"}</c>.
/// Publish time = the ticker's <c>time</c> (time of the last trade).
/// </summary>
public sealed class CoinbasePriceSource : HttpPriceSource
{
    /// <summary>Default asset to product map.</summary>
    public static IReadOnlyDictionary<string, string> DefaultProducts { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["ETH"] = "ETH-USD", ["BTC"] = "BTC-USD", ["SOL"] = "SOL-USD", ["ARB"] = "ARB-USD", ["LINK"] = "LINK-USD",
    };

    private readonly IReadOnlyDictionary<string, string> _products;

    public CoinbasePriceSource(HttpClient http, IReadOnlyDictionary<string, string>? products = null,
        PriceSourceResilienceOptions? resilience = null, TimeProvider? timeProvider = null, string id = "coinbase")
        : base(id, http, resilience, timeProvider) => _products = products ?? DefaultProducts;

    protected override async ValueTask<IReadOnlyList<PriceSample>> FetchOnceAsync(IReadOnlyList<string> assets, CancellationToken cancellationToken)
    {
        var result = new List<PriceSample>();
        foreach (string asset in assets.Distinct(StringComparer.Ordinal))
        {
            if (!_products.TryGetValue(asset, out string? product)) continue;
            using JsonDocument doc = await GetJsonAsync($"products/{Uri.EscapeDataString(product)}/ticker", cancellationToken).ConfigureAwait(false);
            DateTimeOffset now = Time.GetUtcNow();
            JsonElement root = doc.RootElement;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("message", out JsonElement msg) && !root.TryGetProperty("price", out _))
                throw new PriceSourceException(Id, PriceSourceError.SourceReported, $"{product}: {msg.GetRawText()}");
            UInt256 price = PositivePrice(StringProperty(root, "price", product), product);
            string time = StringProperty(root, "time", product);
            if (!DateTimeOffset.TryParse(time, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out DateTimeOffset published)
                || !time.EndsWith('Z'))
                throw Malformed($"{product}: time '{Clip(time)}' is not an ISO-8601 UTC timestamp");
            result.Add(new PriceSample(asset, price, UInt256.Zero, published, now, Id));
        }
        return result;
    }
}

/// <summary>Kraken pair configuration: the pair name to request and the result keys Kraken may answer with.</summary>
/// <param name="RequestPair">Name sent in <c>?pair=</c>.</param>
/// <param name="ResultKeys">Accepted keys in <c>result</c> (Kraken answers with its canonical name, e.g. XETHZUSD for ETHUSD).</param>
public sealed record KrakenPair(string RequestPair, IReadOnlyList<string> ResultKeys);

/// <summary>
/// Kraken <c>GET 0/public/Ticker?pair=XETHZUSD,XXBTZUSD</c>:
/// <c>{"error":[],"result":{"XETHZUSD":{"a":[..],"b":[..],"c":["3521.45000","0.01"],...}}}</c>.
/// Uses the last trade price <c>c[0]</c>. The ticker has no timestamp: publish time = receive time.
/// </summary>
public sealed class KrakenPriceSource : HttpPriceSource
{
    /// <summary>Default asset to pair map, with the known result-key aliases.</summary>
    public static IReadOnlyDictionary<string, KrakenPair> DefaultPairs { get; } = new Dictionary<string, KrakenPair>(StringComparer.Ordinal)
    {
        ["ETH"] = new("XETHZUSD", ["XETHZUSD", "ETHUSD", "XETHUSD", "ETHZUSD"]),
        ["BTC"] = new("XXBTZUSD", ["XXBTZUSD", "XBTUSD", "XXBTUSD", "XBTZUSD", "BTCUSD"]),
        ["SOL"] = new("SOLUSD", ["SOLUSD"]),
        ["LINK"] = new("LINKUSD", ["LINKUSD"]),
        ["ARB"] = new("ARBUSD", ["ARBUSD"]),
    };

    private readonly IReadOnlyDictionary<string, KrakenPair> _pairs;

    public KrakenPriceSource(HttpClient http, IReadOnlyDictionary<string, KrakenPair>? pairs = null,
        PriceSourceResilienceOptions? resilience = null, TimeProvider? timeProvider = null, string id = "kraken")
        : base(id, http, resilience, timeProvider) => _pairs = pairs ?? DefaultPairs;

    protected override async ValueTask<IReadOnlyList<PriceSample>> FetchOnceAsync(IReadOnlyList<string> assets, CancellationToken cancellationToken)
    {
        var wanted = new List<(string Asset, KrakenPair Pair)>();
        foreach (string a in assets.Distinct(StringComparer.Ordinal))
            if (_pairs.TryGetValue(a, out KrakenPair? p)) wanted.Add((a, p));
        if (wanted.Count == 0) return [];

        string uri = "0/public/Ticker?pair=" + string.Join(',', wanted.Select(w => Uri.EscapeDataString(w.Pair.RequestPair)));
        using JsonDocument doc = await GetJsonAsync(uri, cancellationToken).ConfigureAwait(false);
        DateTimeOffset now = Time.GetUtcNow();
        JsonElement root = doc.RootElement;
        JsonElement errors = Property(root, "error", "root");
        if (errors.ValueKind != JsonValueKind.Array) throw Malformed($"\"error\" must be an array, got {errors.ValueKind}");
        if (errors.GetArrayLength() > 0)
            throw new PriceSourceException(Id, PriceSourceError.SourceReported, string.Join("; ", errors.EnumerateArray().Select(e => e.ToString())));
        JsonElement result = Property(root, "result", "root");
        if (result.ValueKind != JsonValueKind.Object) throw Malformed($"\"result\" must be an object, got {result.ValueKind}");

        var samples = new List<PriceSample>(wanted.Count);
        foreach ((string asset, KrakenPair pair) in wanted)
        {
            JsonElement? ticker = null;
            string? matchedKey = null;
            foreach (string key in pair.ResultKeys)
            {
                if (!result.TryGetProperty(key, out JsonElement t)) continue;
                if (ticker is not null) throw Malformed($"{asset}: both {matchedKey} and {key} in the result");
                ticker = t;
                matchedKey = key;
            }
            if (ticker is not { } tk) throw new PriceSourceException(Id, PriceSourceError.MissingAsset, $"no ticker for {pair.RequestPair}");
            JsonElement c = Property(tk, "c", matchedKey!);
            if (c.ValueKind != JsonValueKind.Array || c.GetArrayLength() < 1)
                throw Malformed($"{matchedKey}: \"c\" must be a non-empty array");
            JsonElement last = c[0];
            if (last.ValueKind != JsonValueKind.String) throw Malformed($"{matchedKey}: c[0] must be a string, got {last.ValueKind}");
            UInt256 price = PositivePrice(last.GetString()!, matchedKey!);
            samples.Add(new PriceSample(asset, price, UInt256.Zero, now, now, Id));
        }
        return samples;
    }
}
