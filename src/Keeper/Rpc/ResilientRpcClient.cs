using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using CrossMargin.Ethereum.Rpc;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace CrossMargin.Keeper.Rpc;

/// <summary>One endpoint of a <see cref="ResilientRpcClient"/>: a name (logs, metric tags) and its transport.</summary>
public sealed record RpcEndpoint(string Name, IRpcClient Client);

/// <summary>A snapshot of one endpoint's health and counters.</summary>
public sealed record RpcEndpointStatus(string Name, CircuitState Circuit, long Calls, long Errors, TimeSpan TotalLatency);

/// <summary>Every endpoint failed the call (or had its circuit open). <see cref="Exception.InnerException"/> is the last failure.</summary>
public sealed class RpcEndpointsExhaustedException(string message, Exception? inner) : RpcTransportException(message, inner);

/// <summary>
/// An <see cref="IRpcClient"/> over several endpoints in priority order. Each endpoint has its own Polly pipeline:
/// retry (exponential back-off with jitter, transient failures only, Retry-After honoured) around a circuit breaker
/// around a per-attempt timeout. A call that exhausts an endpoint, or meets its open circuit, fails over to the next
/// one; every call starts again at the primary, so traffic returns to it once its breaker lets a trial call through
/// and it succeeds. JSON-RPC errors other than rate limits (reverts, invalid params, nonce errors) are never retried
/// and never fail over: they are the answer. Thread-safe.
/// </summary>
public sealed partial class ResilientRpcClient : IBatchingRpcClient, IDisposable
{
    private readonly Endpoint[] _endpoints;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly RpcMetrics _metrics;
    private readonly List<IDisposable> _owned = [];

    public ResilientRpcClient(IReadOnlyList<RpcEndpoint> endpoints, ResilientRpcOptions options, TimeProvider? timeProvider = null,
        ILogger<ResilientRpcClient>? logger = null, IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(options);
        if (endpoints.Count == 0) throw new ArgumentException("At least one endpoint is required.", nameof(endpoints));
        options.Validate(requireEndpoints: false);
        if (endpoints.Select(e => e.Name).Distinct(StringComparer.Ordinal).Count() != endpoints.Count)
            throw new ArgumentException("Endpoint names must be unique.", nameof(endpoints));
        _time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        Options = options;
        _endpoints = endpoints.Select(e => new Endpoint(e, BuildPipeline(e.Name, options, out var state), state)).ToArray();
        _metrics = new RpcMetrics(meterFactory, () => _endpoints.Select(e => (e.Name, (int)e.State.CircuitState)));
    }

    /// <summary>Creates HTTP clients (owned, disposed with this client) for the configured endpoints.</summary>
    public static ResilientRpcClient CreateHttp(ResilientRpcOptions options, TimeProvider? timeProvider = null,
        ILogger<ResilientRpcClient>? logger = null, IMeterFactory? meterFactory = null, HttpMessageHandler? handler = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var clients = options.Endpoints.Select(e => new JsonRpcClient(e.Url!, handler, options.AttemptTimeout + TimeSpan.FromSeconds(1))).ToList();
        var client = new ResilientRpcClient(options.Endpoints.Select((e, i) => new RpcEndpoint(e.Name, clients[i])).ToList(),
            options, timeProvider, logger, meterFactory);
        client._owned.AddRange(clients);
        return client;
    }

    public ResilientRpcOptions Options { get; }

    /// <summary>Health and counters of each endpoint, in priority order.</summary>
    public IReadOnlyList<RpcEndpointStatus> Status => _endpoints.Select(e => new RpcEndpointStatus(
        e.Name, e.State.CircuitState, Interlocked.Read(ref e.Calls), Interlocked.Read(ref e.Errors),
        TimeSpan.FromTicks(Interlocked.Read(ref e.LatencyTicks)))).ToArray();

