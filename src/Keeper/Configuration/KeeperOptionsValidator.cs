using System.Globalization;
using CrossMargin.Devnet;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Crypto;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Keeper.Oracle;

namespace CrossMargin.Keeper.Configuration;

/// <summary>Checks <see cref="KeeperOptions"/> value by value (everything that can be checked without the network).</summary>
public static class KeeperOptionsValidator
{
    /// <summary>Validated settings, or <see cref="KeeperConfigurationException"/> listing every bad value.</summary>
    public static KeeperSettings Validate(KeeperOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        DevnetDeployment? deployment = null;
        if (!string.IsNullOrWhiteSpace(options.Deployment))
        {
            try
            {
                deployment = DevnetDeployment.Load(options.Deployment);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or System.Text.Json.JsonException or InvalidOperationException or ArgumentException or DevnetDeploymentException)
            {
                failures.Add($"Keeper:Deployment: cannot read devnet deployment '{options.Deployment}': {e.Message}");
            }
        }

        var urls = new List<Uri>();
        var texts = options.RpcUrls.Count > 0 ? options.RpcUrls : deployment is null ? [] : [deployment.RpcUrl.ToString()];
        if (texts.Count == 0) failures.Add("Keeper:RpcUrls: at least one JSON-RPC endpoint is required.");
        foreach (string u in texts)
        {
            if (Uri.TryCreate(u, UriKind.Absolute, out Uri? uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)) urls.Add(uri);
            else failures.Add($"Keeper:RpcUrls: '{u}' is not an http(s) URL.");
        }

        Uri? ws = null;
        string? wsText = options.WebSocketUrl ?? (options.RpcUrls.Count == 0 ? deployment?.WsUrl?.ToString() : null);
        if (!string.IsNullOrWhiteSpace(wsText) && !string.Equals(wsText, "off", StringComparison.OrdinalIgnoreCase))
        {
            if (Uri.TryCreate(wsText, UriKind.Absolute, out Uri? w) && (w.Scheme == Uri.UriSchemeWs || w.Scheme == Uri.UriSchemeWss)) ws = w;
            else failures.Add($"Keeper:WebSocketUrl: '{wsText}' is not a ws(s) URL (or \"off\").");
        }

        ulong chainId = 0;
        if (options.ChainId is null) chainId = deployment?.ChainId ?? 0;
        else if (!ulong.TryParse(options.ChainId, NumberStyles.None, CultureInfo.InvariantCulture, out chainId) || chainId == 0)
            failures.Add($"Keeper:ChainId: '{options.ChainId}' is not a positive integer.");
        if (options.ChainId is null && deployment is null) failures.Add("Keeper:ChainId is required.");

        Address engine = ParseAddress("Keeper:Engine", options.Engine, deployment?.Engine, failures);
        Address hub = ParseAddress("Keeper:OracleHub", options.OracleHub, deployment?.OracleHub, failures);

        ulong deployBlock = deployment?.DeployBlock ?? 0;
        if (options.DeploymentBlock is not null && !ulong.TryParse(options.DeploymentBlock, NumberStyles.None, CultureInfo.InvariantCulture, out deployBlock))
            failures.Add($"Keeper:DeploymentBlock: '{options.DeploymentBlock}' is not a block number.");

        if (!WadDecimal.TryParse(options.MinProfitUsd, out UInt256 minProfit, out _))
            failures.Add($"Keeper:MinProfitUsd: '{options.MinProfitUsd}' is not a non-negative decimal number.");
        options.Planner.MinProfit = minProfit;
        options.Planner.Validate(failures);
        options.Detection.Validate(failures);
        var monitoring = (options.Monitoring ?? new()).Validate(failures);

        string nat = options.NativeOracle?.Trim() ?? "";
        if (nat.Length == 0) failures.Add("Keeper:NativeOracle: an oracle id or symbol is required.");
        else if (nat.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            if (Hash32.TryParse(nat, out Hash32 id)) options.Detection.NativeOracleId = id;
            else failures.Add($"Keeper:NativeOracle: '{nat}' is not a 32-byte hex oracle id.");
        }
        else options.Detection.NativeOracleId = Keccak256.ComputeUtf8(nat);

        string journal = options.JournalPath ?? "";
        if (journal.Length == 0) failures.Add("Keeper:JournalPath is required.");
        else if (!CanWrite(journal, out string? why)) failures.Add($"Keeper:JournalPath: cannot write the journal at '{journal}': {why}");

        OracleSettings? oracle = OracleConfigValidator.Validate(options, deployment, failures);

        if (failures.Count > 0) throw new KeeperConfigurationException(failures);
        return new KeeperSettings(urls, chainId, engine, hub, deployBlock, journal, options.DryRun, options.OracleEnabled, options.Planner, options.Detection, ws)
        {
            Oracle = oracle,
            Monitoring = monitoring,
        };
    }

    /// <summary>The chain id check, done once the RPC answers.</summary>
    public static void CheckChainId(ulong configured, ulong reported)
    {
        if (configured != reported)
            throw new KeeperConfigurationException($"Keeper:ChainId is {configured} but the RPC endpoint reports chain id {reported}.");
    }

    private static Address ParseAddress(string name, string? text, Address? fallback, List<string> failures)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            if (fallback is { } f) return f;
            failures.Add($"{name} is required (or give --deployment).");
            return Address.Zero;
        }
        if (!Address.TryParse(text.Trim(), out Address a))
        {
            failures.Add($"{name}: '{text}' is not a valid address (20-byte hex with a correct EIP-55 checksum).");
            return Address.Zero;
        }
        if (a.IsZero) failures.Add($"{name}: the zero address is not a contract.");
        return a;
    }

    private static bool CanWrite(string path, out string? why)
    {
        try
        {
            string full = Path.GetFullPath(path);
            if (Directory.Exists(full))
            {
                why = "it is a directory";
                return false;
            }
            string? dir = Path.GetDirectoryName(full);
            if (dir is null || !Directory.Exists(dir))
            {
                why = "the directory does not exist";
                return false;
            }
            using (new FileStream(full, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite)) { }
            why = null;
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            why = e.Message;
            return false;
        }
    }
}
