using System.Diagnostics.Metrics;

namespace CrossMargin.Keeper.Rpc;

/// <summary>
/// Instruments of the RPC layer on the "CrossMargin.Keeper" meter. Tags: <c>endpoint</c> (configured name),
/// <c>method</c> (JSON-RPC method, or "batch"), <c>error</c> (<see cref="RpcFailureKind"/>).
/// </summary>
public sealed class RpcMetrics : IDisposable
{
    public const string MeterName = "CrossMargin.Keeper";
    public const string CallsName = "crossmargin_rpc_calls_total";
    public const string ErrorsName = "crossmargin_rpc_errors_total";
    public const string LatencyName = "crossmargin_rpc_latency_seconds";
    public const string FailoversName = "crossmargin_rpc_failovers_total";
    public const string CircuitStateName = "crossmargin_rpc_circuit_state";

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Counter<long> _calls;
    private readonly Counter<long> _errors;
    private readonly Histogram<double> _latency;
    private readonly Counter<long> _failovers;

    /// <param name="meterFactory">Creates the meter (DI); a private meter is created when null.</param>
    /// <param name="circuitStates">Observed by the circuit-state gauge: (endpoint, 0 closed / 1 open / 2 half-open / 3 isolated).</param>
    public RpcMetrics(IMeterFactory? meterFactory, Func<IEnumerable<(string Endpoint, int State)>>? circuitStates = null)
    {
        if (meterFactory is not null)
        {
            _meter = meterFactory.Create(MeterName);
        }
        else
        {
            _meter = new Meter(MeterName);
            _ownsMeter = true;
        }
        _calls = _meter.CreateCounter<long>(CallsName, description: "RPC attempts per endpoint and method");
        _errors = _meter.CreateCounter<long>(ErrorsName, description: "Failed RPC attempts per endpoint, method and error kind");
        _latency = _meter.CreateHistogram<double>(LatencyName, unit: "s", description: "Latency of RPC attempts");
        _failovers = _meter.CreateCounter<long>(FailoversName, description: "Calls that left an endpoint for the next one");
        if (circuitStates is not null)
        {
            _meter.CreateObservableGauge(CircuitStateName, () => circuitStates().Select(s =>
                new Measurement<int>(s.State, new KeyValuePair<string, object?>("endpoint", s.Endpoint))),
                description: "Circuit breaker state per endpoint: 0 closed, 1 open, 2 half-open, 3 isolated");
        }
    }

    public void Call(string endpoint, string method) =>
        _calls.Add(1, new KeyValuePair<string, object?>("endpoint", endpoint), new KeyValuePair<string, object?>("method", method));

    public void Error(string endpoint, string method, RpcFailureKind kind) =>
        _errors.Add(1, new KeyValuePair<string, object?>("endpoint", endpoint), new KeyValuePair<string, object?>("method", method),
            new KeyValuePair<string, object?>("error", kind.ToString()));

    public void Latency(string endpoint, string method, TimeSpan elapsed) =>
        _latency.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("endpoint", endpoint), new KeyValuePair<string, object?>("method", method));

    public void Failover(string endpoint) => _failovers.Add(1, new KeyValuePair<string, object?>("endpoint", endpoint));

    public void Dispose()
    {
        if (_ownsMeter) _meter.Dispose();
    }
}
