using System.Text.Json;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Keeper.Oracle;

namespace CrossMargin.Keeper.Market;

/// <summary>A scenario file that is not valid.</summary>
public sealed class ScenarioFormatException : FormatException
{
    public ScenarioFormatException(string message) : base(message) { }

    public ScenarioFormatException() { }

    public ScenarioFormatException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>What a source override does.</summary>
public enum SourceMode
{
    /// <summary>Keeps returning the price and publish time of <see cref="SourceOverride.FromStep"/> (stale source).</summary>
    Frozen,
    /// <summary>Adds <see cref="SourceOverride.OffsetBps"/> to the true price.</summary>
    Outlier,
    /// <summary>Answers every request with HTTP <see cref="SourceOverride.Status"/> (default 503).</summary>
    Down,
}

/// <summary>A simulated asset.</summary>
/// <param name="Symbol">e.g. "ETH".</param>
/// <param name="StartPriceWad">Price at step 0.</param>
/// <param name="PythFeedId">32-byte Pyth feed id served by the Hermes endpoint.</param>
/// <param name="VolatilityBps">Random-walk move per step, uniform in [-v, +v] bps (seeded).</param>
/// <param name="PathBps">Deterministic cumulative change from the start price at step i (bps); the last entry holds afterwards.</param>
/// <param name="ConfidenceBps">Pyth confidence as a fraction of the price.</param>
public sealed record ScenarioAsset(string Symbol, UInt256 StartPriceWad, byte[] PythFeedId, int VolatilityBps, IReadOnlyList<int> PathBps, int ConfidenceBps);

/// <summary>A per-source deviation from the true market.</summary>
/// <param name="Source">"binance", "coinbase", "kraken" or "pyth".</param>
/// <param name="Mode">What happens.</param>
/// <param name="FromStep">First step (inclusive) the override applies to.</param>
/// <param name="ToStep">Step (exclusive) it stops applying; null = forever.</param>
/// <param name="OffsetBps">Outlier offset.</param>
/// <param name="Status">HTTP status when down.</param>
/// <param name="Assets">Assets affected (frozen / outlier); null = all.</param>
public sealed record SourceOverride(string Source, SourceMode Mode, int FromStep, int? ToStep, int OffsetBps, int Status, IReadOnlyList<string>? Assets)
{
    /// <summary>Whether the override is active at <paramref name="step"/> for <paramref name="asset"/> (null = any).</summary>
    public bool AppliesTo(int step, string? asset) =>
        step >= FromStep && (ToStep is null || step < ToStep) && (asset is null || Assets is null || Assets.Contains(asset));
}

/// <summary>
/// A market scenario (devnet/scenarios/*.json):
/// <code>
/// { "name": "crash", "description": "...", "stepIntervalSeconds": 5, "seed": 7,
///   "assets": [ { "symbol": "ETH", "startPrice": "3500", "pythFeedId": "0x..", "volatilityBps": 10,
///                 "pathBps": [0, -800, -1600, -2500], "confidenceBps": 5 } ],
///   "overrides": [ { "source": "kraken", "mode": "frozen", "fromStep": 2, "toStep": null, "assets": ["ETH"] },
///                  { "source": "coinbase", "mode": "outlier", "offsetBps": 3000 },
///                  { "source": "pyth", "mode": "down", "status": 503 } ] }
/// </code>
/// Price at step s = start x (1 + pathBps[min(s, last)] / 10 000) x (random walk product up to s), all integer WAD math, floor.
/// </summary>
public sealed record MarketScenario(string Name, string Description, TimeSpan StepInterval, int Seed,
    IReadOnlyList<ScenarioAsset> Assets, IReadOnlyList<SourceOverride> Overrides)
{
    /// <summary>Source ids the simulator serves.</summary>
    public static IReadOnlyList<string> SourceIds { get; } = ["binance", "coinbase", "kraken", "pyth"];

    /// <summary>Reads a scenario file.</summary>
    public static MarketScenario Load(string path) => Parse(File.ReadAllText(path));

    /// <summary>Parses scenario JSON strictly (unknown properties are errors, so typos do not pass silently).</summary>
    public static MarketScenario Parse(string json)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }); }
        catch (JsonException e) { throw new ScenarioFormatException("Scenario is not valid JSON: " + e.Message, e); }
        using (doc)
        {
            JsonElement root = doc.RootElement;
            Known(root, "scenario", "name", "description", "stepIntervalSeconds", "seed", "assets", "overrides");
            string name = Str(root, "name", "scenario");
            string description = OptStr(root, "description") ?? "";
            double interval = Num(root, "stepIntervalSeconds", "scenario");
            if (!(interval > 0) || interval > 86_400) throw new ScenarioFormatException("stepIntervalSeconds must be in (0, 86400].");
            int seed = root.TryGetProperty("seed", out JsonElement se) ? Int(se, "seed") : 1;

            if (!root.TryGetProperty("assets", out JsonElement assetsEl) || assetsEl.ValueKind != JsonValueKind.Array || assetsEl.GetArrayLength() == 0)
                throw new ScenarioFormatException("assets must be a non-empty array.");
            var assets = new List<ScenarioAsset>();
            foreach (JsonElement a in assetsEl.EnumerateArray())
            {
                string where = $"assets[{assets.Count}]";
                Known(a, where, "symbol", "startPrice", "pythFeedId", "volatilityBps", "pathBps", "confidenceBps");
                string symbol = Str(a, "symbol", where);
                if (assets.Any(x => x.Symbol == symbol)) throw new ScenarioFormatException($"{where}: duplicate symbol {symbol}.");
                UInt256 start;
                try { start = WadDecimal.Parse(Str(a, "startPrice", where)); }
                catch (WadFormatException e) { throw new ScenarioFormatException($"{where}.startPrice: {e.Message}", e); }
                if (start.IsZero) throw new ScenarioFormatException($"{where}.startPrice must be positive.");
                string feed = Str(a, "pythFeedId", where);
                byte[] feedId = CrossMargin.Keeper.Oracle.Sources.PythHermesPriceSource.NormalizeId(feed) is { } norm
                    ? Convert.FromHexString(norm)
                    : throw new ScenarioFormatException($"{where}.pythFeedId must be 32 bytes of hex.");
                int vol = a.TryGetProperty("volatilityBps", out JsonElement v) ? Int(v, where + ".volatilityBps") : 0;
                if (vol is < 0 or > 5_000) throw new ScenarioFormatException($"{where}.volatilityBps must be in [0, 5000].");
                var path = new List<int>();
                if (a.TryGetProperty("pathBps", out JsonElement p))
                {
                    if (p.ValueKind != JsonValueKind.Array) throw new ScenarioFormatException($"{where}.pathBps must be an array.");
                    foreach (JsonElement x in p.EnumerateArray())
                    {
                        int bps = Int(x, where + ".pathBps");
                        if (bps <= -10_000) throw new ScenarioFormatException($"{where}.pathBps entries must be above -10000.");
                        path.Add(bps);
                    }
                }
                int conf = a.TryGetProperty("confidenceBps", out JsonElement c) ? Int(c, where + ".confidenceBps") : 5;
                if (conf is < 0 or > 10_000) throw new ScenarioFormatException($"{where}.confidenceBps must be in [0, 10000].");
                assets.Add(new ScenarioAsset(symbol, start, feedId, vol, path, conf));
            }

            var overrides = new List<SourceOverride>();
            if (root.TryGetProperty("overrides", out JsonElement ovs))
            {
                if (ovs.ValueKind != JsonValueKind.Array) throw new ScenarioFormatException("overrides must be an array.");
                foreach (JsonElement o in ovs.EnumerateArray())
                {
                    string where = $"overrides[{overrides.Count}]";
                    Known(o, where, "source", "mode", "fromStep", "toStep", "offsetBps", "status", "assets");
                    string source = Str(o, "source", where);
                    if (!SourceIds.Contains(source)) throw new ScenarioFormatException($"{where}.source must be one of {string.Join(", ", SourceIds)}.");
                    SourceMode mode = Str(o, "mode", where) switch
                    {
                        "frozen" => SourceMode.Frozen,
                        "outlier" => SourceMode.Outlier,
                        "down" => SourceMode.Down,
                        var m => throw new ScenarioFormatException($"{where}.mode '{m}' is not frozen, outlier or down."),
                    };
                    int from = o.TryGetProperty("fromStep", out JsonElement f) ? Int(f, where + ".fromStep") : 0;
                    int? to = o.TryGetProperty("toStep", out JsonElement t) && t.ValueKind != JsonValueKind.Null ? Int(t, where + ".toStep") : null;
                    if (from < 0 || (to is { } te && te <= from)) throw new ScenarioFormatException($"{where}: need 0 <= fromStep < toStep.");
                    int offset = o.TryGetProperty("offsetBps", out JsonElement ob) ? Int(ob, where + ".offsetBps") : 0;
                    if (offset <= -10_000) throw new ScenarioFormatException($"{where}.offsetBps must be above -10000.");
                    int status = o.TryGetProperty("status", out JsonElement st) ? Int(st, where + ".status") : 503;
                    if (status is < 400 or > 599) throw new ScenarioFormatException($"{where}.status must be an HTTP error status.");
                    List<string>? only = null;
                    if (o.TryGetProperty("assets", out JsonElement oa) && oa.ValueKind != JsonValueKind.Null)
                    {
                        if (oa.ValueKind != JsonValueKind.Array) throw new ScenarioFormatException($"{where}.assets must be an array.");
                        only = [.. oa.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.String ? x.GetString()! : throw new ScenarioFormatException($"{where}.assets must hold strings."))];
                        foreach (string s in only)
                            if (!assets.Any(x => x.Symbol == s)) throw new ScenarioFormatException($"{where}.assets: unknown asset {s}.");
                    }
                    overrides.Add(new SourceOverride(source, mode, from, to, offset, status, only));
                }
            }
            return new MarketScenario(name, description, TimeSpan.FromSeconds(interval), seed, assets, overrides);
        }
    }

    private static void Known(JsonElement obj, string where, params string[] names)
    {
        if (obj.ValueKind != JsonValueKind.Object) throw new ScenarioFormatException($"{where} must be an object.");
        foreach (JsonProperty p in obj.EnumerateObject())
            if (Array.IndexOf(names, p.Name) < 0) throw new ScenarioFormatException($"{where}: unknown property \"{p.Name}\".");
    }

    private static string Str(JsonElement obj, string name, string where) =>
        obj.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.String && v.GetString() is { Length: > 0 } s
            ? s
            : throw new ScenarioFormatException($"{where}.{name} must be a non-empty string.");

    private static string? OptStr(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static double Num(JsonElement obj, string name, string where) =>
        obj.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.Number
            ? v.GetDouble()
            : throw new ScenarioFormatException($"{where}.{name} must be a number.");

    private static int Int(JsonElement v, string where) =>
        v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i : throw new ScenarioFormatException($"{where} must be a 32-bit integer.");
}
