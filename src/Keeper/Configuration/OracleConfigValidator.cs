using System.Globalization;
using CrossMargin.Devnet;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Crypto;
using CrossMargin.Keeper.Oracle;
using CrossMargin.Keeper.Oracle.Sources;

namespace CrossMargin.Keeper.Configuration;

/// <summary>One validated asset of the oracle part.</summary>
/// <param name="Symbol">Asset symbol (aggregator, sources, journal key).</param>
/// <param name="OracleId">The hub's oracle id.</param>
/// <param name="Feed">The push feed (null: the asset is not pushed).</param>
/// <param name="FeedDecimals">Decimals of the push feed.</param>
/// <param name="PythPriceId">Pyth price id (Hermes and on-chain Pyth), if any.</param>
/// <param name="DeviationBps">Push threshold.</param>
/// <param name="EarlyBps">Ride-along threshold.</param>
/// <param name="Heartbeat">Push when the on-chain round is this old.</param>
/// <param name="ReferenceFeed">An AggregatorV3 feed read as a source, if any.</param>
/// <param name="BinanceSymbol">Binance symbol override.</param>
/// <param name="CoinbaseProduct">Coinbase product override.</param>
/// <param name="KrakenPair">Kraken pair override.</param>
public sealed record OracleAssetSettings(string Symbol, Hash32 OracleId, Address? Feed, byte FeedDecimals, Hash32? PythPriceId, long DeviationBps, long EarlyBps,
    TimeSpan Heartbeat, Address? ReferenceFeed = null, string? BinanceSymbol = null, string? CoinbaseProduct = null, string? KrakenPair = null);

/// <summary>Validated oracle part of the keeper (present only when the part runs).</summary>
public sealed record OracleSettings
{
    /// <summary>Push prices on chain (never in dry-run mode).</summary>
    public required bool Push { get; init; }

    /// <summary>Gate liquidations.</summary>
    public required bool Gate { get; init; }

    /// <summary>Assets, in configuration order.</summary>
    public required IReadOnlyList<OracleAssetSettings> Assets { get; init; }

    /// <summary>Validation, aggregation and gate thresholds.</summary>
    public required OracleOptions Aggregation { get; init; }

    public Uri? Binance { get; init; }
    public Uri? Coinbase { get; init; }
    public Uri? Kraken { get; init; }
    public Uri? PythHermes { get; init; }

    /// <summary>Pyth contract pushed to (null: no Pyth pushes).</summary>
    public Address? PythContract { get; init; }

    public TimeSpan RoundInterval { get; init; } = TimeSpan.FromSeconds(5);

    public PriceSourceResilienceOptions Resilience { get; init; } = new();

    public long PythDeviationBps { get; init; } = 50;

    public TimeSpan PythHeartbeat { get; init; } = TimeSpan.FromSeconds(60);

    public bool BlockUnknownOracles { get; init; }

    /// <summary>Number of configured sources (off-chain ones plus the reference-feed source).</summary>
    public int SourceCount =>
        (Binance is null ? 0 : 1) + (Coinbase is null ? 0 : 1) + (Kraken is null ? 0 : 1) + (PythHermes is null ? 0 : 1)
        + (Assets.Any(a => a.ReferenceFeed is not null) ? 1 : 0);
}

/// <summary>Checks the "Keeper:Oracle" section value by value.</summary>
public static class OracleConfigValidator
{
    private const string S = OracleConfigOptions.Section;

