using System.Text;
using System.Text.Json;
using CrossMargin.Ethereum;

namespace CrossMargin.Devnet.Tests.ContractsAbi;

[Collection(ForgeCollection.Name)]
public sealed class ContractsAbiTests
{
    [Fact]
    public async Task Committed_contracts_abi_is_not_stale()
    {
        await CrossMargin.Devnet.Forge.EnsureBuiltAsync();
        ToolRunResult check = await CrossMargin.Devnet.ContractsAbi.ExportAsync(check: true);
        Assert.True(check.Succeeded, $"contracts-abi is stale: run forge build and node devnet/tools/export-abi.cjs\n{check.Output}");
    }

    [Fact]
    public async Task Check_reports_stale_missing_and_extra_files_and_export_repairs_them()
    {
        await CrossMargin.Devnet.Forge.EnsureBuiltAsync();
        string dir = Directory.CreateTempSubdirectory("cm-abi-").FullName;
        try
        {
            ToolRunResult missing = await CrossMargin.Devnet.ContractsAbi.ExportAsync(check: true, dir);
            Assert.Equal(1, missing.ExitCode);
            Assert.Contains("missing: contracts-abi/Counter.json", missing.StandardOutput, StringComparison.Ordinal);

            Assert.True((await CrossMargin.Devnet.ContractsAbi.ExportAsync(check: false, dir)).Succeeded);
            Assert.True((await CrossMargin.Devnet.ContractsAbi.ExportAsync(check: true, dir)).Succeeded);
            Assert.Equal(
                File.ReadAllText(Path.Combine(DevnetPaths.ContractsAbiDir, "Counter.json")),
                File.ReadAllText(Path.Combine(dir, "Counter.json")));

            File.AppendAllText(Path.Combine(dir, "Counter.json"), " ");
            File.WriteAllText(Path.Combine(dir, "Removed.json"), "{}\n");
            ToolRunResult stale = await CrossMargin.Devnet.ContractsAbi.ExportAsync(check: true, dir);
            Assert.Equal(1, stale.ExitCode);
            Assert.Contains("stale:   contracts-abi/Counter.json", stale.StandardOutput, StringComparison.Ordinal);
            Assert.Contains("extra:   contracts-abi/Removed.json", stale.StandardOutput, StringComparison.Ordinal);

            Assert.True((await CrossMargin.Devnet.ContractsAbi.ExportAsync(check: false, dir)).Succeeded);
            Assert.False(File.Exists(Path.Combine(dir, "Removed.json")));
            Assert.True((await CrossMargin.Devnet.ContractsAbi.ExportAsync(check: true, dir)).Succeeded);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Load_returns_forge_abi_and_creation_bytecode()
    {
        await CrossMargin.Devnet.Forge.EnsureBuiltAsync();
        ContractArtifact counter = CrossMargin.Devnet.ContractsAbi.Load("Counter");

        using JsonDocument forge = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(DevnetPaths.ForgeOutDir, "Counter.sol", "Counter.json")));
        byte[] expected = Hex.Decode(forge.RootElement.GetProperty("bytecode").GetProperty("object").GetString());
        Assert.Equal(expected, counter.BytecodeToArray());
        Assert.Equal("Counter", counter.ContractName);

        using JsonDocument abi = JsonDocument.Parse(counter.AbiJson);
        Assert.Contains(abi.RootElement.EnumerateArray(), e => e.GetProperty("type").GetString() == "function" && e.GetProperty("name").GetString() == "add");
        Assert.Contains(abi.RootElement.EnumerateArray(), e => e.GetProperty("type").GetString() == "error" && e.GetProperty("name").GetString() == "TooLarge");
        Assert.Contains("Counter", CrossMargin.Devnet.ContractsAbi.ListContracts());
    }

    [Theory]
    [InlineData("""{"contractName":"Other","abi":[],"bytecode":"0x6000"}""", "names contract")]
    [InlineData("""{"contractName":"Counter","abi":{},"bytecode":"0x6000"}""", "\"abi\"")]
    [InlineData("""{"contractName":"Counter","abi":[]}""", "\"bytecode\"")]
    [InlineData("""{"contractName":"Counter","abi":[],"bytecode":"0x"}""", "empty bytecode")]
    [InlineData("""{"contractName":"Counter","abi":[],"bytecode":"0x60__$abc$__"}""", "not valid hex")]
    [InlineData("""[1]""", "not a JSON object")]
    [InlineData("""{"contractName":""", "malformed JSON")]
    public void Parse_rejects_malformed_artifacts(string json, string expected)
    {
        var ex = Assert.Throws<ContractArtifactException>(() => CrossMargin.Devnet.ContractsAbi.Parse(Encoding.UTF8.GetBytes(json), "Counter"));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_rejects_unknown_and_unsafe_names()
    {
        var missing = Assert.Throws<ContractArtifactException>(() => CrossMargin.Devnet.ContractsAbi.Load("NoSuchContract"));
        Assert.Contains("devnet/contracts-abi.json", missing.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => CrossMargin.Devnet.ContractsAbi.Load("../Counter"));
        Assert.Throws<ArgumentException>(() => CrossMargin.Devnet.ContractsAbi.Load("Counter.json"));
    }
}
