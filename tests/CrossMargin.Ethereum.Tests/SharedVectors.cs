using System.Text.Json;

namespace CrossMargin.Ethereum.Tests;

/// <summary>Locates the repository and the shared test vectors (../shared/vectors beside the repo root).</summary>
public static class SharedVectors
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string Directory { get; } = Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "vectors"));

    public static JsonDocument Load(string fileName)
    {
        string path = Path.Combine(Directory, fileName);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Shared vector file missing: {path}. The shared folder must sit beside the repository root.", path);
        return JsonDocument.Parse(File.ReadAllText(path));
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "CrossMargin.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("Could not find the repository root (CrossMargin.sln) above " + AppContext.BaseDirectory);
    }
}