    /// <summary>
    /// Validated oracle settings, or null when the part does not run (switched off, or nothing configured and
    /// <see cref="OracleConfigOptions.Enabled"/> unset). Every bad value adds one message to <paramref name="failures"/>.
    /// </summary>
    public static OracleSettings? Validate(KeeperOptions options, DevnetDeployment? deployment, List<string> failures)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(failures);
        OracleConfigOptions o = options.Oracle ?? new OracleConfigOptions();
        if (!options.OracleEnabled || o.Enabled == false) return null;
        OracleSourceUrlOptions src = o.Sources ?? new OracleSourceUrlOptions();
        bool anySource = !string.IsNullOrWhiteSpace(src.Binance) || !string.IsNullOrWhiteSpace(src.Coinbase) || !string.IsNullOrWhiteSpace(src.Kraken)
            || !string.IsNullOrWhiteSpace(src.PythHermes) || o.Assets.Any(a => !string.IsNullOrWhiteSpace(a?.ReferenceFeed));
        if (o.Enabled is null && !anySource && o.Assets.Count == 0) return null;

        int before = failures.Count;
        if (!anySource)
            failures.Add($"{S}:Sources: no price source configured (set Binance, Coinbase, Kraken or PythHermes, or an asset's ReferenceFeed), or switch the oracle off with --no-oracle.");
        Uri? binance = Url("Binance", src.Binance, failures);
        Uri? coinbase = Url("Coinbase", src.Coinbase, failures);
        Uri? kraken = Url("Kraken", src.Kraken, failures);
        Uri? hermes = Url("PythHermes", src.PythHermes, failures);

        bool push = o.Push && !options.DryRun;
        List<OracleAssetSettings> assets = Assets(o, deployment, push, failures);
        if (hermes is not null && assets.Count > 0 && assets.All(a => a.PythPriceId is null))
            failures.Add($"{S}:Sources:PythHermes is set but no asset has a PythPriceId.");

        Address? pyth = null;
        if (!string.IsNullOrWhiteSpace(o.PythContract))
        {
            if (!Address.TryParse(o.PythContract.Trim(), out Address p) || p.IsZero)
                failures.Add($"{S}:PythContract: '{o.PythContract}' is not a valid non-zero address (20-byte hex with a correct EIP-55 checksum).");
            else pyth = p;
        }
        else if (deployment is not null && deployment.Contracts.ContainsKey(ContractNames.MockPyth))
        {
            pyth = deployment.MockPyth;
        }

        Range(o.GateBandBps, 1, 10_000, "GateBandBps", "basis points", failures);
        Range(o.MaxRoundAgeSeconds, 1, 86_400, "MaxRoundAgeSeconds", "seconds", failures);
        Range(o.AgreementBps, 1, 10_000, "AgreementBps", "basis points", failures);
        Range(o.RecoveryRounds, 1, 1_000, "RecoveryRounds", "rounds", failures);
        Range(o.MaxSampleAgeSeconds, 1, 86_400, "MaxSampleAgeSeconds", "seconds", failures);
        Range(o.ReferenceFeedMaxAgeSeconds, 1, 7 * 86_400, "ReferenceFeedMaxAgeSeconds", "seconds", failures);
        Range(o.RoundIntervalMs, 100, 3_600_000, "RoundIntervalMs", "milliseconds", failures);
        Range(o.SourceTimeoutMs, 100, 120_000, "SourceTimeoutMs", "milliseconds", failures);
        Range(o.SourceRetries, 0, 10, "SourceRetries", "retries", failures);
        Range(o.PythDeviationBps, 1, 10_000, "PythDeviationBps", "basis points", failures);
        Range(o.PythHeartbeatSeconds, 1, 86_400, "PythHeartbeatSeconds", "seconds", failures);
        if (o.MaxRoundAgeSeconds is >= 1 and <= 86_400 && o.RoundIntervalMs is >= 100 and <= 3_600_000
            && o.MaxRoundAgeSeconds * 1000L < 2L * o.RoundIntervalMs)
            failures.Add($"{S}:MaxRoundAgeSeconds ({o.MaxRoundAgeSeconds} s) must be at least two round intervals ({S}:RoundIntervalMs = {o.RoundIntervalMs} ms): the gate would block between rounds.");

