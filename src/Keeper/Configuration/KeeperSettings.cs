using CrossMargin.Ethereum;
using CrossMargin.Keeper.Detection;
using CrossMargin.Keeper.Monitoring;
using CrossMargin.Keeper.Planning;

namespace CrossMargin.Keeper.Configuration;

/// <summary>Validated keeper configuration (the key is loaded separately by <see cref="KeyLoader"/>).</summary>
public sealed record KeeperSettings(
    IReadOnlyList<Uri> RpcUrls,
    ulong ChainId,
    Address Engine,
    Address OracleHub,
    ulong DeploymentBlock,
    string JournalPath,
    bool DryRun,
    bool OracleEnabled,
    PlannerOptions Planner,
    DetectionOptions Detection,
    Uri? WebSocketUrl = null)
{
    /// <summary>The oracle part; null when it does not run (see <see cref="OracleConfigOptions"/>).</summary>
    public OracleSettings? Oracle { get; init; }

    /// <summary>Operator endpoint and readiness thresholds ("Keeper:Monitoring").</summary>
    public MonitoringSettings Monitoring { get; init; } = MonitoringSettings.Default;
}

/// <summary>Bad configuration: one message per bad value. The CLI prints them and exits with code 2.</summary>
public sealed class KeeperConfigurationException : Exception
{
    public KeeperConfigurationException() : this([]) { }

    public KeeperConfigurationException(string message) : this([message]) { }

    public KeeperConfigurationException(string message, Exception inner) : base(message, inner) => Failures = [message];

    public KeeperConfigurationException(IReadOnlyList<string> failures) : base(string.Join(Environment.NewLine, failures ?? [])) => Failures = failures ?? [];

    public IReadOnlyList<string> Failures { get; }
}
