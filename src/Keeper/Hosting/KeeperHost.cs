using System.Diagnostics.Metrics;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Ethereum.Signing;
using CrossMargin.Ethereum.Transactions;
using CrossMargin.Keeper.Configuration;
using CrossMargin.Keeper.Detection;
using CrossMargin.Keeper.Execution;
using CrossMargin.Keeper.Indexing;
using CrossMargin.Keeper.Monitoring;
using CrossMargin.Keeper.Oracle;
using CrossMargin.Keeper.Planning;
using CrossMargin.Keeper.Rpc;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CrossMargin.Keeper.Hosting;

/// <summary>Builds and runs the keeper daemon (<c>crossmargin run</c>).</summary>
public static partial class KeeperHost
{
    /// <summary>Exit code for bad configuration.</summary>
    public const int BadConfiguration = 2;

    /// <summary>Exit code when the daemon could not start (RPC unreachable).</summary>
    public const int StartFailed = 1;

    /// <summary>
    /// Configuration sources in increasing precedence: appsettings.json (and <paramref name="configFile"/>),
    /// environment variables with prefix CROSSMARGIN_, <paramref name="configArgs"/> (--Keeper:Engine=0x...), then
    /// <paramref name="overrides"/> (the CLI's own flags).
    /// </summary>
    public static HostApplicationBuilder CreateBuilder(string[] configArgs, IReadOnlyDictionary<string, string?>? overrides = null, string? configFile = null)
    {
        ArgumentNullException.ThrowIfNull(configArgs);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = configArgs });
        if (configFile is not null) builder.Configuration.AddJsonFile(Path.GetFullPath(configFile), optional: false);
        builder.Configuration.AddEnvironmentVariables("CROSSMARGIN_");
        builder.Configuration.AddCommandLine(configArgs);
        if (overrides is not null) builder.Configuration.AddInMemoryCollection(overrides);
        return builder;
    }

    /// <summary>Binds the "Keeper" section; unparseable values become configuration errors.</summary>
    public static KeeperOptions BindOptions(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = new KeeperOptions();
        try
        {
            configuration.GetSection(KeeperOptions.Section).Bind(options);
        }
        catch (InvalidOperationException e)
        {
            throw new KeeperConfigurationException($"{KeeperOptions.Section}: {e.Message}{(e.InnerException is { } inner ? " " + inner.Message : "")}");
        }
        return options;
    }

    /// <summary>
    /// Validates, loads the key, checks the chain id, then runs until cancelled. Returns the exit code.
    /// <paramref name="built"/> sees the services once the host is built (tests, embedding).
    /// </summary>
    public static async Task<int> RunAsync(string[] configArgs, IReadOnlyDictionary<string, string?>? overrides, string? configFile, TextWriter errors,
        Func<string, string?>? environment = null, Action<IServiceProvider>? built = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(errors);
        environment ??= Environment.GetEnvironmentVariable;
        HostApplicationBuilder builder;
        KeeperOptions options;
        KeeperSettings settings;
        PrivateKey key;
        PrivateKey? oracleKey;
        try
        {
            builder = CreateBuilder(configArgs, overrides, configFile);
            options = BindOptions(builder.Configuration);
            settings = KeeperOptionsValidator.Validate(options);
            key = KeyLoader.Load(options, environment);
            oracleKey = OracleKeyLoader.Load(options, settings, key.Address, environment);
        }
        catch (KeeperConfigurationException e)
        {
            foreach (string f in e.Failures) await errors.WriteLineAsync(f).ConfigureAwait(false);
            return BadConfiguration;
        }
        catch (Exception e) when (e is FileNotFoundException or InvalidDataException or FormatException)
        {
            await errors.WriteLineAsync("Configuration: " + e.Message).ConfigureAwait(false);
            return BadConfiguration;
        }

        using var signer = new LocalTxSigner(key, ownsKey: true);
        using var oracleSigner = oracleKey is null ? null : new LocalTxSigner(oracleKey, ownsKey: true);
        var rpcOptions = new ResilientRpcOptions();
        for (int i = 0; i < settings.RpcUrls.Count; i++) rpcOptions.Endpoints.Add(new RpcEndpointOptions { Name = $"rpc{i}", Url = settings.RpcUrls[i] });
        using var meters = new KeeperMeterFactory();
        using var rpc = ResilientRpcClient.CreateHttp(rpcOptions, meterFactory: meters);
        var eth = new EthClient(rpc);
        try
        {
            KeeperOptionsValidator.CheckChainId(settings.ChainId, await eth.ChainIdAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (KeeperConfigurationException e)
        {
            foreach (string f in e.Failures) await errors.WriteLineAsync(f).ConfigureAwait(false);
            return BadConfiguration;
        }
        catch (RpcClientException e)
        {
            await errors.WriteLineAsync($"Keeper:RpcUrls: the RPC endpoint does not answer eth_chainId: {e.Message}").ConfigureAwait(false);
            return StartFailed;
        }

        Register(builder.Services, settings, eth, signer, meters, oracleSigner);
        IHost host = builder.Build();
        try
        {
            built?.Invoke(host.Services);
            await host.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (host is IAsyncDisposable async) await async.DisposeAsync().ConfigureAwait(false);
            else host.Dispose();
        }
        return 0;
    }

    /// <summary>
    /// Registers the keeper's services for validated settings (<paramref name="meterFactory"/>: see
    /// <see cref="MonitoringServiceCollectionExtensions.AddKeeperMonitoring"/>; <paramref name="oracleSigner"/>: a separate oracle pusher key).
    /// </summary>
    public static void Register(IServiceCollection services, KeeperSettings settings, IEthClient eth, ITxSigner signer, IMeterFactory? meterFactory = null,
        ITxSigner? oracleSigner = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(signer);
        services.AddKeeperMonitoring(settings, eth, signer.Address, meterFactory);
        var indexerOptions = new IndexerOptions { Engine = settings.Engine, DeploymentBlock = settings.DeploymentBlock };
        var executionOptions = new ExecutionOptions();
        services.AddSingleton(settings);
        services.AddSingleton(eth);
        services.AddSingleton(indexerOptions);
        services.AddSingleton(sp => new ChainIndexer(eth, indexerOptions));
        services.AddSingleton(sp => new FeeEstimator(eth, executionOptions.Fees));
        services.AddSingleton<ILiquidationPriceGate>(AlwaysAllowPriceGate.Instance); // the oracle part replaces it when enabled
        services.AddOracle(settings, eth, oracleSigner);
        services.AddSingleton(sp => new LiquidationDetector(new EngineMarketReader(eth, settings.Engine, settings.OracleHub),
            sp.GetRequiredService<ChainIndexer>().Book, settings.Detection, sp.GetRequiredService<ILogger<LiquidationDetector>>()));
        services.AddSingleton(sp => new LiquidationPlanner(settings.Planner, signer.Address,
            settings.OracleEnabled ? sp.GetRequiredService<ILiquidationPriceGate>() : AlwaysAllowPriceGate.Instance));
        services.AddSingleton(sp => settings.DryRun ? null! : TxJournal.Open(settings.JournalPath));
        services.AddSingleton(sp => settings.DryRun ? null! : new TxExecutor(eth, signer, new NonceManager(eth), sp.GetRequiredService<FeeEstimator>(),
            sp.GetRequiredService<TxJournal>(), executionOptions, logger: sp.GetRequiredService<ILogger<TxExecutor>>(),
            metrics: new ExecutionMetrics(sp.GetRequiredService<IMeterFactory>())));
        services.AddSingleton(sp => new KeeperPipeline(sp.GetRequiredService<ChainIndexer>(), sp.GetRequiredService<LiquidationDetector>(),
            sp.GetRequiredService<LiquidationPlanner>(), eth, settings.Engine, sp.GetRequiredService<FeeEstimator>(),
            settings.DryRun ? null : sp.GetRequiredService<TxExecutor>(), logger: sp.GetRequiredService<ILogger<KeeperPipeline>>(),
            metrics: sp.GetService<KeeperMetrics>()));
        if (settings.WebSocketUrl is { } wsUrl)
        {
            services.AddSingleton(sp => new WebSocketRpcClient(new WebSocketRpcClientOptions { Endpoint = wsUrl }));
        }
        services.AddHostedService(sp => new HeadFollower(sp.GetRequiredService<ChainIndexer>(), eth,
            settings.WebSocketUrl is null ? null : new WebSocketNewHeadsSource(sp.GetRequiredService<WebSocketRpcClient>()), indexerOptions,
            sp.GetRequiredService<ILogger<HeadFollower>>(), metrics: sp.GetService<KeeperMetrics>()));
        services.AddHostedService(sp => new KeeperService(sp.GetRequiredService<KeeperPipeline>(),
            settings.DryRun ? null : sp.GetRequiredService<TxExecutor>(), sp.GetRequiredService<ILogger<KeeperService>>()));
    }
}

/// <summary>Starts the executor (retrying until the node answers), then runs the keeper loop.</summary>
public sealed partial class KeeperService(KeeperPipeline pipeline, TxExecutor? executor, ILogger<KeeperService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        LogStarting(logger, pipeline.DryRun);
        if (executor is not null)
        {
            for (int attempt = 1; ; attempt++)
            {
                try
                {
                    await executor.StartAsync(stoppingToken).ConfigureAwait(false);
                    break;
                }
                catch (RpcClientException e)
                {
                    LogStartRetry(logger, attempt, e.Message);
                    await Task.Delay(TimeSpan.FromSeconds(Math.Min(30, attempt * 2)), stoppingToken).ConfigureAwait(false);
                }
            }
        }
        await pipeline.RunAsync(stoppingToken).ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 3201, Level = LogLevel.Information, Message = "Keeper starting (dry run: {DryRun})")]
    private static partial void LogStarting(ILogger logger, bool dryRun);

    [LoggerMessage(EventId = 3202, Level = LogLevel.Warning, Message = "Executor start failed (attempt {Attempt}), retrying: {Reason}")]
    private static partial void LogStartRetry(ILogger logger, int attempt, string reason);
}
