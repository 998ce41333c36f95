namespace CrossMargin.Keeper.Configuration;

/// <summary>
/// The "Keeper:Oracle" section: the oracle part of <c>crossmargin run</c> (price sources → aggregator → sanity gate
/// for liquidations, and the pusher that keeps the hub's push feeds and Pyth up to date). Addresses, ids and URLs stay
/// text so that validation can name each bad value; <see cref="OracleConfigValidator"/> turns them into
/// <see cref="OracleSettings"/>. See docs/oracle.md for an example.
/// </summary>
/// <remarks>
/// On/off: the part runs when <c>Keeper:OracleEnabled</c> (the <c>--no-oracle</c> switch) is true and
/// <see cref="Enabled"/> is not false. With <see cref="Enabled"/> unset it runs when anything is configured here (a
/// source or an asset); with <see cref="Enabled"/> = true a missing configuration is an error.
/// </remarks>
public sealed class OracleConfigOptions
{
    /// <summary>Full name of the section.</summary>
    public const string Section = "Keeper:Oracle";

    /// <summary>True: must run (missing sources are errors); false: off; unset: on when configured.</summary>
    public bool? Enabled { get; set; }

    /// <summary>Push aggregated prices on chain (OracleHub.pushPrices and Pyth). Off: the gate still runs. Default true.</summary>
    public bool Push { get; set; } = true;

    /// <summary>Veto liquidations at hub prices the sources dispute. Default true.</summary>
    public bool Gate { get; set; } = true;

    /// <summary>Base URLs of the off-chain sources; each is optional.</summary>
    public OracleSourceUrlOptions Sources { get; set; } = new();

    /// <summary>The on-chain Pyth contract the pusher updates. Default: the deployment's MockPyth; none: no Pyth pushes.</summary>
    public string? PythContract { get; set; }

    /// <summary>Assets priced by the bot. Default (empty) with Keeper:Deployment: one per deployment oracle.</summary>
    public List<OracleAssetOptions> Assets { get; set; } = [];

    /// <summary>The gate blocks when the hub price deviates from the aggregate by more than this (basis points). Default 200.</summary>
    public long GateBandBps { get; set; } = 200;

    /// <summary>The gate blocks when the latest aggregate is older than this. Default 120 s.</summary>
    public int MaxRoundAgeSeconds { get; set; } = 120;

    /// <summary>Sources "agree" within this deviation (basis points). Default 100.</summary>
    public long AgreementBps { get; set; } = 100;

    /// <summary>Consecutive agreeing rounds needed to become Healthy again. Default 3.</summary>
    public int RecoveryRounds { get; set; } = 3;

    /// <summary>Samples older than this are rejected (off-chain sources). Default 120 s.</summary>
    public int MaxSampleAgeSeconds { get; set; } = 120;

    /// <summary>Samples of on-chain reference feeds (<see cref="OracleAssetOptions.ReferenceFeed"/>) may be this old. Default 3600 s.</summary>
    public int ReferenceFeedMaxAgeSeconds { get; set; } = 3600;

    /// <summary>Time between two oracle rounds. Default 5000 ms.</summary>
    public int RoundIntervalMs { get; set; } = 5000;

    /// <summary>Per-request timeout of a source. Default 5000 ms.</summary>
    public int SourceTimeoutMs { get; set; } = 5000;

    /// <summary>Retries of a transient source failure within a round. Default 2.</summary>
    public int SourceRetries { get; set; } = 2;

    /// <summary>Pyth pushes: Hermes vs on-chain deviation that triggers an update (basis points). Default 50.</summary>
    public long PythDeviationBps { get; set; } = 50;

    /// <summary>Pyth pushes: on-chain age that triggers an update. Default 60 s.</summary>
    public int PythHeartbeatSeconds { get; set; } = 60;

    /// <summary>Block liquidations priced by oracle ids that no asset here maps to. Default false: they pass (logged once).</summary>
    public bool BlockUnknownOracles { get; set; }

    /// <summary>Keystore v3 file of a separate pusher key. Unset: the pusher shares the keeper's key and executor.</summary>
    public string? KeystorePath { get; set; }

    /// <summary>Environment variable with the password of <see cref="KeystorePath"/>.</summary>
    public string KeystorePasswordEnv { get; set; } = "CROSSMARGIN_ORACLE_KEYSTORE_PASSWORD";

    /// <summary>File with the password of <see cref="KeystorePath"/> (used when the variable is not set).</summary>
    public string? KeystorePasswordFile { get; set; }

    /// <summary>Development only (with Keeper:AllowRawKey): a raw hex pusher key from this environment variable.</summary>
    public string RawKeyEnv { get; set; } = "CROSSMARGIN_ORACLE_DEV_PRIVATE_KEY";
}

/// <summary>Base URLs of the off-chain price sources ("Keeper:Oracle:Sources").</summary>
public sealed class OracleSourceUrlOptions
{
    /// <summary>Binance spot API, e.g. https://api.binance.com/.</summary>
    public string? Binance { get; set; }

    /// <summary>Coinbase Exchange API, e.g. https://api.exchange.coinbase.com/.</summary>
    public string? Coinbase { get; set; }

    /// <summary>Kraken API, e.g. https://api.kraken.com/.</summary>
    public string? Kraken { get; set; }

    /// <summary>Pyth Hermes, e.g. https://hermes.pyth.network/.</summary>
    public string? PythHermes { get; set; }
}

/// <summary>One asset of "Keeper:Oracle:Assets".</summary>
public sealed class OracleAssetOptions
{
    /// <summary>Asset symbol as the sources know it (e.g. "ETH"); also the journal's observation key.</summary>
    public string? Symbol { get; set; }

    /// <summary>The hub's oracle id: 0x + 32 bytes, or a symbol hashed with keccak256 (e.g. "ETH/USD"). Default "&lt;Symbol&gt;/USD".</summary>
    public string? Oracle { get; set; }

    /// <summary>The asset's push feed (KeeperPriceFeed). Required for pushing unless the deployment has it.</summary>
    public string? Feed { get; set; }

    /// <summary>Decimals of the feed's answers (0–18). Default: the deployment's, else 8.</summary>
    public int? FeedDecimals { get; set; }

    /// <summary>Pyth price id (0x + 32 bytes): Hermes requests and on-chain Pyth updates. Default: the deployment's.</summary>
    public string? PythPriceId { get; set; }

    /// <summary>Push when the aggregate deviates from the feed by this much (basis points). Default 50.</summary>
    public long? DeviationBps { get; set; }

    /// <summary>Ride along with another asset's push from this deviation (basis points, at most <see cref="DeviationBps"/>). Default 25.</summary>
    public long? EarlyBps { get; set; }

    /// <summary>Push when the feed's round is this old. Default 60 s.</summary>
    public int? HeartbeatSeconds { get; set; }

    /// <summary>An AggregatorV3 feed (e.g. Chainlink) read as one more source; must not be the push feed.</summary>
    public string? ReferenceFeed { get; set; }

    /// <summary>Binance symbol (default for ETH, BTC, SOL, ARB, LINK: e.g. ETHUSDT).</summary>
    public string? BinanceSymbol { get; set; }

    /// <summary>Coinbase product (default for ETH, BTC, SOL, ARB, LINK: e.g. ETH-USD).</summary>
    public string? CoinbaseProduct { get; set; }

    /// <summary>Kraken pair (default for ETH, BTC, SOL, ARB, LINK: e.g. XETHZUSD).</summary>
    public string? KrakenPair { get; set; }
}
