using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace CrossMargin.Devnet.Tests.Keeper;

/// <summary>Writes log entries at or above a level to the test output.</summary>
internal sealed class TestOutputLogger<T>(ITestOutputHelper output, LogLevel minimum = LogLevel.Information) : ILogger<T>
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel)) return;
        try
        {
            output.WriteLine($"[{logLevel}] {typeof(T).Name}: {formatter(state, exception)}");
        }
        catch (InvalidOperationException)
        {
            // the test has finished
        }
    }
}
