namespace CrossMargin.Devnet.Tests;

public sealed class DevnetPathsTests
{
    [Fact]
    public void Repo_root_holds_the_solution_and_the_devnet()
    {
        Assert.True(File.Exists(Path.Combine(DevnetPaths.RepoRoot, DevnetPaths.SolutionFileName)));
        Assert.True(File.Exists(Path.Combine(DevnetPaths.DevnetDir, "foundry.toml")));
        Assert.Equal(DevnetPaths.RepoRoot, DevnetPaths.TryFindRepoRoot(Path.Combine(DevnetPaths.DevnetDir, "src")));
    }

    [Fact]
    public void Search_outside_the_repo_finds_nothing()
    {
        string dir = Directory.CreateTempSubdirectory("cm-paths-").FullName;
        try
        {
            Assert.Null(DevnetPaths.TryFindRepoRoot(dir));
        }
        finally
        {
            Directory.Delete(dir);
        }
    }

    [Theory]
    [InlineData(DevnetTool.Anvil, "anvil")]
    [InlineData(DevnetTool.Forge, "forge")]
    [InlineData(DevnetTool.Cast, "cast")]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void Native_tools_are_installed(DevnetTool tool, string name)
    {
        string path = DevnetPaths.ToolPath(tool);
        Assert.True(File.Exists(path));
        Assert.Equal(
            Path.Combine(DevnetPaths.DevnetDir, "node_modules", "@foundry-rs", $"{name}-linux-amd64", "bin", name),
            path);
        Assert.True((File.GetUnixFileMode(path) & UnixFileMode.UserExecute) != 0);
    }
}
