using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using CrossMargin.Ethereum;

namespace CrossMargin.Devnet;

/// <summary>
/// A local anvil devnet on 127.0.0.1 and a free port, started from the native anvil binary through a
/// small /bin/sh watchdog so that it can never outlive this process:
/// the watchdog holds our stdin pipe; when this process dies in any way (kill -9 included) the kernel
/// closes the pipe, the watchdog's <c>cat</c> sees EOF and kills anvil with SIGKILL. The watchdog exits
/// with anvil's status when anvil exits by itself, which <see cref="Exited"/> reports.
/// This type only starts, probes (eth_chainId) and stops anvil: no higher-level Ethereum logic.
/// </summary>
public sealed class AnvilProcess : IAsyncDisposable
{
    /// <summary>
    /// The watchdog: $0 is the anvil binary, "$@" its arguments. It moves our stdin pipe to fd 3,
    /// starts anvil (stdin /dev/null, fd 3 closed), prints anvil's pid, and runs a background
    /// <c>cat</c> on the pipe that kills anvil at EOF. It then waits for anvil and exits with its status.
    /// </summary>
    public const string WatchdogScript =
        "exec 3<&0 0</dev/null\n" +
        "\"$0\" \"$@\" 3<&- &\n" +
        "a=$!\n" +
        "echo \"" + PidMarker + "$a\"\n" +
        "{ cat <&3 >/dev/null 2>&1; kill -9 \"$a\" 2>/dev/null; } >/dev/null 2>&1 &\n" +
        "w=$!\n" +
        "exec 3<&-\n" +
        "trap 'kill -9 \"$a\" 2>/dev/null; kill \"$w\" 2>/dev/null; exit 129' INT TERM HUP\n" +
        "wait \"$a\"\n" +
        "s=$?\n" +
        "kill \"$w\" 2>/dev/null\n" +
        "exit \"$s\"\n";

    public const string PidMarker = "crossmargin-anvil-pid ";

    private const int MaxPortAttempts = 8;

