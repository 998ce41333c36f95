using System.Globalization;
using System.Text;
using System.Text.Json;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Devnet;

/// <summary>One oracle id of the devnet: its push feed and its Pyth price id.</summary>
public sealed record DevnetOracle(string Symbol, Hash32 OracleId, Address PushFeed, Hash32 PythPriceId, uint MaxStalenessSeconds, byte FeedDecimals);

/// <summary>An engine asset as deployed. Asset 0 (settlement cash) has no oracle.</summary>
public sealed record DevnetAsset(
    int Id, string Symbol, Address Token, byte Decimals, string? OracleSymbol, Hash32 OracleId, Address? PushFeed, Hash32 PythPriceId,
    UInt256 InitialWeight, UInt256 MaintenanceWeight, UInt256 LiquidationDiscount, UInt256 DepositCap);

/// <summary>An engine market as deployed (fractions are WAD).</summary>
public sealed record DevnetMarket(
    int Id, string Symbol, string OracleSymbol, Hash32 OracleId, Address PushFeed, Hash32 PythPriceId,
    UInt256 InitialMarginFraction, UInt256 MaintenanceMarginFraction, UInt256 MinPositionMargin, UInt256 TakerFee,
    UInt256 LiquidationPenalty, UInt256 KeeperShare, UInt256 MaxLiquidationFraction, UInt256 LiquidationBuffer);

/// <summary>What a devnet deployment file failed on.</summary>
public enum DevnetDeploymentError
{
    FileNotFound,
    InvalidJson,
    MissingField,
    InvalidValue,
}

/// <summary>A deployment file could not be read; <see cref="Field"/> is the JSON path of the offending value.</summary>
public sealed class DevnetDeploymentException : DevnetException
{
    public DevnetDeploymentException() { }

    public DevnetDeploymentException(string message) : base(message) { }

    public DevnetDeploymentException(string message, Exception inner) : base(message, inner) { }

    public DevnetDeploymentException(DevnetDeploymentError error, string field, string message, Exception? inner = null)
        : base($"{error} at {field}: {message}", inner ?? new FormatException(message))
    {
        Error = error;
        Field = field;
    }

    public DevnetDeploymentError Error { get; }

    public string Field { get; } = "";
}

/// <summary>
/// A deployed devnet: chain, contracts, oracles, assets, markets and seeded accounts. Written as JSON
/// (<see cref="WriteTo(Stream)"/>, <see cref="Save"/>) and read back strictly (<see cref="Load"/>).
/// </summary>
public sealed record DevnetDeployment
{
    public const int FormatVersion = 1;

    public required ulong ChainId { get; init; }
    public required Uri RpcUrl { get; init; }
    public Uri? WsUrl { get; init; }
    public required ulong DeployBlock { get; init; }
    public required Address Deployer { get; init; }

    /// <summary>Contract name → address: CrossMarginEngine, OracleHub, MockPyth, USDC, WETH, WBTC, feed.ETH/USD, ...</summary>
    public required IReadOnlyDictionary<string, Address> Contracts { get; init; }
    public required IReadOnlyList<DevnetOracle> Oracles { get; init; }
    public required IReadOnlyList<DevnetAsset> Assets { get; init; }
    public required IReadOnlyList<DevnetMarket> Markets { get; init; }

    /// <summary>OracleHub max deviation (WAD) applied to every oracle id.</summary>
    public UInt256 MaxDeviation { get; init; }
    public UInt256 PythUpdateFeeWei { get; init; }
    public ulong PythValidTimePeriod { get; init; }

    /// <summary>Seed of the deterministic account keys (see <see cref="DevnetAccounts"/>), when accounts were seeded.</summary>
    public ulong? AccountSeed { get; init; }
    public IReadOnlyList<Address> Accounts { get; init; } = [];

    public Address Engine => Contract(ContractNames.Engine);
    public Address OracleHub => Contract(ContractNames.OracleHub);
    public Address MockPyth => Contract(ContractNames.MockPyth);

    public Address Contract(string name) =>
        Contracts.TryGetValue(name, out var a) ? a : throw new KeyNotFoundException($"The deployment has no contract named '{name}'.");

    public DevnetOracle Oracle(string symbol) =>
        Oracles.FirstOrDefault(o => o.Symbol == symbol) ?? throw new KeyNotFoundException($"The deployment has no oracle '{symbol}'.");

