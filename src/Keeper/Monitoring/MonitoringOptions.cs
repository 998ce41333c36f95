using System.Net;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Keeper.Oracle;

namespace CrossMargin.Keeper.Monitoring;

/// <summary>
/// The operator surfaces of <c>crossmargin run</c>, bound from "Keeper:Monitoring": the HTTP endpoint (/metrics,
/// /healthz, /readyz) and the readiness thresholds. Validated by <see cref="Validate"/> (one message per bad value).
/// </summary>
public sealed class MonitoringOptions
{
    public const string Section = "Keeper:Monitoring";

    /// <summary>Serve /metrics, /healthz and /readyz. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>IP address to listen on. Default 127.0.0.1 (loopback only; use 0.0.0.0 to expose it).</summary>
    public string BindAddress { get; set; } = "127.0.0.1";

    /// <summary>TCP port; 0 picks a free port (see <see cref="MonitoringServer.Url"/>). Default 9464.</summary>
    public int Port { get; set; } = 9464;

    /// <summary>Ready only while the last processed block arrived at most this many seconds ago. Default 120.</summary>
    public int MaxHeadAgeSeconds { get; set; } = 120;

    /// <summary>Ready only while the keeper is at most this many blocks behind the chain head. Default 5.</summary>
    public int MaxBlocksBehind { get; set; } = 5;

    /// <summary>Ready only while the keeper's wallet holds at least this much of the gas token (decimal text). Default "0.05".</summary>
    public string MinWalletBalance { get; set; } = "0.05";

    /// <summary>The wallet balance is read once every this many processed blocks (and at start). Default 10.</summary>
    public int WalletBalanceEveryBlocks { get; set; } = 10;

    /// <summary>Ready only while no oracle asset has been Halted for longer than this. Default 300.</summary>
    public int MaxHaltedSeconds { get; set; } = 300;

    /// <summary>When the oracle part runs: ready only while its last round completed at most this many seconds ago. Default 60.</summary>
    public int MaxOracleRoundAgeSeconds { get; set; } = 60;

    /// <summary>Checks every value; returns the settings (meaningful only when no failure was added).</summary>
    public MonitoringSettings Validate(List<string> failures)
    {
        ArgumentNullException.ThrowIfNull(failures);
        IPAddress address = IPAddress.Loopback;
        if (string.IsNullOrWhiteSpace(BindAddress) || !IPAddress.TryParse(BindAddress.Trim(), out address!))
        {
            failures.Add($"{Section}:BindAddress: '{BindAddress}' is not an IP address (e.g. 127.0.0.1, 0.0.0.0 or ::1).");
            address = IPAddress.Loopback;
        }
        if (Port is < 0 or > 65535) failures.Add($"{Section}:Port: {Port} is not a TCP port (0-65535; 0 picks a free one).");
        if (MaxHeadAgeSeconds < 1) failures.Add($"{Section}:MaxHeadAgeSeconds: {MaxHeadAgeSeconds} must be at least 1.");
        if (MaxBlocksBehind < 0) failures.Add($"{Section}:MaxBlocksBehind: {MaxBlocksBehind} must not be negative.");
        if (WalletBalanceEveryBlocks < 1) failures.Add($"{Section}:WalletBalanceEveryBlocks: {WalletBalanceEveryBlocks} must be at least 1.");
        if (MaxHaltedSeconds < 1) failures.Add($"{Section}:MaxHaltedSeconds: {MaxHaltedSeconds} must be at least 1.");
        if (MaxOracleRoundAgeSeconds < 1) failures.Add($"{Section}:MaxOracleRoundAgeSeconds: {MaxOracleRoundAgeSeconds} must be at least 1.");
        if (!WadDecimal.TryParse(MinWalletBalance ?? "", out UInt256 floor, out _))
            failures.Add($"{Section}:MinWalletBalance: '{MinWalletBalance}' is not a non-negative decimal amount of the gas token.");
        return new MonitoringSettings(Enabled, address, Math.Clamp(Port, 0, 65535), TimeSpan.FromSeconds(Math.Max(1, MaxHeadAgeSeconds)),
            Math.Max(0, MaxBlocksBehind), floor, Math.Max(1, WalletBalanceEveryBlocks), TimeSpan.FromSeconds(Math.Max(1, MaxHaltedSeconds)))
        {
            MaxOracleRoundAge = TimeSpan.FromSeconds(Math.Max(1, MaxOracleRoundAgeSeconds)),
        };
    }
}

/// <summary>Validated <see cref="MonitoringOptions"/>.</summary>
/// <param name="Enabled">Serve the endpoints.</param>
/// <param name="BindAddress">Address to listen on.</param>
/// <param name="Port">Port (0 = any free port).</param>
/// <param name="MaxHeadAge">Largest age of the last processed block for readiness.</param>
/// <param name="MaxBlocksBehind">Largest lag behind the chain head for readiness.</param>
/// <param name="MinWalletBalanceWei">Wallet balance floor (wei of the gas token).</param>
/// <param name="WalletBalanceEveryBlocks">Blocks between two balance reads.</param>
/// <param name="MaxHalted">Longest time an oracle asset may stay Halted for readiness.</param>
public sealed record MonitoringSettings(
    bool Enabled,
    IPAddress BindAddress,
    int Port,
    TimeSpan MaxHeadAge,
    int MaxBlocksBehind,
    UInt256 MinWalletBalanceWei,
    int WalletBalanceEveryBlocks,
    TimeSpan MaxHalted)
{
    /// <summary>Largest age of the last oracle round for readiness, when the oracle part runs.</summary>
    public TimeSpan MaxOracleRoundAge { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The defaults of <see cref="MonitoringOptions"/>.</summary>
    public static MonitoringSettings Default { get; } = new MonitoringOptions().Validate([]);
}
