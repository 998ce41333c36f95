using CrossMargin.Devnet;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Signing;
using CrossMargin.Keeper.Cli;
using CrossMargin.Keeper.Configuration;
using CrossMargin.Keeper.Hosting;
using CrossMargin.Risk;
using Microsoft.Extensions.Configuration;

namespace CrossMargin.Keeper.Tests.Configuration;

[Collection(CrossMargin.Keeper.Tests.Cli.ConsoleCollection.Name)]
public sealed class ConfigurationTests : IDisposable
{
    private const string EngineText = AnvilDevAccounts.AnvilDevAddress1;
    private const string HubText = AnvilDevAccounts.AnvilDevAddress2;
    private readonly string _dir = Directory.CreateTempSubdirectory("cm-keeper-config-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private KeeperOptions Good() => new()
    {
        RpcUrls = ["http://127.0.0.1:8545"],
        ChainId = "31337",
        Engine = EngineText,
        OracleHub = HubText,
        DeploymentBlock = "5",
        JournalPath = Path.Combine(_dir, "journal.db"),
        MinProfitUsd = "0.25",
    };

    private static string Failure(KeeperOptions o) => Assert.Single(Assert.Throws<KeeperConfigurationException>(() => KeeperOptionsValidator.Validate(o)).Failures);

    [Fact]
    public void Good_options_validate()
    {
        var s = KeeperOptionsValidator.Validate(Good());
        Assert.Equal(31337UL, s.ChainId);
        Assert.Equal(Address.Parse(EngineText), s.Engine);
        Assert.Equal(Address.Parse(HubText), s.OracleHub);
        Assert.Equal(5UL, s.DeploymentBlock);
        Assert.Equal(RiskMath.Wad / 4, s.Planner.MinProfit);
        Assert.Equal(CrossMargin.Ethereum.Crypto.Keccak256.ComputeUtf8("ETH/USD"), s.Detection.NativeOracleId);
    }

    [Fact]
    public void Each_bad_value_has_its_message()
    {
        var o = Good();
        o.Engine = EngineText.ToLowerInvariant().Replace("0x70997970c", "0x70997970C", StringComparison.Ordinal).Replace("c8", "C8", StringComparison.Ordinal);
        Assert.StartsWith("Keeper:Engine: '", Failure(o), StringComparison.Ordinal);
        o = Good(); o.OracleHub = "0x1234";
        Assert.Contains("Keeper:OracleHub: '0x1234' is not a valid address", Failure(o), StringComparison.Ordinal);
        o = Good(); o.Engine = null;
        Assert.Equal("Keeper:Engine is required (or give --deployment).", Failure(o));
        o = Good(); o.ChainId = "abc";
        Assert.Equal("Keeper:ChainId: 'abc' is not a positive integer.", Failure(o));
        o = Good(); o.ChainId = null;
        Assert.Equal("Keeper:ChainId is required.", Failure(o));
        o = Good(); o.RpcUrls = ["ftp://x"];
        Assert.Equal("Keeper:RpcUrls: 'ftp://x' is not an http(s) URL.", Failure(o));
        o = Good(); o.RpcUrls = [];
        Assert.Equal("Keeper:RpcUrls: at least one JSON-RPC endpoint is required.", Failure(o));
        o = Good(); o.JournalPath = Path.Combine(_dir, "missing", "journal.db");
        Assert.Contains("Keeper:JournalPath: cannot write the journal at", Failure(o), StringComparison.Ordinal);
        o = Good(); o.JournalPath = _dir;
        Assert.EndsWith("it is a directory", Failure(o), StringComparison.Ordinal);
        o = Good(); o.MinProfitUsd = "-1";
        Assert.Equal("Keeper:MinProfitUsd: '-1' is not a non-negative decimal number.", Failure(o));
        o = Good(); o.DeploymentBlock = "12x";
        Assert.Equal("Keeper:DeploymentBlock: '12x' is not a block number.", Failure(o));
        o = Good(); o.Planner.BatchGasBudget = 10;
        Assert.StartsWith("Planner:BatchGasBudget 10 is below", Failure(o), StringComparison.Ordinal);
        o = Good(); o.NativeOracle = "0xabcd";
        Assert.Equal("Keeper:NativeOracle: '0xabcd' is not a 32-byte hex oracle id.", Failure(o));
        o = Good(); o.WebSocketUrl = "http://127.0.0.1:8545";
        Assert.Equal("Keeper:WebSocketUrl: 'http://127.0.0.1:8545' is not a ws(s) URL (or \"off\").", Failure(o));
        o = Good(); o.WebSocketUrl = "off";
        Assert.Null(KeeperOptionsValidator.Validate(o).WebSocketUrl);
        o = Good(); o.Planner.BlockGasBudget = o.Planner.BatchGasBudget - 1;
        Assert.StartsWith("Planner:BlockGasBudget", Failure(o), StringComparison.Ordinal);
        o = Good(); o.Deployment = Path.Combine(_dir, "nope.json");
        Assert.StartsWith("Keeper:Deployment: cannot read devnet deployment", Failure(o), StringComparison.Ordinal);

        // several bad values: all reported
        o = Good(); o.ChainId = "x"; o.Engine = "y"; o.MinProfitUsd = "z";
        Assert.Equal(3, Assert.Throws<KeeperConfigurationException>(() => KeeperOptionsValidator.Validate(o)).Failures.Count);
    }

    [Fact]
    public void Chain_id_must_match_the_rpc()
    {
        KeeperOptionsValidator.CheckChainId(31337, 31337);
        var e = Assert.Throws<KeeperConfigurationException>(() => KeeperOptionsValidator.CheckChainId(1, 31337));
        Assert.Equal("Keeper:ChainId is 1 but the RPC endpoint reports chain id 31337.", e.Message);
    }

    [Fact]
    public void Binding_reads_command_line_and_reports_unparseable_numbers()
    {
        var builder = KeeperHost.CreateBuilder(["--Keeper:Engine=" + EngineText, "--Keeper:Planner:GasPerRequest=80000", "--Keeper:DryRun=true"]);
        var o = KeeperHost.BindOptions(builder.Configuration);
        Assert.Equal(EngineText, o.Engine);
        Assert.Equal(80_000UL, o.Planner.GasPerRequest);
        Assert.True(o.DryRun);

        var bad = KeeperHost.CreateBuilder(["--Keeper:Planner:GasPerRequest=lots"]);
        var e = Assert.Throws<KeeperConfigurationException>(() => KeeperHost.BindOptions(bad.Configuration));
        Assert.Contains("GasPerRequest", e.Message, StringComparison.Ordinal);

        // CLI flags override the other sources
        var over = KeeperHost.CreateBuilder(["--Keeper:DryRun=false"], new Dictionary<string, string?> { ["Keeper:DryRun"] = "true" });
        Assert.True(KeeperHost.BindOptions(over.Configuration).DryRun);
    }

    [Fact]
    public async Task Bad_configuration_exits_with_2_and_one_message_per_value()
    {
        var errors = new StringWriter();
        int code = await KeeperHost.RunAsync(["--Keeper:Engine=0xnope", "--Keeper:ChainId=abc", "--Keeper:RpcUrls:0=http://127.0.0.1:1"], null, null, errors, _ => null);
        Assert.Equal(2, code);
        string[] lines = errors.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("Keeper:ChainId: 'abc' is not a positive integer.", lines);
        Assert.Contains(lines, l => l.StartsWith("Keeper:Engine: '0xnope'", StringComparison.Ordinal));
        Assert.Contains("Keeper:OracleHub is required (or give --deployment).", lines);

        // through the CLI entry point
        Assert.Equal(CliApp.BadArguments, await CliApp.RunAsync(["run", "--Keeper:ChainId=abc", "--dry-run"]));
    }

    [Fact]
    public async Task Missing_key_is_a_configuration_error()
    {
        var errors = new StringWriter();
        var o = Good();
        string[] args = ["--Keeper:RpcUrls:0=http://127.0.0.1:1", "--Keeper:ChainId=31337", "--Keeper:Engine=" + EngineText,
            "--Keeper:OracleHub=" + HubText, "--Keeper:JournalPath=" + o.JournalPath];
        Assert.Equal(2, await KeeperHost.RunAsync(args, null, null, errors, _ => null));
        Assert.Equal("Keeper:KeystorePath is required (a keystore v3 file with the keeper key).", errors.ToString().Trim());
    }

    [Fact]
    public void Keystore_with_password_file_or_env()
    {
        using var key = PrivateKey.FromHex(AnvilDevAccounts.AnvilDevPrivateKey3);
        string ks = Path.Combine(_dir, "key.json");
        File.WriteAllText(ks, Keystore.Encrypt(key, "s3cret", KeystoreKdf.Scrypt(1 << 10, 8, 1)));
        string pw = Path.Combine(_dir, "pw.txt");
        File.WriteAllText(pw, "s3cret\n");
        var o = new KeeperOptions { KeystorePath = ks, KeystorePasswordFile = pw };
        using (var loaded = KeyLoader.Load(o, _ => null)) Assert.Equal(key.Address, loaded.Address);
        o.KeystorePasswordFile = null;
        using (var loaded = KeyLoader.Load(o, n => n == "CROSSMARGIN_KEYSTORE_PASSWORD" ? "s3cret" : null)) Assert.Equal(key.Address, loaded.Address);

        var e = Assert.Throws<KeeperConfigurationException>(() => KeyLoader.Load(o, _ => null));
        Assert.Equal("No keystore password: set CROSSMARGIN_KEYSTORE_PASSWORD or Keeper:KeystorePasswordFile.", e.Message);
        e = Assert.Throws<KeeperConfigurationException>(() => KeyLoader.Load(o, n => n == "CROSSMARGIN_KEYSTORE_PASSWORD" ? "wrong" : null));
        Assert.Contains("wrong password or damaged keystore", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong\"", e.Message, StringComparison.Ordinal);
        o.KeystorePath = Path.Combine(_dir, "none.json");
        e = Assert.Throws<KeeperConfigurationException>(() => KeyLoader.Load(o, n => n == "CROSSMARGIN_KEYSTORE_PASSWORD" ? "s3cret" : null));
        Assert.StartsWith("Keeper:KeystorePath: cannot read", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Raw_key_only_with_the_dev_flag()
    {
        string raw = AnvilDevAccounts.AnvilDevPrivateKey4;
        Func<string, string?> env = n => n == "CROSSMARGIN_DEV_PRIVATE_KEY" ? raw : null;
        var e = Assert.Throws<KeeperConfigurationException>(() => KeyLoader.Load(new KeeperOptions(), env));
        Assert.StartsWith("A raw private key in CROSSMARGIN_DEV_PRIVATE_KEY is refused", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(raw[2..], e.Message, StringComparison.OrdinalIgnoreCase);
        using var key = KeyLoader.Load(new KeeperOptions { AllowRawKey = true }, env);
        Assert.Equal(Address.Parse(AnvilDevAccounts.AnvilDevAddress4), key.Address);
        e = Assert.Throws<KeeperConfigurationException>(() => KeyLoader.Load(new KeeperOptions { AllowRawKey = true }, n => n == "CROSSMARGIN_DEV_PRIVATE_KEY" ? "0x12" : null));
        Assert.Equal("CROSSMARGIN_DEV_PRIVATE_KEY: not a valid 32-byte hex private key.", e.Message);
    }
}
