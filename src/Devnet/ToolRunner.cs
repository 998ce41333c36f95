using System.Diagnostics;
using System.Text;

namespace CrossMargin.Devnet;

/// <summary>The outcome of one tool run (forge, node).</summary>
public sealed class ToolRunResult
{
    internal ToolRunResult(string command, int exitCode, string standardOutput, string standardError, TimeSpan elapsed)
    {
        Command = command;
        ExitCode = exitCode;
        StandardOutput = standardOutput;
        StandardError = standardError;
        Elapsed = elapsed;
    }

    /// <summary>The command line, for messages.</summary>
    public string Command { get; }

    public int ExitCode { get; }

    public string StandardOutput { get; }

    public string StandardError { get; }

    public TimeSpan Elapsed { get; }

    public bool Succeeded => ExitCode == 0;

    /// <summary>stdout then stderr.</summary>
    public string Output => StandardError.Length == 0 ? StandardOutput : $"{StandardOutput}\n{StandardError}";

    public override string ToString() => $"{Command}: exit {ExitCode} in {Elapsed.TotalSeconds:0.0} s";
}

/// <summary>Runs a tool to completion with captured output, a timeout and cancellation (killing the tree).</summary>
internal static class ToolRunner
{
    internal static async Task<ToolRunResult> RunAsync(
        string fileName, IReadOnlyList<string> arguments, string workingDirectory, TimeSpan timeout, CancellationToken cancellationToken,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (string arg in arguments)
        {
            psi.ArgumentList.Add(arg);
        }

        psi.Environment["NO_COLOR"] = "1";
        if (environment is not null)
        {
            foreach (var (name, value) in environment) psi.Environment[name] = value;
        }
        string command = $"{Path.GetFileName(fileName)} {string.Join(' ', arguments)}";
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        var sw = Stopwatch.StartNew();
        using var process = new Process { StartInfo = psi };
        process.OutputDataReceived += (_, e) => Append(stdout, e.Data);
        process.ErrorDataReceived += (_, e) => Append(stderr, e.Data);
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // exited meanwhile
            }

            await process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            throw new TimeoutException(
                $"{command} did not finish within {timeout.TotalSeconds:0} s; output so far:\n{Snapshot(stdout)}\n{Snapshot(stderr)}");
        }

        return new ToolRunResult(command, process.ExitCode, Snapshot(stdout), Snapshot(stderr), sw.Elapsed);
    }

    /// <summary>The full path of <paramref name="name"/> on PATH, or null.</summary>
    internal static string? FindOnPath(string name)
    {
        string? path = Environment.GetEnvironmentVariable("PATH");
        if (string.IsNullOrEmpty(path))
        {
            return null;
        }

        foreach (string dir in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    internal static string NodePath() =>
        FindOnPath("node") ?? throw new DevnetToolNotFoundException(
            "node not found on PATH: the devnet needs node (forge compiles through the solcjs shim devnet/tools/solc)");

    private static void Append(StringBuilder sb, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (sb)
        {
            sb.Append(line).Append('\n');
        }
    }

    private static string Snapshot(StringBuilder sb)
    {
        lock (sb)
        {
            return sb.ToString().TrimEnd('\n');
        }
    }
}