    private static readonly HttpClient s_probeClient = new(new SocketsHttpHandler
    {
        UseProxy = false,
        PooledConnectionLifetime = TimeSpan.FromSeconds(5),
        ConnectTimeout = TimeSpan.FromSeconds(2),
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    private static readonly Lock s_portLock = new();
    private static readonly HashSet<int> s_reservedPorts = [];

    private readonly Process _process;
    private readonly Lock _outputLock = new();
    private readonly Queue<string> _output = new();
    private readonly int _maxLines;
    private readonly TaskCompletionSource<int> _pid = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task<int> _exited;
    private int _disposed;

    private AnvilProcess(Process process, int port, AnvilOptions options)
    {
        _process = process;
        _maxLines = Math.Max(16, options.MaxCapturedLines);
        Port = port;
        Options = options;
        ChainId = options.ChainId;
        RpcUrl = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}/"));
        WsUrl = new Uri(string.Create(CultureInfo.InvariantCulture, $"ws://127.0.0.1:{port}/"));
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _exited = WaitForExitCoreAsync();
    }

    /// <summary>The JSON-RPC HTTP endpoint, http://127.0.0.1:&lt;port&gt;/.</summary>
    public Uri RpcUrl { get; }

    /// <summary>The JSON-RPC WebSocket endpoint on the same port, ws://127.0.0.1:&lt;port&gt;/.</summary>
    public Uri WsUrl { get; }

    public int Port { get; }

    public ulong ChainId { get; }

    public AnvilOptions Options { get; }

    /// <summary>The pid of the native anvil process.</summary>
    public int ProcessId => _pid.Task.IsCompletedSuccessfully ? _pid.Task.Result : throw new InvalidOperationException("anvil pid not known yet");

    /// <summary>The pid of the /bin/sh watchdog that owns anvil.</summary>
    public int WatchdogProcessId { get; private set; }

    /// <summary>Completes with anvil's exit status when anvil is gone (by itself, or after dispose; 137 = SIGKILL).</summary>
    public Task<int> Exited => _exited;

    public bool HasExited => _exited.IsCompleted;

    /// <summary>The well-known dev accounts anvil funds (the first <see cref="AnvilOptions.Accounts"/>, at most 10).</summary>
    public IReadOnlyList<AnvilDevAccount> DevAccounts => AnvilDevAccounts.All.Take(Math.Min(Options.Accounts, AnvilDevAccounts.All.Count)).ToArray();

    /// <summary>A snapshot of the captured output lines (stderr always; stdout with <see cref="AnvilOptions.CaptureOutput"/>).</summary>
    public IReadOnlyList<string> CapturedLines
    {
        get
        {
            lock (_outputLock)
            {
                return _output.ToArray();
            }
        }
    }

    /// <summary>The captured output as text.</summary>
    public string CapturedOutput => string.Join('\n', CapturedLines);

    /// <summary>
    /// Starts anvil on a free 127.0.0.1 port and waits until it answers eth_chainId with the configured
    /// chain id. Safe to call concurrently. Throws <see cref="AnvilStartException"/> (with anvil's output)
    /// when anvil exits or does not answer within <see cref="AnvilOptions.StartupTimeout"/>, and
    /// <see cref="DevnetToolNotFoundException"/> when the toolchain is not installed.
    /// </summary>
    public static async Task<AnvilProcess> StartAsync(AnvilOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new AnvilOptions();
        Validate(options);
        string anvil = DevnetPaths.AnvilPath;

        AnvilStartException? lastBindFailure = null;
        int attempts = options.Port is null ? MaxPortAttempts : 1;
        for (int attempt = 0; attempt < attempts; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int port = options.Port ?? ReservePort();
            AnvilProcess? started = null;
            try
            {
                started = Launch(anvil, port, options);
                await started.WaitUntilReadyAsync(cancellationToken).ConfigureAwait(false);
                AnvilProcess ready = started;
                started = null;
                return ready;
            }
            catch (AnvilStartException ex) when (IsAddressInUse(ex.CapturedOutput))
            {
                lastBindFailure = ex; // another process took the port between our probe bind and anvil's bind
            }
            finally
            {
                if (started is not null)
                {
                    await started.DisposeAsync().ConfigureAwait(false);
                }
            }
        }

        string what = options.Port is { } fixedPort
            ? string.Create(CultureInfo.InvariantCulture, $"anvil could not bind port {fixedPort}: it is in use")
            : $"anvil could not bind a free port after {MaxPortAttempts} attempts";
        throw new AnvilStartException(what, lastBindFailure!)
        {
            CapturedOutput = lastBindFailure?.CapturedOutput ?? "",
            ExitCode = lastBindFailure?.ExitCode,
        };
    }

    /// <summary>The anvil command-line arguments for <paramref name="options"/> on <paramref name="port"/>.</summary>
    public static IReadOnlyList<string> BuildArguments(AnvilOptions options, int port)
    {
        ArgumentNullException.ThrowIfNull(options);
        var args = new List<string>
        {
            "--host", "127.0.0.1",
            "--port", port.ToString(CultureInfo.InvariantCulture),
            "--chain-id", options.ChainId.ToString(CultureInfo.InvariantCulture),
            "--accounts", options.Accounts.ToString(CultureInfo.InvariantCulture),
            "--balance", options.BalanceEther.ToString(CultureInfo.InvariantCulture),
        };
        if (options.BlockTime is { } blockTime)
        {
            args.Add("--block-time");
            args.Add(blockTime.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture));
        }

        if (options.CodeSizeLimit is { } codeSize)
        {
            args.Add("--code-size-limit");
            args.Add(codeSize.ToString(CultureInfo.InvariantCulture));
        }

        if (options.DisableCodeSizeLimit)
        {
            args.Add("--disable-code-size-limit");
        }

        if (options.GasLimit is { } gasLimit)
        {
            args.Add("--gas-limit");
            args.Add(gasLimit.ToString(CultureInfo.InvariantCulture));
        }

        if (options.Hardfork is { } hardfork)
        {
            args.Add("--hardfork");
            args.Add(hardfork);
        }

        if (!options.CaptureOutput)
        {
            args.Add("--silent");
        }

        args.AddRange(options.ExtraArguments);
        return args;
    }

