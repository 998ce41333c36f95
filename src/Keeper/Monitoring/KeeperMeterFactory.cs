using System.Diagnostics.Metrics;

namespace CrossMargin.Keeper.Monitoring;

/// <summary>
/// The keeper's <see cref="IMeterFactory"/>: every meter it creates carries this factory as its
/// <see cref="Meter.Scope"/>, so a <see cref="MetricsCollector"/> collects exactly one keeper's instruments even when
/// several keepers (tests) share a process. Meters are cached by name and version, and disposed with the factory.
/// </summary>
public sealed class KeeperMeterFactory : IMeterFactory
{
    private readonly Dictionary<(string Name, string? Version), Meter> _meters = [];
    private readonly Lock _lock = new();
    private bool _disposed;

    public Meter Create(MeterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_meters.TryGetValue((options.Name, options.Version), out Meter? meter)) return meter;
            meter = new Meter(new MeterOptions(options.Name) { Version = options.Version, Tags = options.Tags, Scope = this });
            _meters[(options.Name, options.Version)] = meter;
            return meter;
        }
    }

    public void Dispose()
    {
        Meter[] meters;
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            meters = [.. _meters.Values];
            _meters.Clear();
        }
        foreach (Meter m in meters) m.Dispose();
    }
}
