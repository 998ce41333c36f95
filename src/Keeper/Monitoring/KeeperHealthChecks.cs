using System.Globalization;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Keeper.Oracle;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CrossMargin.Keeper.Monitoring;

/// <summary>Names and tags of the keeper's health checks.</summary>
public static class KeeperHealthChecks
{
    /// <summary>Tag of the liveness checks (/healthz).</summary>
    public const string LiveTag = "live";

    /// <summary>Tag of the readiness checks (/readyz).</summary>
    public const string ReadyTag = "ready";

    public const string Alive = "alive";
    public const string Head = "head";
    public const string HeadSource = "head_source";
    public const string Journal = "journal";
    public const string Wallet = "wallet";
    public const string Oracle = "oracle";

    /// <summary>The readiness checks, in the order they are reported.</summary>
    public static IReadOnlyList<string> ReadinessNames { get; } = [Head, HeadSource, Journal, Wallet, Oracle];

    internal static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture) + " s";
}

/// <summary>Liveness: the process answers.</summary>
public sealed class AliveCheck(TimeProvider? timeProvider = null) : IHealthCheck
{
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;
    private readonly DateTimeOffset _started = (timeProvider ?? TimeProvider.System).GetUtcNow();

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(HealthCheckResult.Healthy("up " + KeeperHealthChecks.Seconds(_time.GetUtcNow() - _started)));
}

/// <summary>
/// Ready while the keeper loop processed a block at most <see cref="MonitoringSettings.MaxHeadAge"/> ago and is at
/// most <see cref="MonitoringSettings.MaxBlocksBehind"/> blocks behind the chain head.
/// </summary>
public sealed class HeadFreshnessCheck(KeeperMetrics metrics, MonitoringSettings settings, TimeProvider? timeProvider = null) : IHealthCheck
{
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        KeeperStatus s = metrics.Status;
        if (s.ProcessedBlock is not { } block || s.ProcessedAt is not { } at)
            return Task.FromResult(HealthCheckResult.Unhealthy("no block processed yet"));
        TimeSpan age = _time.GetUtcNow() - at;
        string where = $"block {block}, head {s.ChainHead?.ToString(CultureInfo.InvariantCulture) ?? "?"}, {s.BlocksBehind} behind, processed {KeeperHealthChecks.Seconds(age)} ago";
        if (age > settings.MaxHeadAge)
            return Task.FromResult(HealthCheckResult.Unhealthy($"stale: {where} (limit {KeeperHealthChecks.Seconds(settings.MaxHeadAge)})"));
        if (s.BlocksBehind > (ulong)settings.MaxBlocksBehind)
            return Task.FromResult(HealthCheckResult.Unhealthy($"behind: {where} (limit {settings.MaxBlocksBehind} blocks)"));
        return Task.FromResult(HealthCheckResult.Healthy(where));
    }
}

/// <summary>
/// Ready while heads arrive: the newHeads subscription or the HTTP polling fallback completed a step at most
/// <see cref="MonitoringSettings.MaxHeadAge"/> ago.
/// </summary>
public sealed class HeadSourceCheck(KeeperMetrics metrics, MonitoringSettings settings, TimeProvider? timeProvider = null) : IHealthCheck
{
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        KeeperStatus s = metrics.Status;
        string source = s.Subscribed ? "newHeads subscription" : "HTTP polling";
        if (s.HeadSourceAt is not { } at) return Task.FromResult(HealthCheckResult.Unhealthy("no head received yet"));
        TimeSpan age = _time.GetUtcNow() - at;
        string detail = $"{source}, last head {KeeperHealthChecks.Seconds(age)} ago";
        return Task.FromResult(age > settings.MaxHeadAge
            ? HealthCheckResult.Unhealthy($"no live head source: {detail} (limit {KeeperHealthChecks.Seconds(settings.MaxHeadAge)})")
            : HealthCheckResult.Healthy(detail));
    }
}

/// <summary>Ready while the transaction journal accepts a write (nothing may be sent without it). Dry run: no journal.</summary>
public sealed class JournalCheck : IHealthCheck
{
    private readonly Func<CancellationToken, string?> _probe;
    private readonly string _what;

    /// <param name="probe">Returns null when the journal is writable, otherwise why not.</param>
    /// <param name="what">Description when healthy.</param>
    public JournalCheck(Func<CancellationToken, string?> probe, string what)
    {
        ArgumentNullException.ThrowIfNull(probe);
        _probe = probe;
        _what = what ?? "";
    }

    /// <summary>A check that opens the SQLite journal at <paramref name="path"/> and runs a write transaction it rolls back.</summary>
    public static JournalCheck ForPath(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string full = Path.GetFullPath(path);
        return new JournalCheck(_ => Probe(full), full);
    }

