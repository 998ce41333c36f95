using System.Text.Json;
using CrossMargin.Ethereum;

namespace CrossMargin.Devnet;

/// <summary>A contract exported to contracts-abi/&lt;Contract&gt;.json: its ABI (JSON text) and creation bytecode.</summary>
public sealed class ContractArtifact
{
    internal ContractArtifact(string contractName, string abiJson, byte[] bytecode)
    {
        ContractName = contractName;
        AbiJson = abiJson;
        _bytecode = bytecode;
    }

    private readonly byte[] _bytecode;

    public string ContractName { get; }

    /// <summary>The ABI as JSON text (a JSON array).</summary>
    public string AbiJson { get; }

    /// <summary>The creation (init) bytecode, without constructor arguments.</summary>
    public ReadOnlySpan<byte> Bytecode => _bytecode;

    /// <summary>A fresh copy of the creation bytecode.</summary>
    public byte[] BytecodeToArray() => (byte[])_bytecode.Clone();

    public override string ToString() => $"{ContractName} ({_bytecode.Length} bytes of creation code)";
}

/// <summary>
/// Reads the committed contracts-abi/&lt;Contract&gt;.json files ({ "contractName", "abi", "bytecode" })
/// written by devnet/tools/export-abi.cjs from forge's artifacts, and runs that exporter.
/// </summary>
public static class ContractsAbi
{
    /// <summary>Loads contracts-abi/<paramref name="contractName"/>.json from the repository.</summary>
    public static ContractArtifact Load(string contractName) => Load(DevnetPaths.ContractsAbiDir, contractName);

    /// <summary>Loads <paramref name="directory"/>/<paramref name="contractName"/>.json.</summary>
    public static ContractArtifact Load(string directory, string contractName)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ValidateName(contractName);
        string path = Path.Combine(directory, contractName + ".json");
        byte[] json;
        try
        {
            json = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ContractArtifactException(
                $"contracts-abi/{contractName}.json not found: add \"{contractName}\" to devnet/contracts-abi.json and run node devnet/tools/export-abi.cjs", ex);
        }

        return Parse(json, contractName);
    }

    /// <summary>Parses the content of a contracts-abi file and checks it names <paramref name="expectedName"/>.</summary>
    public static ContractArtifact Parse(ReadOnlySpan<byte> json, string expectedName)
    {
        ValidateName(expectedName);
        try
        {
            var reader = new Utf8JsonReader(json);
            using JsonDocument doc = JsonDocument.ParseValue(ref reader);
            JsonElement root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new ContractArtifactException($"{expectedName}: the artifact is not a JSON object");
            }

            string name = Required(root, "contractName", JsonValueKind.String, expectedName).GetString()!;
            if (name != expectedName)
            {
                throw new ContractArtifactException($"{expectedName}: the artifact names contract \"{name}\"");
            }

            string abi = Required(root, "abi", JsonValueKind.Array, expectedName).GetRawText();
            string bytecodeHex = Required(root, "bytecode", JsonValueKind.String, expectedName).GetString()!;
            byte[] bytecode;
            try
            {
                bytecode = Hex.Decode(bytecodeHex);
            }
            catch (HexFormatException ex)
            {
                throw new ContractArtifactException($"{expectedName}: bytecode is not valid hex (unlinked library placeholders?)", ex);
            }

            if (bytecode.Length == 0)
            {
                throw new ContractArtifactException($"{expectedName}: empty bytecode (abstract contract or interface?)");
            }

            return new ContractArtifact(name, abi, bytecode);
        }
        catch (JsonException ex)
        {
            throw new ContractArtifactException($"{expectedName}: malformed JSON", ex);
        }
    }

    /// <summary>The contract names with a file in contracts-abi/, sorted ordinally.</summary>
    public static IReadOnlyList<string> ListContracts()
    {
        string dir = DevnetPaths.ContractsAbiDir;
        if (!Directory.Exists(dir))
        {
            return [];
        }

        return Directory.EnumerateFiles(dir, "*.json")
            .Select(f => Path.GetFileNameWithoutExtension(f))
            .Order(StringComparer.Ordinal)
            .ToArray();
    }

    /// <summary>
    /// Runs devnet/tools/export-abi.cjs over forge's artifacts (build first, e.g. with
    /// <see cref="Forge.EnsureBuiltAsync(CancellationToken)"/>). With <paramref name="check"/> it writes
    /// nothing and exits non-zero listing stale files. <paramref name="outputDirectory"/> defaults to contracts-abi/.
    /// </summary>
    public static Task<ToolRunResult> ExportAsync(bool check, string? outputDirectory = null, CancellationToken cancellationToken = default)
    {
        var args = new List<string> { DevnetPaths.ExportAbiScript };
        if (check)
        {
            args.Add("--check");
        }

        if (outputDirectory is not null)
        {
            args.Add("--out-dir");
            args.Add(Path.GetFullPath(outputDirectory));
        }

        return ToolRunner.RunAsync(ToolRunner.NodePath(), args, DevnetPaths.RepoRoot, TimeSpan.FromMinutes(2), cancellationToken);
    }

    private static JsonElement Required(JsonElement root, string property, JsonValueKind kind, string name)
    {
        if (!root.TryGetProperty(property, out JsonElement value) || value.ValueKind != kind)
        {
            throw new ContractArtifactException($"{name}: missing or mistyped \"{property}\" (expected {kind})");
        }

        return value;
    }

    private static void ValidateName(string contractName)
    {
        ArgumentException.ThrowIfNullOrEmpty(contractName);
        foreach (char c in contractName)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_'))
            {
                throw new ArgumentException($"not a Solidity contract name: \"{contractName}\"", nameof(contractName));
            }
        }
    }
}