    public DevnetAsset Asset(string symbol) =>
        Assets.FirstOrDefault(a => a.Symbol == symbol) ?? throw new KeyNotFoundException($"The deployment has no asset '{symbol}'.");

    public DevnetMarket Market(string symbol) =>
        Markets.FirstOrDefault(m => m.Symbol == symbol) ?? throw new KeyNotFoundException($"The deployment has no market '{symbol}'.");

    /// <summary>The default file: devnet/.deploy/devnet-&lt;chainId&gt;.json (git-ignored).</summary>
    public static string DefaultPath(ulong chainId) =>
        Path.Combine(DevnetPaths.DevnetDir, ".deploy", string.Create(CultureInfo.InvariantCulture, $"devnet-{chainId}.json"));

    /// <summary>Writes the JSON file (creating its directory).</summary>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        using var stream = File.Create(path);
        WriteTo(stream);
    }

    public string ToJson()
    {
        using var ms = new MemoryStream();
        WriteTo(ms);
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    public void WriteTo(Stream stream)
    {
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        w.WriteNumber("version", FormatVersion);
        w.WriteNumber("chainId", ChainId);
        w.WriteString("rpcUrl", RpcUrl.ToString());
        if (WsUrl is not null) w.WriteString("wsUrl", WsUrl.ToString());
        w.WriteNumber("deployBlock", DeployBlock);
        w.WriteString("deployer", Deployer.ToString());
        w.WriteStartObject("contracts");
        foreach (var (name, address) in Contracts) w.WriteString(name, address.ToString());
        w.WriteEndObject();
        w.WriteString("maxDeviation", MaxDeviation.ToString());
        w.WriteString("pythUpdateFeeWei", PythUpdateFeeWei.ToString());
        w.WriteNumber("pythValidTimePeriod", PythValidTimePeriod);
        w.WriteStartArray("oracles");
        foreach (var o in Oracles)
        {
            w.WriteStartObject();
            w.WriteString("symbol", o.Symbol);
            w.WriteString("oracleId", o.OracleId.ToString());
            w.WriteString("pushFeed", o.PushFeed.ToString());
            w.WriteString("pythPriceId", o.PythPriceId.ToString());
            w.WriteNumber("maxStaleness", o.MaxStalenessSeconds);
            w.WriteNumber("feedDecimals", o.FeedDecimals);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("assets");
        foreach (var a in Assets)
        {
            w.WriteStartObject();
            w.WriteNumber("id", a.Id);
            w.WriteString("symbol", a.Symbol);
            w.WriteString("token", a.Token.ToString());
            w.WriteNumber("decimals", a.Decimals);
            if (a.OracleSymbol is null) w.WriteNull("oracle");
            else w.WriteString("oracle", a.OracleSymbol);
            w.WriteString("oracleId", a.OracleId.ToString());
            if (a.PushFeed is { } feed) w.WriteString("pushFeed", feed.ToString());
            else w.WriteNull("pushFeed");
            w.WriteString("pythPriceId", a.PythPriceId.ToString());
            w.WriteStartObject("weights");
            w.WriteString("initial", a.InitialWeight.ToString());
            w.WriteString("maintenance", a.MaintenanceWeight.ToString());
            w.WriteEndObject();
            w.WriteString("liquidationDiscount", a.LiquidationDiscount.ToString());
            w.WriteString("depositCap", a.DepositCap.ToString());
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("markets");
        foreach (var m in Markets)
        {
            w.WriteStartObject();
            w.WriteNumber("id", m.Id);
            w.WriteString("symbol", m.Symbol);
            w.WriteString("oracle", m.OracleSymbol);
            w.WriteString("oracleId", m.OracleId.ToString());
            w.WriteString("pushFeed", m.PushFeed.ToString());
            w.WriteString("pythPriceId", m.PythPriceId.ToString());
            w.WriteString("initialMarginFraction", m.InitialMarginFraction.ToString());
            w.WriteString("maintenanceMarginFraction", m.MaintenanceMarginFraction.ToString());
            w.WriteString("minPositionMargin", m.MinPositionMargin.ToString());
            w.WriteString("takerFee", m.TakerFee.ToString());
            w.WriteString("liquidationPenalty", m.LiquidationPenalty.ToString());
            w.WriteString("keeperShare", m.KeeperShare.ToString());
            w.WriteString("maxLiquidationFraction", m.MaxLiquidationFraction.ToString());
            w.WriteString("liquidationBuffer", m.LiquidationBuffer.ToString());
            w.WriteEndObject();
        }

        w.WriteEndArray();
        if (AccountSeed is { } seed) w.WriteNumber("accountSeed", seed);
        else w.WriteNull("accountSeed");
        w.WriteStartArray("accounts");
        foreach (var a in Accounts) w.WriteStringValue(a.ToString());
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>Reads and validates a deployment file; every problem is a <see cref="DevnetDeploymentException"/>.</summary>
    public static DevnetDeployment Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new DevnetDeploymentException(DevnetDeploymentError.FileNotFound, "$", $"no deployment file at {path}", ex);
        }

        return Parse(bytes);
    }

    /// <summary>Parses and validates deployment JSON.</summary>
    public static DevnetDeployment Parse(ReadOnlySpan<byte> json)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json.ToArray());
        }
        catch (JsonException ex)
        {
            throw new DevnetDeploymentException(DevnetDeploymentError.InvalidJson, "$", ex.Message, ex);
        }

        using (doc)
        {
            var root = new Reader(doc.RootElement, "$");
            root.RequireKind(JsonValueKind.Object);
            int version = root.Int("version");
            if (version != FormatVersion) throw root.Invalid("version", $"unsupported version {version}");
            var contracts = new Dictionary<string, Address>(StringComparer.Ordinal);
            var c = root.Object("contracts");
            foreach (var p in c.Element.EnumerateObject()) contracts[p.Name] = c.Address(p.Name);
            var deployment = new DevnetDeployment
            {
                ChainId = root.ULong("chainId"),
                RpcUrl = root.Uri("rpcUrl"),
                WsUrl = root.Has("wsUrl") ? root.Uri("wsUrl") : null,
                DeployBlock = root.ULong("deployBlock"),
                Deployer = root.Address("deployer"),
                Contracts = contracts,
                MaxDeviation = root.UInt256("maxDeviation"),
                PythUpdateFeeWei = root.UInt256("pythUpdateFeeWei"),
                PythValidTimePeriod = root.ULong("pythValidTimePeriod"),
                Oracles = root.Array("oracles").Select(o => new DevnetOracle(
                    o.String("symbol"), o.Hash("oracleId"), o.Address("pushFeed"), o.Hash("pythPriceId"),
                    checked((uint)o.ULong("maxStaleness")), checked((byte)o.ULong("feedDecimals")))).ToArray(),
                Assets = root.Array("assets").Select(a =>
                {
                    var weights = a.Object("weights");
                    return new DevnetAsset(
                        a.Int("id"), a.String("symbol"), a.Address("token"), a.Byte("decimals"), a.NullableString("oracle"), a.Hash("oracleId"),
                        a.NullableAddress("pushFeed"), a.Hash("pythPriceId"), weights.UInt256("initial"), weights.UInt256("maintenance"),
                        a.UInt256("liquidationDiscount"), a.UInt256("depositCap"));
                }).ToArray(),
                Markets = root.Array("markets").Select(m => new DevnetMarket(
                    m.Int("id"), m.String("symbol"), m.String("oracle"), m.Hash("oracleId"), m.Address("pushFeed"), m.Hash("pythPriceId"),
                    m.UInt256("initialMarginFraction"), m.UInt256("maintenanceMarginFraction"), m.UInt256("minPositionMargin"), m.UInt256("takerFee"),
                    m.UInt256("liquidationPenalty"), m.UInt256("keeperShare"), m.UInt256("maxLiquidationFraction"), m.UInt256("liquidationBuffer"))).ToArray(),
                AccountSeed = root.IsNull("accountSeed") ? null : root.ULong("accountSeed"),
                Accounts = root.Array("accounts").Select(a => a.AsAddress()).ToArray(),
            };
            foreach (string required in ContractNames.Required)
            {
                if (!contracts.ContainsKey(required)) throw new DevnetDeploymentException(DevnetDeploymentError.MissingField, "$.contracts." + required, "required contract missing");
            }

            for (int i = 0; i < deployment.Assets.Count; i++)
            {
                if (deployment.Assets[i].Id != i) throw new DevnetDeploymentException(DevnetDeploymentError.InvalidValue, $"$.assets[{i}].id", "asset ids must be 0..n-1 in order");
            }

            for (int i = 0; i < deployment.Markets.Count; i++)
            {
                if (deployment.Markets[i].Id != i) throw new DevnetDeploymentException(DevnetDeploymentError.InvalidValue, $"$.markets[{i}].id", "market ids must be 0..n-1 in order");
            }

            return deployment;
        }
    }

    /// <summary>Strict typed access to one JSON object, with the JSON path in every error.</summary>
    private readonly struct Reader(JsonElement element, string path)
    {
        public JsonElement Element { get; } = element;

        public void RequireKind(JsonValueKind kind)
        {
            if (Element.ValueKind != kind) throw new DevnetDeploymentException(DevnetDeploymentError.InvalidValue, path, $"expected {kind}, got {Element.ValueKind}");
        }

        public bool Has(string name) => Element.TryGetProperty(name, out _);

        public bool IsNull(string name) => !Element.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null;

        public DevnetDeploymentException Invalid(string name, string message) =>
            new(DevnetDeploymentError.InvalidValue, path + "." + name, message);

        private JsonElement Get(string name, JsonValueKind kind)
        {
            if (!Element.TryGetProperty(name, out var v)) throw new DevnetDeploymentException(DevnetDeploymentError.MissingField, path + "." + name, "required field missing");
            if (v.ValueKind != kind) throw Invalid(name, $"expected {kind}, got {v.ValueKind}");
            return v;
        }

        public string String(string name) => Get(name, JsonValueKind.String).GetString()!;

        public string? NullableString(string name) => IsNull(name) ? null : String(name);

        public ulong ULong(string name) =>
            Get(name, JsonValueKind.Number).TryGetUInt64(out ulong v) ? v : throw Invalid(name, "expected an unsigned 64-bit integer");

        public int Int(string name) =>
            Get(name, JsonValueKind.Number).TryGetInt32(out int v) && v >= 0 ? v : throw Invalid(name, "expected a non-negative 32-bit integer");

        public byte Byte(string name) =>
            Get(name, JsonValueKind.Number).TryGetByte(out byte v) ? v : throw Invalid(name, "expected an integer 0..255");

        public UInt256 UInt256(string name)
        {
            string s = String(name);
            try
            {
                if (s.Length == 0 || s.Any(ch => ch is < '0' or > '9')) throw new FormatException("not a decimal integer");
                return Ethereum.Numerics.UInt256.Parse(s);
            }
            catch (Exception ex) when (ex is FormatException or OverflowException)
            {
                throw new DevnetDeploymentException(DevnetDeploymentError.InvalidValue, path + "." + name, "expected a decimal uint256 string", ex);
            }
        }

        public Uri Uri(string name) =>
            System.Uri.TryCreate(String(name), UriKind.Absolute, out var u) ? u : throw Invalid(name, "expected an absolute URL");

        public Address Address(string name) => ParseAddress(String(name), path + "." + name);

        public Address? NullableAddress(string name) => IsNull(name) ? null : Address(name);

        public Address AsAddress()
        {
            RequireKind(JsonValueKind.String);
            return ParseAddress(Element.GetString()!, path);
        }

        public Hash32 Hash(string name) =>
            Hash32.TryParse(String(name), out var h) ? h : throw Invalid(name, "expected a 0x-prefixed 32-byte hex value");

        public Reader Object(string name) => new(Get(name, JsonValueKind.Object), path + "." + name);

        public List<Reader> Array(string name)
        {
            var arr = Get(name, JsonValueKind.Array);
            var items = new List<Reader>();
            int i = 0;
            foreach (var item in arr.EnumerateArray())
            {
                var r = new Reader(item, $"{path}.{name}[{i++}]");
                if (item.ValueKind == JsonValueKind.Object || item.ValueKind == JsonValueKind.String) items.Add(r);
                else throw new DevnetDeploymentException(DevnetDeploymentError.InvalidValue, r.PathText, $"unexpected {item.ValueKind}");
            }

            return items;
        }

        public string PathText => path;

        private static Address ParseAddress(string text, string field)
        {
            try
            {
                return Ethereum.Address.Parse(text);
            }
            catch (AddressFormatException ex)
            {
                throw new DevnetDeploymentException(DevnetDeploymentError.InvalidValue, field, "invalid address: " + ex.Message, ex);
            }
        }
    }
}

/// <summary>Keys of <see cref="DevnetDeployment.Contracts"/>.</summary>
public static class ContractNames
{
    public const string Engine = "CrossMarginEngine";
    public const string OracleHub = "OracleHub";
    public const string MockPyth = "MockPyth";

    public static string Token(string symbol) => symbol;

    public static string Feed(string oracleSymbol) => "feed." + oracleSymbol;

    internal static readonly string[] Required = [Engine, OracleHub, MockPyth];
}