    /// <summary>Dry run: there is no journal, the check passes.</summary>
    public static JournalCheck DryRun() => new(_ => null, "dry run: no journal");

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        string? failure = _probe(cancellationToken);
        return Task.FromResult(failure is null ? HealthCheckResult.Healthy(_what) : HealthCheckResult.Unhealthy("journal not writable: " + failure));
    }

    /// <summary>Null when <paramref name="path"/> (an existing SQLite journal) takes a write lock and a header write.</summary>
    public static string? Probe(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) return $"'{path}' does not exist";
        var cs = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWrite, Pooling = false, DefaultTimeout = 5 }.ToString();
        try
        {
            using var db = new SqliteConnection(cs);
            db.Open();
            using (var busy = db.CreateCommand())
            {
                busy.CommandText = "PRAGMA busy_timeout=2000;";
                busy.ExecuteNonQuery();
            }
            using var tx = db.BeginTransaction(deferred: false); // BEGIN IMMEDIATE: the write lock
            using var cmd = db.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "PRAGMA user_version;";
            long version = Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
            cmd.CommandText = $"PRAGMA user_version={version.ToString(CultureInfo.InvariantCulture)};";
            cmd.ExecuteNonQuery();
            tx.Rollback();
            return null;
        }
        catch (SqliteException ex)
        {
            return ex.Message;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            return ex.Message;
        }
    }
}

/// <summary>Ready while the keeper's wallet holds at least <see cref="MonitoringSettings.MinWalletBalanceWei"/>.</summary>
public sealed class WalletBalanceCheck(KeeperMetrics metrics, MonitoringSettings settings, TimeProvider? timeProvider = null) : IHealthCheck
{
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;

    /// <summary>
    /// Oldest acceptable balance read: one read per <see cref="MonitoringSettings.WalletBalanceEveryBlocks"/> blocks, each
    /// block at most <see cref="MonitoringSettings.MaxHeadAge"/> apart while the keeper is ready.
    /// </summary>
    public TimeSpan MaxAge => settings.MaxHeadAge * Math.Max(1, settings.WalletBalanceEveryBlocks);

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        KeeperStatus s = metrics.Status;
        string floor = Amount(settings.MinWalletBalanceWei);
        if (s.WalletBalanceWei is not { } wei) return Task.FromResult(HealthCheckResult.Unhealthy("wallet balance not read yet"));
        string balance = Amount(wei);
        if (s.WalletBalanceAt is { } at && _time.GetUtcNow() - at > MaxAge)
            return Task.FromResult(HealthCheckResult.Unhealthy(
                $"balance {balance} read {KeeperHealthChecks.Seconds(_time.GetUtcNow() - at)} ago (limit {KeeperHealthChecks.Seconds(MaxAge)}): the balance reads fail"));
        return Task.FromResult(wei < settings.MinWalletBalanceWei
            ? HealthCheckResult.Unhealthy($"balance {balance} is below the floor {floor}")
            : HealthCheckResult.Healthy($"balance {balance} (floor {floor})"));
    }

    /// <summary>Wei as an exact gas-token amount without trailing zeros ("0.05").</summary>
    public static string Amount(UInt256 wei)
    {
        string s = WadDecimal.Format(wei, WadDecimal.Decimals).TrimEnd('0');
        return s.EndsWith('.') ? s[..^1] : s;
    }
}

/// <summary>
/// Ready while no oracle asset has been Halted longer than <see cref="MonitoringSettings.MaxHalted"/> and, when the oracle
/// part runs, its last round completed within <see cref="MonitoringSettings.MaxOracleRoundAge"/>.
/// </summary>
public sealed class OracleHaltedCheck(KeeperMetrics metrics, MonitoringSettings settings, TimeProvider? timeProvider = null) : IHealthCheck
{
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        KeeperStatus s = metrics.Status;
        DateTimeOffset now = _time.GetUtcNow();
        if (s.OracleExpectedSince is { } expected)
        {
            // the oracle part runs: its rounds (gate-only or pushing) must keep completing
            DateTimeOffset last = s.OracleRoundAt ?? expected;
            if (now - last > settings.MaxOracleRoundAge)
                return Task.FromResult(HealthCheckResult.Unhealthy(s.OracleRoundAt is null
                    ? $"no oracle round completed in {KeeperHealthChecks.Seconds(now - expected)} (limit {KeeperHealthChecks.Seconds(settings.MaxOracleRoundAge)})"
                    : $"last oracle round {KeeperHealthChecks.Seconds(now - last)} ago (limit {KeeperHealthChecks.Seconds(settings.MaxOracleRoundAge)})"));
        }
        if (s.OracleRounds == 0)
            return Task.FromResult(HealthCheckResult.Healthy(s.OracleExpectedSince is null ? "oracle part not running" : "no oracle round yet"));
        var tooLong = s.HaltedSince.Where(kv => now - kv.Value > settings.MaxHalted).OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => $"{kv.Key} for {KeeperHealthChecks.Seconds(now - kv.Value)}").ToList();
        if (tooLong.Count > 0)
            return Task.FromResult(HealthCheckResult.Unhealthy($"Halted longer than {KeeperHealthChecks.Seconds(settings.MaxHalted)}: {string.Join(", ", tooLong)}"));
        return Task.FromResult(HealthCheckResult.Healthy(s.HaltedSince.Count == 0
            ? $"no asset Halted ({s.OracleRounds} rounds)"
            : $"Halted within the limit: {string.Join(", ", s.HaltedSince.Keys.Order(StringComparer.Ordinal))}"));
    }
}
