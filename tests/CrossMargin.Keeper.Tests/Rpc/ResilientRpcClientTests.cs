using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Keeper.Rpc;
using CrossMargin.Keeper.Tests.Oracle;
using Polly.CircuitBreaker;

namespace CrossMargin.Keeper.Tests.Rpc;

/// <summary>An endpoint answering from a script: each call takes the next step (an answer's JSON text, or an exception).</summary>
internal sealed class FakeEndpoint(string name) : IRpcClient
{
    private readonly Queue<Func<Task<string>>> _script = new();

    public string Name { get; } = name;
    public List<string> Methods { get; } = [];
    public string DefaultAnswer { get; set; } = "\"0x10\"";
    public int Calls => Methods.Count;

    public FakeEndpoint Then(string json)
    {
        _script.Enqueue(() => Task.FromResult(json));
        return this;
    }

    public FakeEndpoint ThenThrow(Exception e, int times = 1)
    {
        for (int i = 0; i < times; i++) _script.Enqueue(() => Task.FromException<string>(e));
        return this;
    }

    public FakeEndpoint ThenHang()
    {
        _script.Enqueue(() => new TaskCompletionSource<string>().Task);
        return this;
    }

    public async Task<T> RequestAsync<T>(RpcRequest<T> request, CancellationToken cancellationToken = default)
    {
        Methods.Add(request.Method);
        var step = _script.Count > 0 ? _script.Dequeue() : () => Task.FromResult(DefaultAnswer);
        string json = await step().WaitAsync(cancellationToken);
        using var doc = JsonDocument.Parse(json);
        return request.ParseResult(doc.RootElement);
    }
}

public sealed class ResilientRpcClientTests
{
    private static ResilientRpcOptions Options(int retries = 2, int circuitThroughput = 10) => new()
    {
        MaxRetryAttempts = retries,
        RetryBaseDelay = TimeSpan.Zero,
        MaxRetryDelay = TimeSpan.FromSeconds(5),
        AttemptTimeout = TimeSpan.FromSeconds(10),
        CircuitMinimumThroughput = circuitThroughput,
        CircuitFailureRatio = 0.5,
        CircuitSamplingDuration = TimeSpan.FromSeconds(30),
        CircuitBreakDuration = TimeSpan.FromSeconds(30),
    };

    private static ResilientRpcClient Client(ResilientRpcOptions options, TimeProvider time, params FakeEndpoint[] endpoints) =>
        new(endpoints.Select(e => new RpcEndpoint(e.Name, e)).ToList(), options, time);

    private static readonly RpcException Revert = new(3, "execution reverted", null, [0x08, 0xc3, 0x79, 0xa0]);

    [Fact]
    public async Task Transient_errors_are_retried_on_the_same_endpoint()
    {
        var primary = new FakeEndpoint("primary").ThenThrow(new RpcConnectionException("refused")).ThenThrow(new RpcHttpStatusException(HttpStatusCode.BadGateway, "Bad Gateway")).Then("\"0x2a\"");
        var backup = new FakeEndpoint("backup");
        using var client = Client(Options(), new ManualTimeProvider(), primary, backup);
        Assert.Equal(42UL, await client.RequestAsync(EthRequests.BlockNumber()));
        Assert.Equal(3, primary.Calls);
        Assert.Equal(0, backup.Calls);
    }

    [Fact]
    public async Task Reverts_and_other_jsonrpc_errors_are_neither_retried_nor_failed_over()
    {
        var primary = new FakeEndpoint("primary").ThenThrow(Revert).ThenThrow(new RpcException(-32602, "invalid params", null, null));
        var backup = new FakeEndpoint("backup");
        using var client = Client(Options(), new ManualTimeProvider(), primary, backup);
        var e = await Assert.ThrowsAsync<RpcException>(() => client.RequestAsync(EthRequests.BlockNumber()));
        Assert.True(e.IsExecutionReverted);
        Assert.Equal(-32602, (await Assert.ThrowsAsync<RpcException>(() => client.RequestAsync(EthRequests.BlockNumber()))).Code);
        Assert.Equal(2, primary.Calls);
        Assert.Equal(0, backup.Calls);
        Assert.Equal(0, client.Status[0].Errors);
    }

