using System.Diagnostics;
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
    private readonly Process _process;
    private readonly ITestOutputHelper? _output;
    private readonly string _name;
    private readonly List<string> _lines = [];

    private KeeperProcess(Process process, ITestOutputHelper? output, string name)
    {
        _process = process;
        _output = output;
        _name = name;
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public IReadOnlyList<string> Lines { get { lock (_lines) return [.. _lines]; } }

    /// <summary>
    /// Starts <c>dotnet crossmargin.dll</c> with <paramref name="arguments"/> in <paramref name="workingDirectory"/>;
    /// <paramref name="environment"/> is added to the inherited environment.
    /// </summary>
    public static KeeperProcess Start(IEnumerable<string> arguments, string workingDirectory, IReadOnlyDictionary<string, string> environment,
        ITestOutputHelper? output, string name)
    {
        // through anvil's /bin/sh watchdog: the keeper gets SIGKILL when our stdin pipe closes, so it cannot outlive
        // the test host even when that dies without running finally blocks
        var info = new ProcessStartInfo("/bin/sh")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(AnvilProcess.WatchdogScript);
        info.ArgumentList.Add(DotnetHost());
        info.ArgumentList.Add(KeeperDll());
        foreach (string a in arguments) info.ArgumentList.Add(a);
        foreach (var (k, v) in environment) info.Environment[k] = v;
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var keeper = new KeeperProcess(process, output, name);
        process.OutputDataReceived += (_, e) => keeper.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => keeper.OnLine(e.Data);
        if (!process.Start()) throw new InvalidOperationException("the keeper process did not start");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
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
    public void Kill()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
        _process.WaitForExit(30_000);
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null) return;
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
