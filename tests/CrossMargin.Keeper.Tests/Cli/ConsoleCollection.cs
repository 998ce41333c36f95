namespace CrossMargin.Keeper.Tests.Cli;

/// <summary>
/// Tests that run the CLI entry point, which writes to the process-wide Console (and some swap Console.Error to read
/// it): they run one at a time, apart from the other tests, so that no test writes to a writer another one disposed.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConsoleCollection
{
    public const string Name = "Console";
}