    [Fact]
    public async Task Limit_exceeded_jsonrpc_error_is_retried()
    {
        var primary = new FakeEndpoint("primary").ThenThrow(new RpcException(-32005, "limit exceeded", null, null)).Then("\"0x1\"");
        using var client = Client(Options(), new ManualTimeProvider(), primary, new FakeEndpoint("backup"));
        Assert.Equal(1UL, await client.RequestAsync(EthRequests.BlockNumber()));
        Assert.Equal(2, primary.Calls);
    }

    [Fact]
    public async Task An_exhausted_endpoint_fails_over_to_the_next()
    {
        var primary = new FakeEndpoint("primary").ThenThrow(new RpcTimeoutException(TimeSpan.FromSeconds(1)), 3);
        var backup = new FakeEndpoint("backup").Then("\"0x7\"");
        using var client = Client(Options(), new ManualTimeProvider(), primary, backup);
        Assert.Equal(7UL, await client.RequestAsync(EthRequests.BlockNumber()));
        Assert.Equal(3, primary.Calls);
        Assert.Equal(1, backup.Calls);
    }

    [Fact]
    public async Task Malformed_answers_fail_over_without_retrying()
    {
        var primary = new FakeEndpoint("primary").ThenThrow(new RpcResponseFormatException(RpcFormatError.InvalidResult, "bad"));
        var backup = new FakeEndpoint("backup").Then("\"0x7\"");
        using var client = Client(Options(), new ManualTimeProvider(), primary, backup);
        Assert.Equal(7UL, await client.RequestAsync(EthRequests.BlockNumber()));
        Assert.Equal(1, primary.Calls);
    }

    [Fact]
    public async Task An_answer_too_large_reaches_the_caller_as_is_without_failover()
    {
        // asking another endpoint the same would be as large; the caller (e.g. the log backfill) must ask for less
        var primary = new FakeEndpoint("primary").ThenThrow(new RpcResponseFormatException(RpcFormatError.ResponseTooLarge, "The answer exceeds the 1000-byte limit."));
        var backup = new FakeEndpoint("backup").Then("\"0x7\"");
        using var client = Client(Options(), new ManualTimeProvider(), primary, backup);
        var e = await Assert.ThrowsAsync<RpcResponseFormatException>(() => client.RequestAsync(EthRequests.BlockNumber()));
        Assert.Equal(RpcFormatError.ResponseTooLarge, e.Error);
        Assert.Equal(1, primary.Calls);
        Assert.Equal(0, backup.Calls);
        Assert.Equal(RpcFailureKind.Permanent, RpcErrorClassifier.Classify(e));
    }

    [Fact]
    public async Task Every_endpoint_failing_raises_a_transport_error_with_the_last_cause()
    {
        var primary = new FakeEndpoint("primary").ThenThrow(new RpcConnectionException("a"), 3);
        var backup = new FakeEndpoint("backup").ThenThrow(new RpcConnectionException("b"), 3);
        using var client = Client(Options(), new ManualTimeProvider(), primary, backup);
        var e = await Assert.ThrowsAsync<RpcEndpointsExhaustedException>(() => client.RequestAsync(EthRequests.BlockNumber()));
        Assert.IsAssignableFrom<RpcTransportException>(e);
        Assert.Equal("b", e.InnerException!.Message);
    }

    [Fact]
    public async Task Open_circuit_skips_the_primary_and_traffic_returns_once_it_recovers()
    {
        var time = new ManualTimeProvider();
        var primary = new FakeEndpoint("primary").ThenThrow(new RpcConnectionException("down"), 2);
        var backup = new FakeEndpoint("backup");
        using var client = Client(Options(retries: 0, circuitThroughput: 2), time, primary, backup);

        await client.RequestAsync(EthRequests.BlockNumber()); // primary fails once -> backup
        await client.RequestAsync(EthRequests.BlockNumber()); // second failure: 2/2 -> circuit opens
        Assert.Equal(CircuitState.Open, client.Status[0].Circuit);
        Assert.Equal(2, primary.Calls);

        for (int i = 0; i < 5; i++) await client.RequestAsync(EthRequests.BlockNumber());
        Assert.Equal(2, primary.Calls); // not touched while open
        Assert.Equal(7, backup.Calls);

        time.Advance(TimeSpan.FromSeconds(31));
        await client.RequestAsync(EthRequests.BlockNumber()); // trial call succeeds -> closed
        Assert.Equal(3, primary.Calls);
        Assert.Equal(CircuitState.Closed, client.Status[0].Circuit);
        await client.RequestAsync(EthRequests.BlockNumber());
        Assert.Equal(4, primary.Calls);
        Assert.Equal(7, backup.Calls);
    }

