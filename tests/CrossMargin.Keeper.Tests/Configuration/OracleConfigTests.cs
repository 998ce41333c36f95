using CrossMargin.Devnet;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Crypto;
using CrossMargin.Ethereum.Signing;
using CrossMargin.Keeper.Configuration;
using CrossMargin.Keeper.Hosting;

namespace CrossMargin.Keeper.Tests.Configuration;

public sealed class OracleConfigTests : IDisposable
{
    private const string EngineText = AnvilDevAccounts.AnvilDevAddress1;
    private const string HubText = AnvilDevAccounts.AnvilDevAddress2;
    private const string FeedText = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
    private const string PythIdText = "0xff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace";
    private readonly string _dir = Directory.CreateTempSubdirectory("cm-oracle-config-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private KeeperOptions Base() => new()
    {
        RpcUrls = ["http://127.0.0.1:8545"],
        ChainId = "31337",
        Engine = EngineText,
        OracleHub = HubText,
        DeploymentBlock = "5",
        JournalPath = Path.Combine(_dir, "journal.db"),
    };

    /// <summary>Two sources and one fully specified asset.</summary>
    private KeeperOptions Good()
    {
        var o = Base();
        o.Oracle.Sources.Binance = "https://api.binance.com";
        o.Oracle.Sources.PythHermes = "https://hermes.pyth.network/";
        o.Oracle.Assets.Add(new OracleAssetOptions { Symbol = "ETH", Feed = FeedText, PythPriceId = PythIdText });
        return o;
    }

    private static string Failure(KeeperOptions o) => Assert.Single(Failures(o));

    private static IReadOnlyList<string> Failures(KeeperOptions o) =>
        Assert.Throws<KeeperConfigurationException>(() => KeeperOptionsValidator.Validate(o)).Failures;

    [Fact]
    public void Good_oracle_options_validate_with_defaults()
    {
        OracleSettings o = KeeperOptionsValidator.Validate(Good()).Oracle!;
        Assert.True(o.Push);
        Assert.True(o.Gate);
        Assert.Equal(new Uri("https://api.binance.com/"), o.Binance); // a base URL always ends with a slash
        Assert.Equal(new Uri("https://hermes.pyth.network/"), o.PythHermes);
        Assert.Null(o.Coinbase);
        Assert.Equal(2, o.SourceCount);
        OracleAssetSettings eth = Assert.Single(o.Assets);
        Assert.Equal("ETH", eth.Symbol);
        Assert.Equal(Keccak256.ComputeUtf8("ETH/USD"), eth.OracleId); // default oracle: "<Symbol>/USD", hashed
        Assert.Equal(Address.Parse(FeedText), eth.Feed);
        Assert.Equal(8, eth.FeedDecimals);
        Assert.Equal(Hash32.Parse(PythIdText), eth.PythPriceId);
        Assert.Equal((50L, 25L, TimeSpan.FromSeconds(60)), (eth.DeviationBps, eth.EarlyBps, eth.Heartbeat));
        Assert.Equal(200, o.Aggregation.SanityBandBps);
        Assert.Equal(TimeSpan.FromSeconds(5), o.RoundInterval);
        Assert.Null(o.PythContract);
    }

    [Fact]
    public void Explicit_values_are_taken()
    {
        var opts = Good();
        var a = opts.Oracle.Assets[0];
        a.Oracle = "0x" + new string('a', 64);
        a.FeedDecimals = 18;
        a.DeviationBps = 30;
        a.EarlyBps = 10;
        a.HeartbeatSeconds = 600;
        a.KrakenPair = "XETHZUSD";
        opts.Oracle.GateBandBps = 150;
        opts.Oracle.RoundIntervalMs = 1000;
        opts.Oracle.PythContract = AnvilDevAccounts.AnvilDevAddress1;
        opts.Oracle.Push = false;
        OracleSettings o = KeeperOptionsValidator.Validate(opts).Oracle!;
        OracleAssetSettings eth = o.Assets[0];
        Assert.Equal(Hash32.Parse("0x" + new string('a', 64)), eth.OracleId);
        Assert.Equal((18, 30L, 10L, TimeSpan.FromMinutes(10), "XETHZUSD"), (eth.FeedDecimals, eth.DeviationBps, eth.EarlyBps, eth.Heartbeat, eth.KrakenPair));
        Assert.Equal(150, o.Aggregation.SanityBandBps);
        Assert.Equal(TimeSpan.FromSeconds(1), o.RoundInterval);
        Assert.Equal(Address.Parse(AnvilDevAccounts.AnvilDevAddress1), o.PythContract);
        Assert.False(o.Push);
    }

    [Fact]
    public void Switched_off_or_unconfigured_oracle_does_not_run_and_is_not_validated()
    {
        Assert.Null(KeeperOptionsValidator.Validate(Base()).Oracle); // nothing configured
        var noOracle = Good();
        noOracle.Oracle.Sources.Kraken = "not a url";
        noOracle.OracleEnabled = false; // --no-oracle: the section is ignored
        Assert.Null(KeeperOptionsValidator.Validate(noOracle).Oracle);
        var off = Good();
        off.Oracle.GateBandBps = -1;
        off.Oracle.Enabled = false;
        Assert.Null(KeeperOptionsValidator.Validate(off).Oracle);
        var dry = Good();
        dry.DryRun = true;
        Assert.False(KeeperOptionsValidator.Validate(dry).Oracle!.Push); // a dry run never sends
    }

    [Fact]
    public void Enabled_without_configuration_is_an_error()
    {
        var o = Base();
        o.Oracle.Enabled = true;
        var f = Failures(o);
        Assert.Equal(2, f.Count);
        Assert.Equal("Keeper:Oracle:Sources: no price source configured (set Binance, Coinbase, Kraken or PythHermes, or an asset's ReferenceFeed), or switch the oracle off with --no-oracle.", f[0]);
        Assert.Equal("Keeper:Oracle:Assets: at least one asset is required (or give Keeper:Deployment).", f[1]);

        var assetsOnly = Base();
        assetsOnly.Oracle.Assets.Add(new OracleAssetOptions { Symbol = "ETH", Feed = FeedText });
        Assert.StartsWith("Keeper:Oracle:Sources: no price source configured", Failure(assetsOnly), StringComparison.Ordinal);
    }

    public static TheoryData<string, string> BadValues => new()
    {
        { "Sources:Coinbase=ftp://x", "Keeper:Oracle:Sources:Coinbase: 'ftp://x' is not an http(s) base URL." },
        { "Sources:Kraken=https://api.kraken.com/?x=1", "Keeper:Oracle:Sources:Kraken: 'https://api.kraken.com/?x=1' is not an http(s) base URL." },
        { "PythContract=0x1234", "Keeper:Oracle:PythContract: '0x1234' is not a valid non-zero address (20-byte hex with a correct EIP-55 checksum)." },
        { "GateBandBps=0", "Keeper:Oracle:GateBandBps: 0 is not between 1 and 10000 basis points." },
        { "MaxRoundAgeSeconds=0", "Keeper:Oracle:MaxRoundAgeSeconds: 0 is not between 1 and 86400 seconds." },
        { "MaxRoundAgeSeconds=5", "Keeper:Oracle:MaxRoundAgeSeconds (5 s) must be at least two round intervals (Keeper:Oracle:RoundIntervalMs = 5000 ms): the gate would block between rounds." },
        { "AgreementBps=20000", "Keeper:Oracle:AgreementBps: 20000 is not between 1 and 10000 basis points." },
        { "RecoveryRounds=0", "Keeper:Oracle:RecoveryRounds: 0 is not between 1 and 1000 rounds." },
        { "MaxSampleAgeSeconds=-1", "Keeper:Oracle:MaxSampleAgeSeconds: -1 is not between 1 and 86400 seconds." },
        { "ReferenceFeedMaxAgeSeconds=0", "Keeper:Oracle:ReferenceFeedMaxAgeSeconds: 0 is not between 1 and 604800 seconds." },
        { "RoundIntervalMs=10", "Keeper:Oracle:RoundIntervalMs: 10 is not between 100 and 3600000 milliseconds." },
        { "SourceTimeoutMs=0", "Keeper:Oracle:SourceTimeoutMs: 0 is not between 100 and 120000 milliseconds." },
        { "SourceRetries=11", "Keeper:Oracle:SourceRetries: 11 is not between 0 and 10 retries." },
        { "PythDeviationBps=0", "Keeper:Oracle:PythDeviationBps: 0 is not between 1 and 10000 basis points." },
        { "PythHeartbeatSeconds=0", "Keeper:Oracle:PythHeartbeatSeconds: 0 is not between 1 and 86400 seconds." },
        { "Assets:0:Symbol=", "Keeper:Oracle:Assets:0:Symbol is required (e.g. \"ETH\")." },
        { "Assets:0:Symbol=ETH USD", "Keeper:Oracle:Assets:0:Symbol: 'ETH USD' must not contain spaces." },
        { "Assets:0:Oracle=0xabcd", "Keeper:Oracle:Assets:0:Oracle: '0xabcd' is not a 32-byte hex oracle id." },
        { "Assets:0:Feed=0xnope", "Keeper:Oracle:Assets:0:Feed: '0xnope' is not a valid address (20-byte hex with a correct EIP-55 checksum)." },
        { "Assets:0:Feed=0x0000000000000000000000000000000000000000", "Keeper:Oracle:Assets:0:Feed: the zero address is not a feed." },
        { "Assets:0:FeedDecimals=19", "Keeper:Oracle:Assets:0:FeedDecimals: 19 is not between 0 and 18." },
        { "Assets:0:PythPriceId=0x12", "Keeper:Oracle:Assets:0:PythPriceId: '0x12' is not a non-zero 32-byte hex price id." },
        { "Assets:0:DeviationBps=0", "Keeper:Oracle:Assets:0:DeviationBps: 0 is not between 1 and 10000 basis points." },
        { "Assets:0:EarlyBps=60", "Keeper:Oracle:Assets:0:EarlyBps: 60 is not between 1 and DeviationBps (50)." },
        { "Assets:0:HeartbeatSeconds=0", "Keeper:Oracle:Assets:0:HeartbeatSeconds: 0 is not between 1 and 604800 seconds." },
        { "Assets:0:ReferenceFeed=" + FeedText, "Keeper:Oracle:Assets:0:ReferenceFeed is the asset's own push feed: a source must not read back what the bot pushes." },
        { "Assets:0:BinanceSymbol=ETH USDT", "Keeper:Oracle:Assets:0:BinanceSymbol: 'ETH USDT' may contain only letters, digits, '-', '_', '.' and '/'." },
        { "Assets:1:Symbol=ETH|Assets:1:Feed=" + FeedText, "Keeper:Oracle:Assets:1:Symbol: 'ETH' is configured twice." },
        { "Assets:1:Symbol=WETH|Assets:1:Oracle=ETH/USD|Assets:1:Feed=" + FeedText, "Keeper:Oracle:Assets:1:Oracle: oracle id " + Keccak256.ComputeUtf8("ETH/USD") + " is used by another asset." },
        { "Assets:1:Symbol=WETH", "Keeper:Oracle:Assets:1:Feed is required while Keeper:Oracle:Push is on (the asset's push feed; or give Keeper:Deployment, or set Push to false)." },
        { "Assets:0:PythPriceId=", "Keeper:Oracle:Sources:PythHermes is set but no asset has a PythPriceId." },
    };

    /// <summary>Each bad value, given as configuration text ('|' separates several settings), yields exactly its own message.</summary>
    [Theory]
    [MemberData(nameof(BadValues))]
    public void Each_bad_value_gets_its_own_message(string setting, string message)
    {
        var good = Good();
        var args = new List<string>
        {
            "--Keeper:Oracle:Sources:Binance=" + good.Oracle.Sources.Binance,
            "--Keeper:Oracle:Sources:PythHermes=" + good.Oracle.Sources.PythHermes,
            "--Keeper:Oracle:Assets:0:Symbol=ETH",
            "--Keeper:Oracle:Assets:0:Feed=" + FeedText,
            "--Keeper:Oracle:Assets:0:PythPriceId=" + PythIdText,
        };
        args.AddRange(setting.Split('|').Select(x => "--Keeper:Oracle:" + x));
        KeeperOptions o = KeeperHost.BindOptions(KeeperHost.CreateBuilder([.. args]).Configuration);
        (o.RpcUrls, o.ChainId, o.Engine, o.OracleHub, o.JournalPath) = (good.RpcUrls, good.ChainId, good.Engine, good.OracleHub, good.JournalPath);
        Assert.Equal(message, Failure(o));
    }

    [Fact]
    public void Oracle_section_binds_from_configuration_and_unparseable_numbers_are_named()
    {
        var builder = KeeperHost.CreateBuilder(["--Keeper:Oracle:Enabled=true", "--Keeper:Oracle:Push=false", "--Keeper:Oracle:Assets:0:Symbol=BTC",
            "--Keeper:Oracle:Assets:0:DeviationBps=40", "--Keeper:Oracle:Sources:Kraken=https://api.kraken.com/"]);
        KeeperOptions o = KeeperHost.BindOptions(builder.Configuration);
        Assert.True(o.Oracle.Enabled);
        Assert.False(o.Oracle.Push);
        Assert.Equal(40, Assert.Single(o.Oracle.Assets).DeviationBps);
        Assert.Equal("https://api.kraken.com/", o.Oracle.Sources.Kraken);

        var bad = KeeperHost.CreateBuilder(["--Keeper:Oracle:GateBandBps=wide"]);
        var e = Assert.Throws<KeeperConfigurationException>(() => KeeperHost.BindOptions(bad.Configuration));
        Assert.Contains("Keeper:Oracle:GateBandBps", e.Message, StringComparison.Ordinal);
    }

    private string SaveDeployment()
    {
        var oracles = new[] { "ETH/USD", "BTC/USD" }.Select((s, i) => new DevnetOracle(s, Keccak256.ComputeUtf8(s),
            Address.Parse("0x" + (i + 1).ToString("x40", System.Globalization.CultureInfo.InvariantCulture)), Keccak256.ComputeUtf8("pyth:" + s), 3600, 8)).ToArray();
        var dep = new DevnetDeployment
        {
            ChainId = 31337,
            RpcUrl = new Uri("http://127.0.0.1:8545/"),
            DeployBlock = 1,
            Deployer = Address.Parse(AnvilDevAccounts.AnvilDevAddress1),
            Contracts = new Dictionary<string, Address>
            {
                [ContractNames.Engine] = Address.Parse(EngineText),
                [ContractNames.OracleHub] = Address.Parse(HubText),
                [ContractNames.MockPyth] = Address.Parse("0x00000000000000000000000000000000000000aa"),
            },
            Oracles = oracles,
            Assets = [],
            Markets = [],
        };
        string path = Path.Combine(_dir, "deployment.json");
        dep.Save(path);
        return path;
    }

    [Fact]
    public void Assets_default_from_the_deployment()
    {
        var o = new KeeperOptions { Deployment = SaveDeployment(), JournalPath = Path.Combine(_dir, "journal.db") };
        o.Oracle.Sources.Coinbase = "https://api.exchange.coinbase.com";
        OracleSettings s = KeeperOptionsValidator.Validate(o).Oracle!;
        Assert.Equal(["ETH", "BTC"], s.Assets.Select(a => a.Symbol));
        OracleAssetSettings btc = s.Assets[1];
        Assert.Equal(Keccak256.ComputeUtf8("BTC/USD"), btc.OracleId);
        Assert.Equal(Address.Parse("0x0000000000000000000000000000000000000002"), btc.Feed);
        Assert.Equal(Keccak256.ComputeUtf8("pyth:BTC/USD"), btc.PythPriceId);
        Assert.Equal(Address.Parse("0x00000000000000000000000000000000000000aa"), s.PythContract);

        // listed assets take what they do not say from the deployment oracle with the same id
        o.Oracle.Assets.Add(new OracleAssetOptions { Symbol = "WBTC", Oracle = "BTC/USD", DeviationBps = 20, EarlyBps = 10 });
        OracleAssetSettings wbtc = Assert.Single(KeeperOptionsValidator.Validate(o).Oracle!.Assets);
        Assert.Equal(("WBTC", btc.OracleId, btc.Feed, btc.PythPriceId, 20L), (wbtc.Symbol, wbtc.OracleId, wbtc.Feed, wbtc.PythPriceId, wbtc.DeviationBps));
    }

    [Fact]
    public void Separate_pusher_key_loads_and_must_differ_from_the_keeper_key()
    {
        var o = Good();
        KeeperSettings s = KeeperOptionsValidator.Validate(o);
        Address keeper = Address.Parse(AnvilDevAccounts.AnvilDevAddress2);
        string raw = AnvilDevAccounts.All[0].PrivateKeyHex;
        Assert.Null(OracleKeyLoader.Load(o, s, keeper, _ => null)); // default: share the keeper's executor

        var refused = Assert.Throws<KeeperConfigurationException>(() => OracleKeyLoader.Load(o, s, keeper, n => n == "CROSSMARGIN_ORACLE_DEV_PRIVATE_KEY" ? raw : null));
        Assert.Equal("A raw private key in CROSSMARGIN_ORACLE_DEV_PRIVATE_KEY is refused: use a keystore (Keeper:Oracle:KeystorePath), or set Keeper:AllowRawKey=true on a development chain only.",
            Assert.Single(refused.Failures));
        o.AllowRawKey = true;
        using (PrivateKey? k = OracleKeyLoader.Load(o, s, keeper, n => n == "CROSSMARGIN_ORACLE_DEV_PRIVATE_KEY" ? raw : null))
            Assert.Equal(AnvilDevAccounts.All[0].Address, k!.Address);
        var same = Assert.Throws<KeeperConfigurationException>(() => OracleKeyLoader.Load(o, s, AnvilDevAccounts.All[0].Address, n => n == "CROSSMARGIN_ORACLE_DEV_PRIVATE_KEY" ? raw : null));
        Assert.StartsWith("Keeper:Oracle:KeystorePath: the pusher key is the keeper's own key", Assert.Single(same.Failures), StringComparison.Ordinal);
        Assert.Equal("CROSSMARGIN_ORACLE_DEV_PRIVATE_KEY: not a valid 32-byte hex private key.",
            Assert.Single(Assert.Throws<KeeperConfigurationException>(() => OracleKeyLoader.Load(o, s, keeper, n => n == "CROSSMARGIN_ORACLE_DEV_PRIVATE_KEY" ? "0x12" : null)).Failures));

        // keystore: password from the environment or a file
        using var key = PrivateKey.FromHex(raw);
        string keystore = Path.Combine(_dir, "oracle.json");
        File.WriteAllText(keystore, Keystore.Encrypt(key, "secret", KeystoreKdf.Scrypt(1 << 10, 8, 1)));
        o.Oracle.KeystorePath = keystore;
        Assert.Equal("No password for Keeper:Oracle:KeystorePath: set CROSSMARGIN_ORACLE_KEYSTORE_PASSWORD or Keeper:Oracle:KeystorePasswordFile.",
            Assert.Single(Assert.Throws<KeeperConfigurationException>(() => OracleKeyLoader.Load(o, s, keeper, _ => null)).Failures));
        using (PrivateKey? k = OracleKeyLoader.Load(o, s, keeper, n => n == "CROSSMARGIN_ORACLE_KEYSTORE_PASSWORD" ? "secret" : null))
            Assert.Equal(key.Address, k!.Address);
        Assert.Contains("wrong password or damaged keystore",
            Assert.Single(Assert.Throws<KeeperConfigurationException>(() => OracleKeyLoader.Load(o, s, keeper, n => n == "CROSSMARGIN_ORACLE_KEYSTORE_PASSWORD" ? "nope" : null)).Failures),
            StringComparison.Ordinal);
        o.Oracle.KeystorePath = Path.Combine(_dir, "missing.json");
        Assert.StartsWith("Keeper:Oracle:KeystorePath: cannot read '", Assert.Single(Assert.Throws<KeeperConfigurationException>(() => OracleKeyLoader.Load(o, s, keeper, _ => null)).Failures),
            StringComparison.Ordinal);

        // no pusher, no key
        o.Oracle.Push = false;
        Assert.Null(OracleKeyLoader.Load(o, KeeperOptionsValidator.Validate(o), keeper, _ => "anything"));
    }

    [Fact]
    public async Task Bad_oracle_configuration_exits_with_2()
    {
        var errors = new StringWriter();
        string[] args = ["--Keeper:RpcUrls:0=http://127.0.0.1:1", "--Keeper:ChainId=31337", "--Keeper:Engine=" + EngineText, "--Keeper:OracleHub=" + HubText,
            "--Keeper:JournalPath=" + Path.Combine(_dir, "journal.db"), "--Keeper:Oracle:Sources:Binance=binance", "--Keeper:Oracle:GateBandBps=0"];
        Assert.Equal(KeeperHost.BadConfiguration, await KeeperHost.RunAsync(args, null, null, errors, _ => null));
        string[] lines = errors.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(
        [
            "Keeper:Oracle:Sources:Binance: 'binance' is not an http(s) base URL.",
            "Keeper:Oracle:Assets: at least one asset is required (or give Keeper:Deployment).",
            "Keeper:Oracle:GateBandBps: 0 is not between 1 and 10000 basis points.",
        ], lines);

        // --no-oracle: the same section is ignored (and the missing key is the only problem)
        errors = new StringWriter();
        Assert.Equal(KeeperHost.BadConfiguration, await KeeperHost.RunAsync(args, new Dictionary<string, string?> { ["Keeper:OracleEnabled"] = "false" }, null, errors, _ => null));
        Assert.Equal("Keeper:KeystorePath is required (a keystore v3 file with the keeper key).", errors.ToString().Trim());
    }
}
