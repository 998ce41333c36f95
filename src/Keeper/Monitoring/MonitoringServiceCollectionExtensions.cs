using System.Diagnostics.Metrics;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Keeper.Configuration;
using CrossMargin.Keeper.Oracle;
using CrossMargin.Keeper.Oracle.Push;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CrossMargin.Keeper.Monitoring;

/// <summary>Registration of the keeper's monitoring (call before the keeper's own hosted services).</summary>
public static class MonitoringServiceCollectionExtensions
{
    /// <summary>
    /// Registers <paramref name="meterFactory"/> (or a new <see cref="KeeperMeterFactory"/>) as the
    /// <see cref="IMeterFactory"/> (components must create their meters with it to be collected), <see cref="KeeperMetrics"/>, <see cref="OracleMetrics"/>, the
    /// <see cref="MetricsCollector"/> and <see cref="MonitoringServer"/> (when enabled), the
    /// <see cref="WalletBalanceWatcher"/>, OTLP export when the environment asks for it, and the subscription of
    /// <see cref="KeeperMetrics"/> to an <see cref="OraclePusher"/> if one is registered. A
    /// <see cref="TimeProvider"/> registered before is used; otherwise the system clock.
    /// </summary>
    public static IServiceCollection AddKeeperMonitoring(this IServiceCollection services, KeeperSettings settings, IEthClient eth, Address wallet,
        IMeterFactory? meterFactory = null, Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(eth);
        MonitoringSettings monitoring = settings.Monitoring;
        if (meterFactory is not null)
        {
            services.AddSingleton(meterFactory);
        }
        else
        {
            services.AddSingleton<KeeperMeterFactory>();
            services.AddSingleton<IMeterFactory>(sp => sp.GetRequiredService<KeeperMeterFactory>());
        }
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(sp =>
        {
            sp.GetService<MetricsCollector>(); // listening before the first measurement (the counters start at 0)
            return new KeeperMetrics(sp.GetRequiredService<IMeterFactory>(), wallet, sp.GetRequiredService<TimeProvider>());
        });
        services.TryAddSingleton(sp => new OracleMetrics(sp.GetRequiredService<IMeterFactory>()));
        services.AddSingleton(monitoring);
        if (monitoring.Enabled)
        {
            services.AddSingleton(sp => MetricsCollector.ForFactory(sp.GetRequiredService<IMeterFactory>()));
            services.AddSingleton(sp =>
            {
                var collector = sp.GetRequiredService<MetricsCollector>();
                var metrics = sp.GetRequiredService<KeeperMetrics>();
                var time = sp.GetRequiredService<TimeProvider>();
                HealthCheckRegistration[] checks =
                [
                    Check(KeeperHealthChecks.Alive, new AliveCheck(time), KeeperHealthChecks.LiveTag),
                    Check(KeeperHealthChecks.Head, new HeadFreshnessCheck(metrics, monitoring, time), KeeperHealthChecks.ReadyTag),
                    Check(KeeperHealthChecks.HeadSource, new HeadSourceCheck(metrics, monitoring, time), KeeperHealthChecks.ReadyTag),
                    Check(KeeperHealthChecks.Journal, settings.DryRun ? JournalCheck.DryRun() : JournalCheck.ForPath(settings.JournalPath), KeeperHealthChecks.ReadyTag),
                    Check(KeeperHealthChecks.Wallet, new WalletBalanceCheck(metrics, monitoring, time), KeeperHealthChecks.ReadyTag),
                    Check(KeeperHealthChecks.Oracle, new OracleHaltedCheck(metrics, monitoring, time), KeeperHealthChecks.ReadyTag),
                ];
                return new MonitoringServer(monitoring, collector, checks, sp.GetRequiredService<ILogger<MonitoringServer>>());
            });
            services.AddHostedService(sp => sp.GetRequiredService<MonitoringServer>());
        }
        services.AddHostedService(sp => new WalletBalanceWatcher(eth, wallet, sp.GetRequiredService<KeeperMetrics>(), monitoring.WalletBalanceEveryBlocks,
            sp.GetRequiredService<ILogger<WalletBalanceWatcher>>(), sp.GetRequiredService<TimeProvider>()));
        services.AddHostedService(sp => new KeeperTelemetryService(environment ?? Environment.GetEnvironmentVariable));
        services.AddHostedService(sp => new OracleRoundSubscription(sp.GetService<OracleService>(), sp.GetRequiredService<KeeperMetrics>()));
        return services;
    }

    private static HealthCheckRegistration Check(string name, IHealthCheck check, string tag) =>
        new(name, check, HealthStatus.Unhealthy, [tag], TimeSpan.FromSeconds(10));

    /// <summary>Feeds every oracle round to <see cref="KeeperMetrics.OracleRound"/> (pushing and gate-only rounds alike).</summary>
    private sealed class OracleRoundSubscription(OracleService? oracle, KeeperMetrics metrics) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            if (oracle is null) return Task.CompletedTask;
            metrics.OracleExpected();
            oracle.RoundCompleted += metrics.OracleRound;
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken)
        {
            if (oracle is not null) oracle.RoundCompleted -= metrics.OracleRound;
            return Task.CompletedTask;
        }
    }
}