    [Fact]
    public async Task Circuit_opening_during_retries_fails_over_and_reports_the_real_error()
    {
        var primary = new FakeEndpoint("primary").ThenThrow(new RpcConnectionException("a"), 2);
        var backup = new FakeEndpoint("backup").ThenThrow(new RpcConnectionException("b"), 2);
        using var client = Client(Options(retries: 5, circuitThroughput: 2), new ManualTimeProvider(), primary, backup);
        var e = await Assert.ThrowsAsync<RpcEndpointsExhaustedException>(() => client.RequestAsync(EthRequests.BlockNumber()));
        Assert.Equal("b", e.InnerException!.Message);
        Assert.Equal(2, primary.Calls); // the third attempt met the open circuit
        Assert.Equal(2, backup.Calls);
        Assert.All(client.Status, s => Assert.Equal(CircuitState.Open, s.Circuit));
    }

    [Fact]
    public async Task Rate_limit_retry_waits_for_retry_after()
    {
        var time = new ManualTimeProvider();
        var primary = new FakeEndpoint("primary").ThenThrow(new RpcRateLimitedException("Too Many Requests", TimeSpan.FromSeconds(2))).Then("\"0x5\"");
        var backup = new FakeEndpoint("backup");
        using var client = Client(Options(), time, primary, backup);
        var call = client.RequestAsync(EthRequests.BlockNumber());
        Assert.False(call.IsCompleted);
        Assert.Equal(1, primary.Calls);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(call.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(5UL, await call);
        Assert.Equal(2, primary.Calls);
        Assert.Equal(0, backup.Calls);
    }

    [Fact]
    public async Task Retry_after_beyond_the_longest_delay_fails_over_at_once()
    {
        var primary = new FakeEndpoint("primary").ThenThrow(new RpcRateLimitedException(null, TimeSpan.FromMinutes(10)));
        var backup = new FakeEndpoint("backup").Then("\"0x9\"");
        using var client = Client(Options(), new ManualTimeProvider(), primary, backup);
        Assert.Equal(9UL, await client.RequestAsync(EthRequests.BlockNumber()));
        Assert.Equal(1, primary.Calls);
    }

    [Fact]
    public async Task Hanging_endpoint_times_out_and_fails_over()
    {
        var time = new ManualTimeProvider();
        var primary = new FakeEndpoint("primary").ThenHang();
        var backup = new FakeEndpoint("backup").Then("\"0x3\"");
        using var client = Client(Options(retries: 0), time, primary, backup);
        var call = client.RequestAsync(EthRequests.BlockNumber());
        Assert.False(call.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(3UL, await call);
        Assert.Equal(1, client.Status[0].Errors);
    }

    [Fact]
    public async Task Batch_fails_over_as_a_whole_and_keeps_per_call_errors()
    {
        var primary = new FakeEndpoint("primary").Then("\"0x1\"").ThenThrow(new RpcConnectionException("reset mid-batch"));
        var backup = new FakeEndpoint("backup").Then("\"0xa\"").ThenThrow(Revert).Then("\"0xc\"");
        using var client = Client(Options(retries: 0), new ManualTimeProvider(), primary, backup);
        var batch = client.CreateBatch();
        var a = batch.Add(EthRequests.BlockNumber());
        var b = batch.Add(EthRequests.ChainId());
        var c = batch.Add(EthRequests.BlockNumber());
        await batch.SendAsync();
        Assert.Equal(10UL, await a); // from the backup, not the primary's partial answer
        Assert.True((await Assert.ThrowsAsync<RpcException>(() => b)).IsExecutionReverted);
        Assert.Equal(12UL, await c);
        Assert.Equal(2, primary.Calls);
        Assert.Equal(3, backup.Calls);
    }

    [Fact]
    public async Task Http_batch_goes_in_one_post_and_fails_over_on_5xx()
    {
        int primaryPosts = 0, backupPosts = 0;
        var primaryHandler = new StubHandler((_, _) =>
        {
            primaryPosts++;
            return Task.FromResult(StubHandler.Response(HttpStatusCode.ServiceUnavailable, "busy", "text/plain"));
        });
        var backupHandler = new StubHandler(async (req, ct) =>
        {
            backupPosts++;
            using var doc = JsonDocument.Parse(await req.Content!.ReadAsStringAsync(ct));
            var answers = doc.RootElement.EnumerateArray().Select(e => $$"""{"jsonrpc":"2.0","id":{{e.GetProperty("id").GetInt64()}},"result":"0x{{e.GetProperty("id").GetInt64():x}}"}""");
            return StubHandler.Response(HttpStatusCode.OK, "[" + string.Join(',', answers.Reverse()) + "]");
        });
        using var p = new JsonRpcClient(new Uri("http://primary.test/"), primaryHandler);
        using var b = new JsonRpcClient(new Uri("http://backup.test/"), backupHandler);
        using var client = new ResilientRpcClient([new RpcEndpoint("primary", p), new RpcEndpoint("backup", b)], Options(retries: 1), new ManualTimeProvider());
        var batch = client.CreateBatch();
        var tasks = Enumerable.Range(0, 4).Select(_ => batch.Add(EthRequests.BlockNumber())).ToArray();
        await batch.SendAsync();
        var values = await Task.WhenAll(tasks);
        Assert.Equal(4, values.Distinct().Count()); // each call got its own id's answer
        Assert.Equal(2, primaryPosts);
        Assert.Equal(1, backupPosts);
    }

    [Fact]
    public async Task Metrics_count_calls_and_errors_per_endpoint_and_method()
    {
        var measurements = new List<(string Instrument, long Value, Dictionary<string, object?> Tags)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == RpcMetrics.MeterName) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            lock (measurements) measurements.Add((instrument.Name, value, tags.ToArray().ToDictionary(t => t.Key, t => t.Value)));
        });
        listener.Start();

