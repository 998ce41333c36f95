namespace CrossMargin.Devnet;

/// <summary>The native foundry tools shipped by the devnet npm toolchain.</summary>
public enum DevnetTool
{
    Anvil,
    Forge,
    Cast,
}

/// <summary>
/// Locates the repository and the devnet toolchain: the repo root is the nearest directory holding
/// CrossMargin.sln, searched upwards from <see cref="AppContext.BaseDirectory"/> and then from the
/// current directory. The native foundry binaries live in
/// devnet/node_modules/@foundry-rs/&lt;tool&gt;-linux-amd64/bin/&lt;tool&gt; (installed by the build).
/// </summary>
public static class DevnetPaths
{
    public const string SolutionFileName = "CrossMargin.sln";

    private static readonly Lazy<string> s_repoRoot = new(FindRepoRoot, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The repository root; throws <see cref="RepoRootNotFoundException"/> when not found.</summary>
    public static string RepoRoot => s_repoRoot.Value;

    /// <summary>The devnet directory (foundry project, npm toolchain).</summary>
    public static string DevnetDir => Path.Combine(RepoRoot, "devnet");

    /// <summary>The generated ABI + bytecode directory (contracts-abi/&lt;Contract&gt;.json).</summary>
    public static string ContractsAbiDir => Path.Combine(RepoRoot, "contracts-abi");

    /// <summary>The exporter config listing the deployable contracts (devnet/contracts-abi.json).</summary>
    public static string ContractsAbiConfig => Path.Combine(DevnetDir, "contracts-abi.json");

    /// <summary>The node script that exports contracts-abi from forge's artifacts.</summary>
    public static string ExportAbiScript => Path.Combine(DevnetDir, "tools", "export-abi.cjs");

    /// <summary>forge's artifact directory (devnet/out).</summary>
    public static string ForgeOutDir => Path.Combine(DevnetDir, "out");

    /// <summary>The lock file serialising forge invocations across processes.</summary>
    public static string ForgeLockFile => Path.Combine(DevnetDir, ".forge.lock");

    public static string AnvilPath => ToolPath(DevnetTool.Anvil);

    public static string ForgePath => ToolPath(DevnetTool.Forge);

    public static string CastPath => ToolPath(DevnetTool.Cast);

    /// <summary>The expected location of a tool, whether or not it exists.</summary>
    public static string ExpectedToolPath(DevnetTool tool)
    {
        string name = ToolName(tool);
        return Path.Combine(DevnetDir, "node_modules", "@foundry-rs", name + "-linux-amd64", "bin", name);
    }

    /// <summary>The native binary of <paramref name="tool"/>; throws <see cref="DevnetToolNotFoundException"/> when missing.</summary>
    public static string ToolPath(DevnetTool tool)
    {
        string path = ExpectedToolPath(tool);
        if (!File.Exists(path))
        {
            throw new DevnetToolNotFoundException(
                $"{ToolName(tool)} not found at devnet/node_modules/@foundry-rs/{ToolName(tool)}-linux-amd64/bin/{ToolName(tool)}: " +
                "run dotnet build to install the devnet toolchain")
            { ExpectedPath = path };
        }

        return path;
    }

    /// <summary>The nearest directory at or above <paramref name="start"/> holding CrossMargin.sln, or null.</summary>
    public static string? TryFindRepoRoot(string start)
    {
        ArgumentException.ThrowIfNullOrEmpty(start);
        for (DirectoryInfo? dir = new(Path.GetFullPath(start)); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, SolutionFileName)))
            {
                return dir.FullName;
            }
        }

        return null;
    }

    private static string FindRepoRoot()
    {
        string? root = TryFindRepoRoot(AppContext.BaseDirectory) ?? TryFindRepoRoot(Environment.CurrentDirectory);
        return root ?? throw new RepoRootNotFoundException(
            $"no {SolutionFileName} found above the application directory or the current directory");
    }

    private static string ToolName(DevnetTool tool) => tool switch
    {
        DevnetTool.Anvil => "anvil",
        DevnetTool.Forge => "forge",
        DevnetTool.Cast => "cast",
        _ => throw new ArgumentOutOfRangeException(nameof(tool)),
    };
}
