using System.CommandLine;

namespace CrossMargin.Keeper.Cli;

/// <summary>The `crossmargin` command line.</summary>
public static class CliApp
{
    /// <summary>Exit code for bad arguments and bad configuration.</summary>
    public const int BadArguments = 2;

    public static async Task<int> RunAsync(string[] args)
    {
        var root = new RootCommand("CrossMargin: keeper and oracle bot for cross-margin derivatives protocols.");
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(DevnetCommand.Create());
        root.Subcommands.Add(ReportCommand.Create());
        root.Subcommands.Add(RunCommand.Create());
        root.Subcommands.Add(ScanCommand.Create());
        root.Subcommands.Add(SimulateCommand.Create());
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            // unknown commands, unparseable values, missing arguments: configuration errors exit with 2
            foreach (var error in parsed.Errors) await Console.Error.WriteLineAsync(error.Message).ConfigureAwait(false);
            await Console.Error.WriteLineAsync("Run with --help for usage.").ConfigureAwait(false);
            return BadArguments;
        }

        return await parsed.InvokeAsync().ConfigureAwait(false);
    }
}
