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
}