    /// <summary>
    /// Sends one eth_chainId request to <paramref name="rpcUrl"/>; returns the chain id, or null when
    /// nothing answers (connection refused, timeout, not JSON-RPC).
    /// </summary>
    public static async Task<ulong?> TryGetChainIdAsync(Uri rpcUrl, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rpcUrl);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            using var content = new StringContent(
                """{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}""", Encoding.UTF8, "application/json");
            using HttpResponseMessage response = await s_probeClient.PostAsync(rpcUrl, content, cts.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                return null;
            }

            byte[] body = await response.Content.ReadAsByteArrayAsync(cts.Token).ConfigureAwait(false);
            using JsonDocument doc = JsonDocument.Parse(body);
            return doc.RootElement.TryGetProperty("result", out JsonElement result) && result.ValueKind == JsonValueKind.String
                ? Hex.ParseQuantity(result.GetString())
                : null;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or HexFormatException or IOException)
        {
            return null;
        }
    }

    /// <summary>
    /// Stops anvil: closes the watchdog's stdin (the watchdog kills anvil with SIGKILL and reaps it),
    /// falls back to killing the whole process tree, and waits until the watchdog has exited.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            try
            {
                _process.StandardInput.Close();
            }
            catch (IOException)
            {
                // the watchdog is already gone
            }

            if (!await WaitAsync(_exited, TimeSpan.FromSeconds(5)).ConfigureAwait(false))
            {
                KillTree();
                await WaitAsync(_exited, TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            }

            // When anvil had been reparented (watchdog killed), make sure it is gone too.
            if (_pid.Task.IsCompletedSuccessfully)
            {
                await WaitForPidGoneAsync(_pid.Task.Result, TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            }
        }
        finally
        {
            ReleasePort(Port);
            _process.Dispose();
        }
    }

    public override string ToString() => $"anvil {RpcUrl} chain {ChainId}";

    /// <summary>True while <paramref name="pid"/> names a live (non-zombie) process.</summary>
    internal static bool IsProcessAlive(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }

        // "pid (comm) S ...": the state follows the last ')'.
        int close = stat.LastIndexOf(')');
        return close < 0 || close + 2 >= stat.Length || (stat[close + 2] != 'Z' && stat[close + 2] != 'X');
    }

    internal static async Task<bool> WaitForPidGoneAsync(int pid, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (IsProcessAlive(pid))
        {
            if (sw.Elapsed > timeout)
            {
                return false;
            }

            await Task.Delay(20).ConfigureAwait(false);
        }

        return true;
    }

    private static AnvilProcess Launch(string anvil, int port, AnvilOptions options)
    {
        var psi = new ProcessStartInfo("/bin/sh")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = DevnetPaths.DevnetDir,
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(WatchdogScript);
        psi.ArgumentList.Add(anvil);
        foreach (string arg in BuildArguments(options, port))
        {
            psi.ArgumentList.Add(arg);
        }

        psi.Environment["NO_COLOR"] = "1";
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new AnvilStartException("could not start /bin/sh for the anvil watchdog");
        }
        catch
        {
            ReleasePort(port);
            throw;
        }

        var anvilProcess = new AnvilProcess(process, port, options);
        anvilProcess.WatchdogProcessId = process.Id;
        return anvilProcess;
    }

    private async Task WaitUntilReadyAsync(CancellationToken cancellationToken)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_exited.IsCompleted)
            {
                int code = await _exited.ConfigureAwait(false);
                throw Failure($"anvil exited with status {code} during startup", code);
            }

            if (_pid.Task.IsCompleted)
            {
                ulong? chainId = await TryGetChainIdAsync(RpcUrl, TimeSpan.FromSeconds(2), cancellationToken).ConfigureAwait(false);
                if (chainId == ChainId && !_exited.IsCompleted && OwnsListeningPortOrUnknown(_pid.Task.Result, Port))
                {
                    return;
                }
            }

            if (sw.Elapsed > Options.StartupTimeout)
            {
                throw Failure($"anvil did not answer eth_chainId on {RpcUrl} within {Options.StartupTimeout.TotalSeconds:0.#} s", null);
            }

            await Task.WhenAny(_exited, Task.Delay(25, cancellationToken)).ConfigureAwait(false);
        }
    }

    private AnvilStartException Failure(string message, int? exitCode)
    {
        string output = CapturedOutput;
        return new AnvilStartException(output.Length == 0 ? message : $"{message}:\n{output}")
        {
            ExitCode = exitCode,
            CapturedOutput = output,
        };
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        if (!_pid.Task.IsCompleted && line.StartsWith(PidMarker, StringComparison.Ordinal)
            && int.TryParse(line.AsSpan(PidMarker.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
        {
            _pid.TrySetResult(pid);
            return;
        }

        lock (_outputLock)
        {
            _output.Enqueue(line);
            while (_output.Count > _maxLines)
            {
                _output.Dequeue();
            }
        }
    }

    private async Task<int> WaitForExitCoreAsync()
    {
        await _process.WaitForExitAsync().ConfigureAwait(false);
        return _process.ExitCode;
    }

    private void KillTree()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // already exited
        }

        if (_pid.Task.IsCompletedSuccessfully && IsProcessAlive(_pid.Task.Result))
        {
            try
            {
                using Process anvil = Process.GetProcessById(_pid.Task.Result);
                anvil.Kill();
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
            {
                // gone meanwhile
            }
        }
    }

    private static async Task<bool> WaitAsync(Task task, TimeSpan timeout)
    {
        return await Task.WhenAny(task, Task.Delay(timeout)).ConfigureAwait(false) == task;
    }

    private static void Validate(AnvilOptions options)
    {
        if (options.Accounts < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "Accounts must be at least 1");
        }

        if (options.Port is { } port && port is < 1 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "Port must be between 1 and 65535 (null = a free port)");
        }

        if (options.BlockTime is { } bt && bt <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "BlockTime must be positive (null = automine)");
        }

        if (options.StartupTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "StartupTimeout must be positive");
        }

        foreach (string arg in options.ExtraArguments)
        {
            if (arg is "--port" or "-p" or "--host" || arg.StartsWith("--port=", StringComparison.Ordinal) || arg.StartsWith("--host=", StringComparison.Ordinal))
            {
                throw new ArgumentException($"ExtraArguments must not set {arg}: host and port are managed", nameof(options));
            }
        }
    }

    private static bool IsAddressInUse(string output) =>
        output.Contains("Address already in use", StringComparison.OrdinalIgnoreCase) || output.Contains("os error 98", StringComparison.Ordinal);

    /// <summary>Picks a free loopback port the kernel hands out, never one another AnvilProcess here holds.</summary>
    private static int ReservePort()
    {
        for (int i = 0; i < 64; i++)
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            lock (s_portLock)
            {
                if (s_reservedPorts.Add(port))
                {
                    return port;
                }
            }
        }

        throw new AnvilStartException("no free loopback port found");
    }

    private static void ReleasePort(int port)
    {
        lock (s_portLock)
        {
            s_reservedPorts.Remove(port);
        }
    }

    /// <summary>
    /// Guards against answering for a foreign anvil that won a port race: true when the LISTEN socket on
    /// 127.0.0.1:<paramref name="port"/> is one of <paramref name="pid"/>'s file descriptors, or when
    /// /proc cannot tell.
    /// </summary>
    private static bool OwnsListeningPortOrUnknown(int pid, int port)
    {
        try
        {
            string? inode = null;
            string wanted = "0100007F:" + port.ToString("X4", CultureInfo.InvariantCulture);
            foreach (string line in File.ReadLines("/proc/net/tcp").Skip(1))
            {
                string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (f.Length > 9 && f[1] == wanted && f[3] == "0A")
                {
                    inode = f[9];
                    break;
                }
            }

            if (inode is null)
            {
                return true; // not visible (other namespace or format): cannot tell
            }

            string socket = $"socket:[{inode}]";
            foreach (string fd in Directory.EnumerateFileSystemEntries($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/fd"))
            {
                if (new FileInfo(fd).LinkTarget == socket)
                {
                    return true;
                }
            }

            return false;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return true;
        }
    }
}
