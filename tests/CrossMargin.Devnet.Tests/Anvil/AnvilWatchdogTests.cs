using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace CrossMargin.Devnet.Tests.Anvil;

/// <summary>
/// The watchdog must kill anvil whenever its owner goes away: these tests start the same watchdog
/// script AnvilProcess uses, outside AnvilProcess, and take the owner away.
/// </summary>
public sealed class AnvilWatchdogTests
{
    [Fact]
    public async Task Closing_the_owner_pipe_kills_anvil()
    {
        int port = FreePort();
        var psi = WatchdogStartInfo("/bin/sh", ["-c", AnvilProcess.WatchdogScript, DevnetPaths.AnvilPath, .. Args(port)]);
        using var watchdog = Process.Start(psi)!;
        int anvilPid = -1;
        try
        {
            anvilPid = await ReadMarkedPidAsync(watchdog.StandardOutput, AnvilProcess.PidMarker);
            await WaitReadyAsync(port, watchdog);

            watchdog.StandardInput.Close(); // what the kernel does when the owner dies

            Assert.True(await AnvilProcess.WaitForPidGoneAsync(anvilPid, TimeSpan.FromSeconds(10)), $"anvil pid {anvilPid} survived its owner's pipe");
            Assert.True(watchdog.WaitForExit(10_000));
            Assert.Equal(128 + 9, watchdog.ExitCode);
            AssertRefused(port);
        }
        finally
        {
            Cleanup(watchdog, anvilPid);
        }
    }

    [Fact]
    public async Task Kill_9_of_the_owner_process_kills_anvil()
    {
        int port = FreePort();
        // The owner is a separate process holding the write end of the watchdog's stdin pipe
        // (as the test host does): it prints its pid and sleeps; we kill it with SIGKILL.
        const string Outer =
            "sh -c 'echo \"owner-pid $$\" >&2; exec sleep 100000' | exec /bin/sh -c \"$CM_WATCHDOG\" \"$0\" \"$@\"";
        var psi = WatchdogStartInfo("/bin/sh", ["-c", Outer, DevnetPaths.AnvilPath, .. Args(port)]);
        psi.Environment["CM_WATCHDOG"] = AnvilProcess.WatchdogScript;
        using var outer = Process.Start(psi)!;
        int anvilPid = -1;
        int ownerPid = -1;
        try
        {
            ownerPid = await ReadMarkedPidAsync(outer.StandardError, "owner-pid ");
            anvilPid = await ReadMarkedPidAsync(outer.StandardOutput, AnvilProcess.PidMarker);
            await WaitReadyAsync(port, outer);
            Assert.True(AnvilProcess.IsProcessAlive(anvilPid));

            using (var owner = Process.GetProcessById(ownerPid))
            {
                owner.Kill(); // SIGKILL: no handler runs in the owner
            }

            Assert.True(await AnvilProcess.WaitForPidGoneAsync(anvilPid, TimeSpan.FromSeconds(10)), $"anvil pid {anvilPid} survived kill -9 of its owner");
            Assert.True(outer.WaitForExit(10_000));
            AssertRefused(port);
        }
        finally
        {
            Cleanup(outer, anvilPid);
            if (ownerPid > 0 && AnvilProcess.IsProcessAlive(ownerPid))
            {
                using var owner = Process.GetProcessById(ownerPid);
                owner.Kill();
            }
        }
    }

    private static ProcessStartInfo WatchdogStartInfo(string file, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(file)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        return psi;
    }

    private static IReadOnlyList<string> Args(int port) => AnvilProcess.BuildArguments(new AnvilOptions(), port);

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static async Task<int> ReadMarkedPidAsync(StreamReader reader, string marker)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (await reader.ReadLineAsync(cts.Token) is { } line)
        {
            if (line.StartsWith(marker, StringComparison.Ordinal))
            {
                return int.Parse(line.AsSpan(marker.Length), CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"no '{marker}' line");
    }

    private static async Task WaitReadyAsync(int port, Process process)
    {
        var url = new Uri($"http://127.0.0.1:{port}/");
        for (int i = 0; i < 600; i++)
        {
            if (await AnvilProcess.TryGetChainIdAsync(url, TimeSpan.FromSeconds(1)) == AnvilOptions.DefaultChainId)
            {
                return;
            }

            Assert.False(process.HasExited, "watchdog exited before anvil was ready");
            await Task.Delay(50);
        }

        Assert.Fail("anvil did not become ready");
    }

    private static void AssertRefused(int port)
    {
        using var client = new TcpClient();
        var ex = Assert.Throws<SocketException>(() => client.Connect(IPAddress.Loopback, port));
        Assert.Equal(SocketError.ConnectionRefused, ex.SocketErrorCode);
    }

    private static void Cleanup(Process process, int anvilPid)
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }

        if (anvilPid > 0 && AnvilProcess.IsProcessAlive(anvilPid))
        {
            using var anvil = Process.GetProcessById(anvilPid);
            anvil.Kill();
        }
    }
}