    private ResiliencePipeline BuildPipeline(string name, ResilientRpcOptions o, out CircuitBreakerStateProvider state)
    {
        state = new CircuitBreakerStateProvider();
        var builder = new ResiliencePipelineBuilder { Name = "rpc:" + name, TimeProvider = _time };
        if (o.MaxRetryAttempts > 0)
        {
            TimeSpan max = o.MaxRetryDelay;
            builder.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } e && RpcErrorClassifier.IsRetryable(e)
                    && !(RpcErrorClassifier.RetryAfter(e) is { } ra && ra > max)),
                MaxRetryAttempts = o.MaxRetryAttempts,
                Delay = o.RetryBaseDelay,
                MaxDelay = o.MaxRetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                DelayGenerator = args => ValueTask.FromResult(args.Outcome.Exception is { } e ? RpcErrorClassifier.RetryAfter(e) : null),
                OnRetry = args =>
                {
                    LogRetry(_logger, name, args.AttemptNumber + 1, args.RetryDelay, args.Outcome.Exception?.Message);
                    return default;
                },
            });
        }
        builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions
        {
            ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } e && RpcErrorClassifier.IsEndpointFailure(e)),
            FailureRatio = o.CircuitFailureRatio,
            MinimumThroughput = o.CircuitMinimumThroughput,
            SamplingDuration = o.CircuitSamplingDuration,
            BreakDuration = o.CircuitBreakDuration,
            StateProvider = state,
            OnOpened = args =>
            {
                LogCircuitOpened(_logger, name, args.BreakDuration, args.Outcome.Exception?.Message);
                return default;
            },
            OnClosed = _ =>
            {
                LogCircuitClosed(_logger, name);
                return default;
            },
        });
        builder.AddTimeout(o.AttemptTimeout);
        return builder.Build();
    }

    public async Task<T> RequestAsync<T>(RpcRequest<T> request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return await ExecuteAsync(request.Method, request, static async (client, req, ct) => await client.RequestAsync(req, ct).ConfigureAwait(false),
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Starts a batch; <see cref="ResilientRpcBatch.SendAsync"/> sends it to one endpoint, failing over as a whole.</summary>
    public ResilientRpcBatch CreateBatch() => new(this);

    IRpcBatch IBatchingRpcClient.StartBatch() => CreateBatch();

    internal async Task<TResult> ExecuteAsync<TResult, TState>(string method, TState state,
        Func<IRpcClient, TState, CancellationToken, Task<TResult>> call, CancellationToken cancellationToken)
    {
        Exception? last = null;
        var lastAttemptError = new StrongBox<Exception?>();
        for (int i = 0; i < _endpoints.Length; i++)
        {
            var endpoint = _endpoints[i];
            try
            {
                return await endpoint.Pipeline.ExecuteAsync(static async (ctx, ct) =>
                {
                    var (self, ep, m, st, fn, box) = ctx;
                    return await self.AttemptAsync(ep, m, st, fn, box, ct).ConfigureAwait(false);
                }, (this, endpoint, method, state, call, lastAttemptError), cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex) when (RpcErrorClassifier.IsEndpointFailure(ex) || ex is BrokenCircuitException)
            {
                last = ex;
                if (i + 1 < _endpoints.Length)
                {
                    _metrics.Failover(endpoint.Name);
                    LogFailover(_logger, endpoint.Name, _endpoints[i + 1].Name, method, ex.Message);
                }
            }
        }
        // Report what the endpoints said, not that their circuits were open, when any of them was actually tried.
        throw new RpcEndpointsExhaustedException($"{method}: every RPC endpoint failed ({_endpoints.Length} tried).",
            Normalize(lastAttemptError.Value ?? last));
    }

    private static Exception? Normalize(Exception? e) => e is TimeoutRejectedException t ? new RpcTimeoutException(t.Timeout, t) : e;

    private async ValueTask<TResult> AttemptAsync<TResult, TState>(Endpoint endpoint, string method, TState state,
        Func<IRpcClient, TState, CancellationToken, Task<TResult>> call, StrongBox<Exception?> lastError, CancellationToken ct)
    {
        long start = _time.GetTimestamp();
        Interlocked.Increment(ref endpoint.Calls);
        _metrics.Call(endpoint.Name, method);
        try
        {
            return await call(endpoint.Client, state, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            var kind = RpcErrorClassifier.Classify(ex);
            if (kind != RpcFailureKind.Permanent)
            {
                lastError.Value = ex;
                Interlocked.Increment(ref endpoint.Errors);
                _metrics.Error(endpoint.Name, method, kind);
            }
            throw;
        }
        catch (OperationCanceledException)
        {
            // our timeout (Polly turns it into TimeoutRejectedException) or the caller's cancellation
            lastError.Value = new RpcTimeoutException(Options.AttemptTimeout);
            Interlocked.Increment(ref endpoint.Errors);
            _metrics.Error(endpoint.Name, method, RpcFailureKind.Transient);
            throw;
        }
        finally
        {
            var elapsed = _time.GetElapsedTime(start);
            Interlocked.Add(ref endpoint.LatencyTicks, elapsed.Ticks);
            _metrics.Latency(endpoint.Name, method, elapsed);
        }
    }

    public void Dispose()
    {
        _metrics.Dispose();
        foreach (var d in _owned) d.Dispose();
    }

    private sealed class Endpoint(RpcEndpoint endpoint, ResiliencePipeline pipeline, CircuitBreakerStateProvider state)
    {
        public long Calls;
        public long Errors;
        public long LatencyTicks;
        public string Name => endpoint.Name;
        public IRpcClient Client => endpoint.Client;
        public ResiliencePipeline Pipeline => pipeline;
        public CircuitBreakerStateProvider State => state;
    }

    [LoggerMessage(EventId = 1100, Level = LogLevel.Debug, Message = "RPC endpoint {Endpoint}: retry {Attempt} in {Delay} after: {Error}")]
    private static partial void LogRetry(ILogger logger, string endpoint, int attempt, TimeSpan delay, string? error);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "RPC endpoint {Endpoint}: circuit opened for {BreakDuration} after: {Error}")]
    private static partial void LogCircuitOpened(ILogger logger, string endpoint, TimeSpan breakDuration, string? error);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Information, Message = "RPC endpoint {Endpoint}: circuit closed, endpoint healthy again")]
    private static partial void LogCircuitClosed(ILogger logger, string endpoint);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Warning, Message = "RPC {Method}: failing over from {From} to {To} after: {Error}")]
    private static partial void LogFailover(ILogger logger, string from, string to, string method, string error);
}
