using System.Diagnostics;
using System.Globalization;

namespace CrossMargin.Devnet;

/// <summary>
/// A child process started under the same watchdog shell as anvil (<see cref="AnvilProcess.WatchdogScript"/>): it is
/// SIGKILLed when this process goes away, even without running finally blocks, because our stdin pipe to the shell
/// closes. Every line it writes (stdout and stderr) goes to a callback; the watchdog reports the child's own pid
/// (<see cref="ChildPid"/>), which is the process to inspect, not the shell. <see cref="Kill"/> is kill -9 of both.
/// </summary>
public sealed class WatchedProcess : IDisposable
{
    private readonly Process _shell;
    private readonly Action<string> _onLine;
    private int _childPid;

    private WatchedProcess(Process shell, Action<string> onLine)
    {
        _shell = shell;
        _onLine = onLine;
    }

    /// <summary>The child's pid as reported by the watchdog (0 until it is known).</summary>
    public int ChildPid => Volatile.Read(ref _childPid);

    public bool HasExited => _shell.HasExited;

    public int ExitCode => _shell.ExitCode;

    /// <summary>Starts <paramref name="fileName"/> with <paramref name="arguments"/>; <paramref name="environment"/> is added to the inherited one.</summary>
    public static WatchedProcess Start(string fileName, IEnumerable<string> arguments, string workingDirectory,
        IReadOnlyDictionary<string, string> environment, Action<string> onLine)
    {
        ArgumentException.ThrowIfNullOrEmpty(fileName);
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(onLine);
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
        info.ArgumentList.Add(fileName);
        foreach (string a in arguments) info.ArgumentList.Add(a);
        foreach (var (k, v) in environment) info.Environment[k] = v;
        var shell = new Process { StartInfo = info, EnableRaisingEvents = true };
        var watched = new WatchedProcess(shell, onLine);
        shell.OutputDataReceived += (_, e) => watched.OnLine(e.Data);
        shell.ErrorDataReceived += (_, e) => watched.OnLine(e.Data);
        if (!shell.Start()) throw new InvalidOperationException($"{fileName} did not start");
        shell.BeginOutputReadLine();
        shell.BeginErrorReadLine();
        return watched;
    }

    /// <summary>Waits until the watchdog has reported the child's pid.</summary>
    public async Task<int> WaitForChildPidAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var elapsed = Stopwatch.StartNew();
        while (ChildPid == 0)
        {
            if (HasExited) throw new InvalidOperationException($"the process exited with code {ExitCode} before it started");
            if (elapsed.Elapsed > timeout) throw new TimeoutException("the process's pid was not reported");
            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }
        return ChildPid;
    }

    /// <summary>kill -9 of the watchdog and the child; returns once they are gone (or after 30 s).</summary>
    public void Kill()
    {
        try
        {
            if (!_shell.HasExited) _shell.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
        _shell.WaitForExit(30_000);
    }

    public void Dispose()
    {
        Kill();
        _shell.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null) return;
        if (ChildPid == 0 && line.StartsWith(AnvilProcess.PidMarker, StringComparison.Ordinal)
            && int.TryParse(line.AsSpan(AnvilProcess.PidMarker.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
        {
            Volatile.Write(ref _childPid, pid);
            return;
        }
        _onLine(line);
    }
}