        if (failures.Count > before) return null;
        var aggregation = new OracleOptions
        {
            DefaultMaxAge = TimeSpan.FromSeconds(o.MaxSampleAgeSeconds),
            MaxDeviationBps = o.AgreementBps,
            RecoveryRounds = o.RecoveryRounds,
            SanityBandBps = o.GateBandBps,
            SanityMaxRoundAge = TimeSpan.FromSeconds(o.MaxRoundAgeSeconds),
        };
        aggregation.SourceMaxAge[OracleSourceIds.Reference] = TimeSpan.FromSeconds(o.ReferenceFeedMaxAgeSeconds);
        return new OracleSettings
        {
            Push = push,
            Gate = o.Gate,
            Assets = assets,
            Aggregation = aggregation,
            Binance = binance,
            Coinbase = coinbase,
            Kraken = kraken,
            PythHermes = hermes,
            PythContract = pyth,
            RoundInterval = TimeSpan.FromMilliseconds(o.RoundIntervalMs),
            Resilience = new PriceSourceResilienceOptions { AttemptTimeout = TimeSpan.FromMilliseconds(o.SourceTimeoutMs), MaxRetryAttempts = o.SourceRetries },
            PythDeviationBps = o.PythDeviationBps,
            PythHeartbeat = TimeSpan.FromSeconds(o.PythHeartbeatSeconds),
            BlockUnknownOracles = o.BlockUnknownOracles,
        };
    }

    private static List<OracleAssetSettings> Assets(OracleConfigOptions o, DevnetDeployment? deployment, bool push, List<string> failures)
    {
        var result = new List<OracleAssetSettings>();
        List<OracleAssetOptions> entries = o.Assets;
        if (entries.Count == 0)
        {
            if (deployment is null)
            {
                failures.Add($"{S}:Assets: at least one asset is required (or give Keeper:Deployment).");
                return result;
            }
            entries = [.. deployment.Oracles.Select(d => new OracleAssetOptions { Symbol = d.Symbol.Split('/')[0], Oracle = d.OracleId.ToString() })];
        }

        var symbols = new HashSet<string>(StringComparer.Ordinal);
        var ids = new HashSet<Hash32>();
        for (int i = 0; i < entries.Count; i++)
        {
            string n = $"{S}:Assets:{i}";
            OracleAssetOptions a = entries[i] ?? new OracleAssetOptions();
            int errors = failures.Count;
            string symbol = a.Symbol?.Trim() ?? "";
            if (symbol.Length == 0) failures.Add($"{n}:Symbol is required (e.g. \"ETH\").");
            else if (symbol.Any(c => char.IsWhiteSpace(c) || char.IsControl(c))) failures.Add($"{n}:Symbol: '{symbol}' must not contain spaces.");
            else if (!symbols.Add(symbol)) failures.Add($"{n}:Symbol: '{symbol}' is configured twice.");

            // the hub oracle id: explicit id, or a symbol hashed like Keeper:NativeOracle
            string oracleText = string.IsNullOrWhiteSpace(a.Oracle) ? symbol + "/USD" : a.Oracle.Trim();
            Hash32 oracleId = default;
            if (oracleText.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            {
                if (!Hash32.TryParse(oracleText, out oracleId)) failures.Add($"{n}:Oracle: '{oracleText}' is not a 32-byte hex oracle id.");
            }
            else oracleId = Keccak256.ComputeUtf8(oracleText);
            if (failures.Count == errors && !ids.Add(oracleId)) failures.Add($"{n}:Oracle: oracle id {oracleId} is used by another asset.");
            DevnetOracle? dep = deployment?.Oracles.FirstOrDefault(d => d.OracleId == oracleId);

            Address? feed = OptionalAddress($"{n}:Feed", a.Feed, failures) ?? dep?.PushFeed;
            if (push && feed is null && !string.IsNullOrWhiteSpace(symbol) && string.IsNullOrWhiteSpace(a.Feed))
                failures.Add($"{n}:Feed is required while {S}:Push is on (the asset's push feed; or give Keeper:Deployment, or set Push to false).");

            byte decimals = dep?.FeedDecimals ?? 8;
            if (a.FeedDecimals is { } fd)
            {
                if (fd is < 0 or > 18) failures.Add($"{n}:FeedDecimals: {fd} is not between 0 and 18.");
                else decimals = (byte)fd;
            }

            Hash32? pythId = dep?.PythPriceId;
            if (!string.IsNullOrWhiteSpace(a.PythPriceId))
            {
                if (Hash32.TryParse(a.PythPriceId.Trim(), out Hash32 p) && !p.IsZero) pythId = p;
                else failures.Add($"{n}:PythPriceId: '{a.PythPriceId}' is not a non-zero 32-byte hex price id.");
            }

            long deviation = a.DeviationBps ?? 50;
            long early = a.EarlyBps ?? Math.Min(25, deviation);
            if (deviation is < 1 or > 10_000) failures.Add($"{n}:DeviationBps: {deviation} is not between 1 and 10000 basis points.");
            else if (early < 1 || early > deviation) failures.Add($"{n}:EarlyBps: {early} is not between 1 and DeviationBps ({deviation}).");
            int heartbeat = a.HeartbeatSeconds ?? 60;
            if (heartbeat is < 1 or > 7 * 86_400) failures.Add($"{n}:HeartbeatSeconds: {heartbeat} is not between 1 and 604800 seconds.");

            Address? reference = OptionalAddress($"{n}:ReferenceFeed", a.ReferenceFeed, failures);
            if (reference is { } r && feed is { } f && r == f)
                failures.Add($"{n}:ReferenceFeed is the asset's own push feed: a source must not read back what the bot pushes.");

            string? binance = Token($"{n}:BinanceSymbol", a.BinanceSymbol, failures);
            string? coinbase = Token($"{n}:CoinbaseProduct", a.CoinbaseProduct, failures);
            string? kraken = Token($"{n}:KrakenPair", a.KrakenPair, failures);

            if (failures.Count == errors)
            {
                result.Add(new OracleAssetSettings(symbol, oracleId, feed, decimals, pythId, deviation, early, TimeSpan.FromSeconds(heartbeat),
                    reference, binance, coinbase, kraken));
            }
        }
        return result;
    }

    private static Uri? Url(string name, string? text, List<string> failures)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out Uri? u) || (u.Scheme != Uri.UriSchemeHttp && u.Scheme != Uri.UriSchemeHttps)
            || !string.IsNullOrEmpty(u.Query) || !string.IsNullOrEmpty(u.Fragment))
        {
            failures.Add($"{S}:Sources:{name}: '{text}' is not an http(s) base URL.");
            return null;
        }
        // relative request paths resolve below the base only when it ends with a slash
        return u.AbsolutePath.EndsWith('/') ? u : new Uri(u.GetLeftPart(UriPartial.Path) + "/");
    }

    private static Address? OptionalAddress(string name, string? text, List<string> failures)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        if (!Address.TryParse(text.Trim(), out Address a))
        {
            failures.Add($"{name}: '{text}' is not a valid address (20-byte hex with a correct EIP-55 checksum).");
            return null;
        }
        if (a.IsZero)
        {
            failures.Add($"{name}: the zero address is not a feed.");
            return null;
        }
        return a;
    }

    private static string? Token(string name, string? text, List<string> failures)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        string t = text.Trim();
        if (t.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '/')))
        {
            failures.Add($"{name}: '{t}' may contain only letters, digits, '-', '_', '.' and '/'.");
            return null;
        }
        return t;
    }

    private static void Range(long value, long min, long max, string name, string unit, List<string> failures)
    {
        if (value < min || value > max)
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"{S}:{name}: {value} is not between {min} and {max} {unit}."));
    }
}

/// <summary>Source ids the keeper's oracle part uses.</summary>
public static class OracleSourceIds
{
    /// <summary>The source reading the assets' <see cref="OracleAssetSettings.ReferenceFeed"/>s.</summary>
    public const string Reference = "reference";
}
