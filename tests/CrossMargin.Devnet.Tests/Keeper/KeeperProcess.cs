using Xunit.Abstractions;

namespace CrossMargin.Devnet.Tests.Keeper;

/// <summary>
/// The keeper daemon (<c>crossmargin run</c>) as a real child process: the built crossmargin.dll run by the dotnet
/// host that runs the tests, under the same watchdog shell as anvil. Its output goes to the test output (prefixed) and
/// is kept for <see cref="WaitForOutputAsync"/>. <see cref="Kill"/> is kill -9 (SIGKILL of the whole process tree:
/// watchdog and keeper); disposing kills it too.
/// </summary>
internal sealed class KeeperProcess : IDisposable
{
    private readonly ITestOutputHelper? _output;
    private readonly string _name;
    private readonly List<string> _lines = [];
    private WatchedProcess _process = null!;

    private KeeperProcess(ITestOutputHelper? output, string name)
    {
        _output = output;
        _name = name;
    }

    public bool HasExited => _process.HasExited;

    public IReadOnlyList<string> Lines { get { lock (_lines) return [.. _lines]; } }

    /// <summary>
    /// Starts <c>dotnet crossmargin.dll</c> with <paramref name="arguments"/> in <paramref name="workingDirectory"/>;
    /// <paramref name="environment"/> is added to the inherited environment.
    /// </summary>
    public static KeeperProcess Start(IEnumerable<string> arguments, string workingDirectory, IReadOnlyDictionary<string, string> environment,
        ITestOutputHelper? output, string name)
    {
        // under anvil's watchdog: the keeper gets SIGKILL when our stdin pipe closes, so it cannot outlive the test host
        // even when that dies without running finally blocks
        var keeper = new KeeperProcess(output, name);
        keeper._process = WatchedProcess.Start(DotnetHost(), arguments.Prepend(KeeperDll()), workingDirectory, environment, keeper.OnLine);
        return keeper;
    }

    /// <summary>Waits until a line of output matches; fails when the process exits first or time runs out.</summary>
    public async Task<string> WaitForOutputAsync(Func<string, bool> match, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(match);
        var deadline = DateTime.UtcNow + timeout;
        int seen = 0;
        while (true)
        {
            var lines = Lines;
            for (; seen < lines.Count; seen++)
            {
                if (match(lines[seen])) return lines[seen];
            }
            if (_process.HasExited)
                throw new InvalidOperationException($"{_name} exited with code {_process.ExitCode} before the expected output");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{_name}: expected output not seen within {timeout}");
            await Task.Delay(50, cancellationToken);
        }
    }

    /// <summary>kill -9 of the process and its children; returns once it is gone.</summary>
    public void Kill() => _process.Kill();

    public void Dispose() => _process.Dispose();

    private void OnLine(string line)
    {
        lock (_lines) _lines.Add(line);
        try
        {
            _output?.WriteLine($"[{_name}] {line}");
        }
        catch (InvalidOperationException)
        {
            // the test has finished
        }
    }

    /// <summary>The dotnet host running the tests (DOTNET_HOST_PATH under dotnet test), else dotnet on the PATH.</summary>
    private static string DotnetHost()
    {
        string? host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host)) return host;
        string? self = Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase)) return self;
        return "dotnet";
    }

    /// <summary>
    /// crossmargin.dll next to the test assembly (the project reference to the keeper copies the executable with its
    /// runtimeconfig and deps files), else the keeper project's own build output under artifacts/bin.
    /// </summary>
    internal static string KeeperDll()
    {
        string here = AppContext.BaseDirectory;
        string local = Path.Combine(here, "crossmargin.dll");
        if (File.Exists(local) && File.Exists(Path.Combine(here, "crossmargin.runtimeconfig.json"))) return local;
        // artifacts/bin/<test project>/<configuration>/ → artifacts/bin/CrossMargin.Keeper/<configuration>/
        var dir = new DirectoryInfo(here.TrimEnd(Path.DirectorySeparatorChar));
        string configuration = dir.Name;
        string? bin = dir.Parent?.Parent?.FullName;
        if (bin is not null)
        {
            string candidate = Path.Combine(bin, "CrossMargin.Keeper", configuration, "crossmargin.dll");
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException($"crossmargin.dll not found next to the tests ({here}) nor in the keeper's build output");
    }
}
