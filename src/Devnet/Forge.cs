using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace CrossMargin.Devnet;

/// <summary>Status of one forge test case.</summary>
public enum ForgeTestStatus
{
    Passed,
    Failed,
    Skipped,
}

/// <summary>One forge test case from <c>forge test --json</c>.</summary>
public sealed record ForgeTestCase(string Suite, string Name, ForgeTestStatus Status, string? Reason, string? Counterexample);

/// <summary>Selection and limits for <see cref="Forge.TestAsync(ForgeTestOptions?, CancellationToken)"/>.</summary>
public sealed record ForgeTestOptions
{
    /// <summary>--match-path glob (e.g. "test/Counter.t.sol").</summary>
    public string? MatchPath { get; init; }

    /// <summary>--match-contract regex.</summary>
    public string? MatchContract { get; init; }

    /// <summary>--match-test regex.</summary>
    public string? MatchTest { get; init; }

    /// <summary>Overall limit, compilation included; null uses <see cref="Forge.DefaultTimeout"/>.</summary>
    public TimeSpan? Timeout { get; init; }
}

/// <summary>The outcome of <c>forge test</c>.</summary>
public sealed class ForgeTestResult
{
    internal ForgeTestResult(ToolRunResult run, IReadOnlyList<ForgeTestCase> tests, bool parsed, int passed, int failed, int skipped)
    {
        Run = run;
        Tests = tests;
        ResultsParsed = parsed;
        Passed = passed;
        Failed = failed;
        Skipped = skipped;
    }

    public ToolRunResult Run { get; }

    public int ExitCode => Run.ExitCode;

    public int Passed { get; }

    public int Failed { get; }

    public int Skipped { get; }

    /// <summary>Per-test results (empty when forge printed no JSON, e.g. on a compilation error).</summary>
    public IReadOnlyList<ForgeTestCase> Tests { get; }

    /// <summary>Whether forge's results were found in its output (false e.g. when compilation failed).</summary>
    public bool ResultsParsed { get; }

    /// <summary>forge's stdout and stderr.</summary>
    public string Output => Run.Output;

    /// <summary>Exit code 0, results found, none failed.</summary>
    public bool Succeeded => ExitCode == 0 && ResultsParsed && Failed == 0;

    /// <summary>A human summary: counts, then each failure with its reason, then (on failure) forge's raw output.</summary>
    public string Describe()
    {
        var sb = new StringBuilder();
        sb.Append($"forge test: exit {ExitCode}, {Passed} passed, {Failed} failed, {Skipped} skipped ({Run.Elapsed.TotalSeconds:0.0} s)");
        foreach (ForgeTestCase t in Tests.Where(t => t.Status == ForgeTestStatus.Failed))
        {
            sb.Append($"\n  FAIL {t.Suite} {t.Name}: {t.Reason}");
            if (t.Counterexample is not null)
            {
                sb.Append($" counterexample: {t.Counterexample}");
            }
        }

        // The failures above say what went wrong when forge's JSON was parsed; the raw output (which
        // includes full traces, megabytes for an invariant failure) is only needed when it was not.
        if (!Succeeded && (!ResultsParsed || !Tests.Any(t => t.Status == ForgeTestStatus.Failed)))
        {
            const int MaxOutput = 16_000;
            string output = Output.Length > MaxOutput ? "...\n" + Output[^MaxOutput..] : Output;
            sb.Append("\n--- forge output ---\n").Append(output);
        }

        return sb.ToString();
    }

    public override string ToString() => Describe();
}

/// <summary>
/// Runs the native forge in devnet/. Invocations are serialised in this process (a semaphore) and
/// across processes (an exclusive lock on devnet/.forge.lock) because forge writes devnet/out and
/// devnet/cache. The repo's foundry.toml compiles through the solcjs shim, so node must be on PATH.
/// </summary>
public static partial class Forge
{
    /// <summary>Default limit for one forge invocation.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(10);

    private static readonly SemaphoreSlim s_gate = new(1, 1);
    private static readonly Lock s_buildLock = new();
    private static Task<ToolRunResult>? s_build;

    /// <summary>Runs <c>forge build</c>; the result carries exit code and output (no exception on compile errors).</summary>
    public static Task<ToolRunResult> BuildAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        RunAsync(["build"], timeout, cancellationToken);

    /// <summary>
    /// One successful <c>forge build</c> per process, shared by all callers (a failed build is not cached,
    /// so the next caller retries). Throws <see cref="DevnetException"/> with forge's output when the build fails.
    /// </summary>
    public static Task<ToolRunResult> EnsureBuiltAsync(CancellationToken cancellationToken = default)
    {
        Task<ToolRunResult> build;
        lock (s_buildLock)
        {
            if (s_build is null || s_build.IsFaulted || s_build.IsCanceled)
            {
                s_build = BuildOnceAsync();
            }

            build = s_build;
        }

        return build.WaitAsync(cancellationToken);
    }

    /// <summary>Runs <c>forge test --json</c> and parses per-test results.</summary>
    public static async Task<ForgeTestResult> TestAsync(ForgeTestOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new ForgeTestOptions();
        var args = new List<string> { "test", "--json" };
        AddIf(args, "--match-path", options.MatchPath);
        AddIf(args, "--match-contract", options.MatchContract);
        AddIf(args, "--match-test", options.MatchTest);
        ToolRunResult run = await RunAsync(args, options.Timeout, cancellationToken).ConfigureAwait(false);
        return ParseTestResult(run);
    }

