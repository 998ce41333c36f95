using CrossMargin.Keeper.Bench;
using CrossMargin.Keeper.Cli;

namespace CrossMargin.Keeper.Tests.Cli;

[Collection(CrossMargin.Keeper.Tests.Cli.ConsoleCollection.Name)]
public sealed class BenchAndDemoArgumentTests
{
    [Theory]
    [InlineData("bench", "e2e", "--accounts", "5")]
    [InlineData("bench", "e2e", "--accounts", "1000,abc")]
    [InlineData("bench", "e2e", "--accounts", "1000", "--block-ms", "10")]
    [InlineData("bench", "memory", "--accounts", "999")]
    [InlineData("bench", "memory", "--accounts", "200001")]
    [InlineData("bench", "memory", "--block-ms", "100")]
    [InlineData("bench", "memory", "--crash-blocks", "0")]
    [InlineData("bench", "memory", "--deployment", "no-such-deployment.json")]
    [InlineData("devnet", "up", "--load-state", "no-such-state.json", "--deployment", "d.json")]
    [InlineData("devnet", "up", "--load-state", "no-such-state.json")]
    [InlineData("devnet", "up", "--deployment", "d.json")]
    [InlineData("devnet", "up", "--prune-history", "0")]
    [InlineData("devnet", "up", "--dump-state", "s.json", "--load-state", "s.json", "--deployment", "d.json")]
    [InlineData("demo", "--accounts", "3")]
    [InlineData("demo", "--block-ms", "1")]
    [InlineData("demo", "--max-blocks", "0")]
    public async Task Bad_arguments_exit_with_2_before_anything_starts(params string[] args)
    {
        Assert.Equal(CliApp.BadArguments, await CliApp.RunAsync(args));
    }

    [Fact]
    public void The_bench_table_has_one_row_per_run_with_percentiles_from_the_samples()
    {
        var r = new E2eResult(1000, TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(250), 234, 244, 0,
            [1, 2, 3, 4, 100], [1, 50], [900, 1000], [2, 4, 4, 8], 4, 4, 200L * 1024 * 1024)
        {
            RssAfterRunBytes = 150L * 1024 * 1024,
            ManagedHeapBytes = 40L * 1024 * 1024,
        };
        string table = BenchCommand.Table([r], 1000);
        string[] lines = table.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(3, lines.Length);
        Assert.Equal("| 1,000 | 5.0 | 250 | 234 | 244 | 0 | 3.00 / 100.00 | 1.00 / 50.00 | 900.00 / 1000.00 | 4.00 / 8.0 | 4 / 4 | 200 | 150 / 40 |", lines[2]);
    }

    [Fact]
    public void The_memory_table_reports_the_keeper_process_figures_in_megabytes()
    {
        const long Mb = 1024L * 1024;
        var r = new MemoryResult(100_000, TimeSpan.FromSeconds(700), TimeSpan.FromSeconds(12.34), 100_000, 250 * Mb, 280 * Mb + (Mb / 3), 270 * Mb, 23_000, 4_321, 30);
        string[] lines = BenchCommand.MemoryTable(r).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(3, lines.Length);
        Assert.Equal("| 100,000 | 700 | 12.3 | 250 | 23000 | 4321 (30 blocks) | 280 | 270 |", lines[2]);
    }

    [Fact]
    public async Task A_deployment_file_that_is_not_one_exits_with_2()
    {
        string path = Path.Combine(Path.GetTempPath(), "cm-bad-deployment-" + Guid.NewGuid().ToString("N") + ".json");
        await File.WriteAllTextAsync(path, "{ \"version\": 1 }");
        try
        {
            Assert.Equal(CliApp.BadArguments, await CliApp.RunAsync(["bench", "memory", "--deployment", path]));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
