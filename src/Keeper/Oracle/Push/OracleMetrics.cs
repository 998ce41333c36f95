using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace CrossMargin.Keeper.Oracle.Push;

/// <summary>
/// Oracle bot instruments on the Meter "CrossMargin.Keeper": pushes, benign races, errors, halted skips, push
/// latency and gas, per-asset deviation, per-asset state, and blocked liquidations.
/// </summary>
public sealed class OracleMetrics : IDisposable
{
    /// <summary>Meter name shared by the keeper's components.</summary>
    public const string MeterName = "CrossMargin.Keeper";

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly ConcurrentDictionary<string, int> _states = new(StringComparer.Ordinal);
    private readonly Counter<long> _pushes;
    private readonly Counter<long> _assetPushes;
    private readonly Counter<long> _benign;
    private readonly Counter<long> _errors;
    private readonly Counter<long> _halted;
    private readonly Counter<long> _blocked;
    private readonly Histogram<double> _latency;
    private readonly Histogram<long> _gas;
    private readonly Histogram<long> _deviation;

    /// <param name="meterFactory">Factory from DI; null creates (and owns) a plain meter.</param>
    public OracleMetrics(IMeterFactory? meterFactory = null)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _ownsMeter = meterFactory is null;
        _pushes = _meter.CreateCounter<long>("crossmargin.oracle.pushes", "{transaction}", "Oracle push transactions mined successfully, by kind (feeds, pyth).");
        _assetPushes = _meter.CreateCounter<long>("crossmargin.oracle.asset_pushes", "{update}", "Asset updates carried by successful pushes, by asset and reason.");
        _benign = _meter.CreateCounter<long>("crossmargin.oracle.benign_races", "{race}", "Pushes rejected because the chain already had a newer update.");
        _errors = _meter.CreateCounter<long>("crossmargin.oracle.push_errors", "{error}", "Pushes that failed for any other reason.");
        _halted = _meter.CreateCounter<long>("crossmargin.oracle.halted_skips", "{round}", "Rounds in which an asset was not pushed because it was Halted.");
        _blocked = _meter.CreateCounter<long>("crossmargin.oracle.liquidation_blocked", "{check}", "Liquidation price checks blocked by the sanity gate (alert).");
        _latency = _meter.CreateHistogram<double>("crossmargin.oracle.push_latency", "ms", "Round start to receipt of a successful push.");
        _gas = _meter.CreateHistogram<long>("crossmargin.oracle.push_gas", "{gas}", "Gas used per successful push.");
        _deviation = _meter.CreateHistogram<long>("crossmargin.oracle.deviation", "bps", "Aggregate vs on-chain deviation per asset and round.");
        _meter.CreateObservableGauge("crossmargin.oracle.state", ObserveStates, "{state}", "Per-asset oracle state: 0 Healthy, 1 Degraded, 2 Halted.");
    }

    /// <summary>The meter (for listeners that must tell instances apart).</summary>
    public Meter Meter => _meter;

    private IEnumerable<Measurement<int>> ObserveStates() =>
        _states.Select(kv => new Measurement<int>(kv.Value, new KeyValuePair<string, object?>("asset", kv.Key)));

    internal void Pushed(string kind, double latencyMs, ulong gasUsed)
    {
        var k = new KeyValuePair<string, object?>("kind", kind);
        _pushes.Add(1, k);
        _latency.Record(latencyMs, k);
        _gas.Record((long)Math.Min(gasUsed, long.MaxValue), k);
    }

    internal void AssetPushed(string asset, PushReason reason) =>
        _assetPushes.Add(1, new KeyValuePair<string, object?>("asset", asset), new KeyValuePair<string, object?>("reason", reason.ToString()));

    internal void Benign(string kind, PushRejection rejection) =>
        _benign.Add(1, new KeyValuePair<string, object?>("kind", kind), new KeyValuePair<string, object?>("race", rejection.ToString()));

    internal void Error(string kind, string stage) =>
        _errors.Add(1, new KeyValuePair<string, object?>("kind", kind), new KeyValuePair<string, object?>("stage", stage));

    internal void HaltedSkip(string asset) => _halted.Add(1, new KeyValuePair<string, object?>("asset", asset));

    internal void Deviation(string asset, long bps) => _deviation.Record(bps, new KeyValuePair<string, object?>("asset", asset));

    internal void State(string asset, OracleState state) => _states[asset] = (int)state;

    internal void LiquidationBlocked(string asset, SanityBlockReason reason) =>
        _blocked.Add(1, new KeyValuePair<string, object?>("asset", asset), new KeyValuePair<string, object?>("reason", reason.ToString()));

    public void Dispose()
    {
        if (_ownsMeter) _meter.Dispose();
    }
}