        var primary = new FakeEndpoint("primary").ThenThrow(new RpcConnectionException("x"));
        using var client = Client(Options(retries: 0), new ManualTimeProvider(), primary, new FakeEndpoint("backup"));
        await client.RequestAsync(EthRequests.ChainId());

        List<(string Instrument, long Value, Dictionary<string, object?> Tags)> mine;
        lock (measurements) mine = measurements.Where(m => m.Tags.TryGetValue("method", out var me) && (string?)me == "eth_chainId" || m.Instrument == RpcMetrics.FailoversName).ToList();
        Assert.Contains(mine, m => m.Instrument == RpcMetrics.CallsName && (string?)m.Tags["endpoint"] == "primary");
        Assert.Contains(mine, m => m.Instrument == RpcMetrics.CallsName && (string?)m.Tags["endpoint"] == "backup");
        Assert.Contains(mine, m => m.Instrument == RpcMetrics.ErrorsName && (string?)m.Tags["endpoint"] == "primary" && (string?)m.Tags["error"] == "Transient");
        Assert.Contains(mine, m => m.Instrument == RpcMetrics.FailoversName && (string?)m.Tags["endpoint"] == "primary");
        Assert.Equal(1, client.Status[0].Calls);
        Assert.Equal(1, client.Status[0].Errors);
        Assert.Equal(1, client.Status[1].Calls);
    }

    [Fact]
    public void Options_are_validated()
    {
        var o = new ResilientRpcOptions();
        Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => o.Validate());
        o.Endpoints.Add(new RpcEndpointOptions { Name = "a", Url = new Uri("http://localhost:8545") });
        o.Validate();
        o.Endpoints.Add(new RpcEndpointOptions { Name = "a", Url = new Uri("ws://localhost:8545") });
        var e = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => o.Validate());
        Assert.Equal(2, e.Failures.Count());
    }
}
