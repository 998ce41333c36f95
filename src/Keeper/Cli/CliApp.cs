using System.CommandLine;

namespace CrossMargin.Keeper.Cli;

/// <summary>The `crossmargin` command line.</summary>
public static class CliApp
{
    public static async Task<int> RunAsync(string[] args)
    {
        var root = new RootCommand("CrossMargin: keeper and oracle bot for cross-margin derivatives protocols.");
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(DevnetCommand.Create());
        return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
    }
}
