using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Rpc;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CrossMargin.Keeper.Monitoring;

/// <summary>
/// Reads the keeper wallet's balance (one eth_getBalance) at start and then once every
/// <see cref="MonitoringSettings.WalletBalanceEveryBlocks"/> blocks processed by the keeper loop, and reports it to
/// <see cref="KeeperMetrics.WalletBalance"/>. It looks at the processed block once per <see cref="CheckInterval"/>;
/// a failed read is logged and retried at the next check.
/// </summary>
public sealed partial class WalletBalanceWatcher : BackgroundService
{
    private readonly IEthClient _eth;
    private readonly Address _wallet;
    private readonly KeeperMetrics _metrics;
    private readonly int _everyBlocks;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private bool _read;
    private ulong? _readAt;
    private long _reads;

    public WalletBalanceWatcher(IEthClient eth, Address wallet, KeeperMetrics metrics, int everyBlocks, ILogger<WalletBalanceWatcher>? logger = null,
        TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(eth);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentOutOfRangeException.ThrowIfLessThan(everyBlocks, 1);
        _eth = eth;
        _wallet = wallet;
        _metrics = metrics;
        _everyBlocks = everyBlocks;
        _time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>How often the processed block is looked at. Default 1 s.</summary>
    public TimeSpan CheckInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Balance reads done.</summary>
    public long Reads => Interlocked.Read(ref _reads);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(CheckInterval, _time);
        do
        {
            await CheckAsync(stoppingToken).ConfigureAwait(false);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    /// <summary>Reads the balance when due (first call; then every N processed blocks). True when it read.</summary>
    public async Task<bool> CheckAsync(CancellationToken cancellationToken)
    {
        ulong? processed = _metrics.Status.ProcessedBlock;
        bool due = !_read || (processed is { } p && (_readAt is not { } at || p >= at + (ulong)_everyBlocks || p < at));
        if (!due) return false;
        try
        {
            var balance = await _eth.GetBalanceAsync(_wallet, BlockTag.Latest, cancellationToken).ConfigureAwait(false);
            _metrics.WalletBalance(balance);
            _read = true;
            _readAt = processed;
            Interlocked.Increment(ref _reads);
            return true;
        }
        catch (RpcClientException ex)
        {
            LogReadFailed(_logger, _wallet, ex.Message);
            return false;
        }
    }

    [LoggerMessage(EventId = 5011, Level = LogLevel.Warning, Message = "Reading the balance of {Wallet} failed, retrying: {Reason}")]
    private static partial void LogReadFailed(ILogger logger, Address wallet, string reason);
}