    /// <summary>Runs forge with <paramref name="arguments"/> in devnet/, holding the forge locks.</summary>
    public static async Task<ToolRunResult> RunAsync(IReadOnlyList<string> arguments, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        string forge = DevnetPaths.ForgePath;
        _ = ToolRunner.NodePath();
        TimeSpan limit = timeout ?? DefaultTimeout;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(limit);
        try
        {
            await s_gate.WaitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"forge {string.Join(' ', arguments)}: waited {limit.TotalSeconds:0} s for another forge run in this process");
        }

        try
        {
            using FileStream fileLock = await AcquireFileLockAsync(DevnetPaths.ForgeLockFile, limit, cancellationToken).ConfigureAwait(false);
            return await ToolRunner.RunAsync(forge, arguments, DevnetPaths.DevnetDir, limit, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            s_gate.Release();
        }
    }

    /// <summary>Parses <c>forge test --json</c> output (falls back to the human summary line).</summary>
    internal static ForgeTestResult ParseTestResult(ToolRunResult run)
    {
        var tests = new List<ForgeTestCase>();
        bool parsed = false;
        foreach (string line in run.StandardOutput.Split('\n'))
        {
            string trimmed = line.Trim();
            if (!trimmed.StartsWith('{'))
            {
                continue;
            }

            try
            {
                using JsonDocument doc = JsonDocument.Parse(trimmed);
                if (doc.RootElement.ValueKind != JsonValueKind.Object)
                {
                    continue;
                }

                foreach (JsonProperty suite in doc.RootElement.EnumerateObject())
                {
                    if (suite.Value.ValueKind != JsonValueKind.Object || !suite.Value.TryGetProperty("test_results", out JsonElement results))
                    {
                        continue;
                    }

                    parsed = true;
                    foreach (JsonProperty test in results.EnumerateObject())
                    {
                        tests.Add(ToCase(suite.Name, test.Name, test.Value));
                    }
                }

                if (doc.RootElement.EnumerateObject().Any() is false)
                {
                    parsed = true; // no test matched: an empty object
                }
            }
            catch (JsonException)
            {
                // not forge's JSON line
            }
        }

        if (parsed)
        {
            return new ForgeTestResult(
                run,
                tests,
                true,
                tests.Count(t => t.Status == ForgeTestStatus.Passed),
                tests.Count(t => t.Status == ForgeTestStatus.Failed),
                tests.Count(t => t.Status == ForgeTestStatus.Skipped));
        }

        // Human output: "Ran N test suites ...: P tests passed, F failed, S skipped (T total tests)"
        Match m = SummaryRegex().Match(run.Output);
        if (m.Success)
        {
            return new ForgeTestResult(run, tests, true,
                int.Parse(m.Groups[1].ValueSpan, System.Globalization.CultureInfo.InvariantCulture),
                int.Parse(m.Groups[2].ValueSpan, System.Globalization.CultureInfo.InvariantCulture),
                int.Parse(m.Groups[3].ValueSpan, System.Globalization.CultureInfo.InvariantCulture));
        }

        return new ForgeTestResult(run, tests, false, 0, 0, 0);
    }

    private static ForgeTestCase ToCase(string suite, string name, JsonElement value)
    {
        string status = value.TryGetProperty("status", out JsonElement s) && s.ValueKind == JsonValueKind.String ? s.GetString()! : "";
        ForgeTestStatus st = status switch
        {
            "Success" => ForgeTestStatus.Passed,
            "Skipped" => ForgeTestStatus.Skipped,
            _ => ForgeTestStatus.Failed,
        };
        string? reason = value.TryGetProperty("reason", out JsonElement r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
        string? counterexample = value.TryGetProperty("counterexample", out JsonElement c) && c.ValueKind is not JsonValueKind.Null and not JsonValueKind.Undefined
            ? c.GetRawText()
            : null;
        if (st == ForgeTestStatus.Failed && reason is null && status != "Failure")
        {
            reason = $"status {status}";
        }

        return new ForgeTestCase(suite, name, st, reason, counterexample);
    }

    private static async Task<ToolRunResult> BuildOnceAsync()
    {
        ToolRunResult run = await BuildAsync().ConfigureAwait(false);
        if (!run.Succeeded)
        {
            throw new DevnetException($"forge build failed (exit {run.ExitCode}):\n{run.Output}");
        }

        return run;
    }

    /// <summary>An exclusive advisory lock (flock on Unix) on <paramref name="path"/>, polled until acquired.</summary>
    private static async Task<FileStream> AcquireFileLockAsync(string path, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (sw.Elapsed < timeout)
            {
                await Task.Delay(100, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException ex)
            {
                throw new TimeoutException($"could not lock {Path.GetFileName(path)} within {timeout.TotalSeconds:0} s (another forge run holds it)", ex);
            }
        }
    }

    private static void AddIf(List<string> args, string flag, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            args.Add(flag);
            args.Add(value);
        }
    }

    [GeneratedRegex(@"(\d+) tests? passed, (\d+) failed, (\d+) skipped")]
    private static partial Regex SummaryRegex();
}
