using CrossMargin.Keeper.Cli;
using Xunit;

namespace CrossMargin.Keeper.Tests.Oracle.Push;

[Collection(CrossMargin.Keeper.Tests.Cli.ConsoleCollection.Name)]
public sealed class MarketCommandTests
{
    [Fact]
    public void Scenario_names_resolve_and_step_override_applies()
    {
        Assert.Null(MarketCommand.TryLoad("crash", 0, 1.5, out var scenario));
        Assert.Equal("crash", scenario!.Name);
        Assert.Equal(TimeSpan.FromSeconds(1.5), scenario.StepInterval);
        Assert.Null(MarketCommand.TryLoad(TestFiles.Scenario("calm.json"), 0, null, out scenario));
        Assert.Equal(TimeSpan.FromSeconds(5), scenario!.StepInterval);
    }

    [Theory]
    [InlineData("no-such-scenario", 0, null, "No scenario")]
    [InlineData("calm", 70000, null, "--port")]
    [InlineData("calm", 0, 0.0, "--step-seconds")]
    public void Bad_arguments_give_a_clear_message(string scenario, int port, double? step, string expected)
    {
        string? error = MarketCommand.TryLoad(scenario, port, step, out var loaded);
        Assert.Null(loaded);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_scenario_file_is_reported()
    {
        string path = Path.Combine(Path.GetTempPath(), $"bad-scenario-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, """{ "name": "x", "stepIntervalSeconds": 5, "assets": [], "typo": 1 }""");
        try
        {
            string? error = MarketCommand.TryLoad(path, 0, null, out _);
            Assert.StartsWith("Bad scenario:", error, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Cli_exits_with_2_on_a_bad_scenario()
    {
        TextWriter saved = Console.Error;
        using var err = new StringWriter();
        Console.SetError(err);
        try
        {
            int code = await CliApp.RunAsync(["devnet", "market", "--scenario", "no-such-scenario"]);
            Assert.Equal(CliApp.BadArguments, code);
            Assert.Contains("No scenario 'no-such-scenario'", err.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            Console.SetError(saved);
        }
    }
}
