using CrossMargin.Ethereum.Rpc;

namespace CrossMargin.Ethereum.Tests.Rpc;

#pragma warning disable CA1001 // disposed by xunit through IAsyncLifetime.DisposeAsync
public sealed class WebSocketRpcClientTests : IAsyncLifetime
#pragma warning restore CA1001
{
    // Hang guard only: every await in these tests finishes in milliseconds when things work.
    private readonly CancellationTokenSource _guard = new(TimeSpan.FromSeconds(30));
    private readonly LoopbackWebSocketServer _server = new();
    private WebSocketRpcClient _client = null!;

    private CancellationToken Ct => _guard.Token;

    public Task InitializeAsync()
    {
        _client = new WebSocketRpcClient(new WebSocketRpcClientOptions
        {
            Endpoint = _server.Uri,
            InitialReconnectDelay = TimeSpan.FromMilliseconds(10),
            MaxReconnectDelay = TimeSpan.FromMilliseconds(100),
        });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _client.DisposeAsync();
        await _server.DisposeAsync();
        _guard.Dispose();
    }

    private static string Head(ulong number) =>
        $"{{\"number\":\"0x{number:x}\",\"hash\":\"0x{number:x64}\",\"parentHash\":\"0x{number - 1:x64}\",\"timestamp\":\"0x{1000 + number:x}\"," +
        "\"baseFeePerGas\":\"0x7\",\"gasLimit\":\"0x1c9c380\",\"gasUsed\":\"0x0\",\"miner\":\"0x0000000000000000000000000000000000000000\"}";

    [Fact]
    public async Task Requests_round_trip_over_the_socket()
    {
        var call = new EthClient(_client).BlockNumberAsync(Ct);
        var conn = await _server.NextConnectionAsync(Ct);
        var request = await conn.ExpectRequestAsync("eth_blockNumber", Ct);
        await conn.ReplyAsync(request, "\"0x2a\"", Ct);
        Assert.Equal(42UL, await call);

        var failing = new EthClient(_client).ChainIdAsync(Ct);
        request = await conn.ExpectRequestAsync("eth_chainId", Ct);
        await conn.SendAsync(FakeJson.Error(request, "{\"code\":-32000,\"message\":\"nope\"}"), Ct);
        Assert.Equal(-32000, (await Assert.ThrowsAsync<RpcException>(() => failing)).Code);
    }

    [Fact]
    public async Task NewHeads_notifications_arrive_typed_and_unsubscribe_is_sent_on_dispose()
    {
        var subscribing = _client.SubscribeNewHeadsAsync(Ct);
        var conn = await _server.NextConnectionAsync(Ct);
        var sub = await conn.ExpectRequestAsync("eth_subscribe", Ct);
        Assert.Equal("[\"newHeads\"]", sub.GetProperty("params").GetRawText());
        await conn.ReplyAsync(sub, "\"0xabc\"", Ct);
        // Notifications right behind the answer must not be lost.
        await conn.NotifyAsync("0xabc", Head(7), Ct);
        await conn.NotifyAsync("0xabc", Head(8), Ct);
        await using var subscription = await subscribing;
        Assert.Equal("0xabc", subscription.ServerId);

        var first = await subscription.Events.ReadAsync(Ct);
        var second = await subscription.Events.ReadAsync(Ct);
        Assert.False(first.IsGap);
        Assert.Equal(7UL, first.Value!.Number);
        Assert.Equal(1007UL, first.Value.Timestamp);
        Assert.Equal(8UL, second.Value!.Number);
        Assert.Equal(8UL, subscription.LastSeenBlock);

        var disposing = subscription.DisposeAsync();
        var unsub = await conn.ExpectRequestAsync("eth_unsubscribe", Ct);
        Assert.Equal("[\"0xabc\"]", unsub.GetProperty("params").GetRawText());
        await conn.ReplyAsync(unsub, "true", Ct);
        await disposing;
        Assert.False(await subscription.Events.WaitToReadAsync(Ct)); // stream ended
    }

    [Fact]
    public async Task Logs_subscription_sends_the_filter()
    {
        var address = Address.Parse("0x5fbdb2315678afecb367f032d93f642f64180aa3");
        var topic = Hash32.Parse("0x" + new string('a', 64));
        var subscribing = _client.SubscribeLogsAsync(new LogFilter { Addresses = [address], Topics = [[topic]] }, Ct);
        var conn = await _server.NextConnectionAsync(Ct);
        var sub = await conn.ExpectRequestAsync("eth_subscribe", Ct);
        Assert.Equal($"[\"logs\",{{\"address\":\"{address.ToLowerHex()}\",\"topics\":[\"{topic}\"]}}]", sub.GetProperty("params").GetRawText());
        await conn.ReplyAsync(sub, "\"0x1\"", Ct);
        await using var subscription = await subscribing;
        await conn.NotifyAsync("0x1", $"{{\"address\":\"{address.ToLowerHex()}\",\"topics\":[\"{topic}\"],\"data\":\"0x\",\"blockNumber\":\"0x9\",\"logIndex\":\"0x0\",\"removed\":false}}", Ct);
        var item = await subscription.Events.ReadAsync(Ct);
        Assert.Equal(address, item.Value!.Address);
        Assert.Equal(9UL, subscription.LastSeenBlock);
        await Assert.ThrowsAsync<ArgumentException>(() => _client.SubscribeLogsAsync(new LogFilter { FromBlock = BlockTag.Latest }, Ct));
    }

    [Fact]
    public async Task Dropped_connection_reconnects_resubscribes_and_signals_a_gap()
    {
        var subscribing = _client.SubscribeNewHeadsAsync(Ct);
        var conn1 = await _server.NextConnectionAsync(Ct);
        var sub1 = await conn1.ExpectRequestAsync("eth_subscribe", Ct);
        await conn1.ReplyAsync(sub1, "\"0xa1\"", Ct);
        await using var subscription = await subscribing;
        await conn1.NotifyAsync("0xa1", Head(10), Ct);
        Assert.Equal(10UL, (await subscription.Events.ReadAsync(Ct)).Value!.Number);

        // A request in flight when the connection drops fails with a connection error.
        var inFlight = new EthClient(_client).BlockNumberAsync(Ct);
        await conn1.ExpectRequestAsync("eth_blockNumber", Ct);
        _server.Refuse = true; // first reconnect attempts fail: the backoff path runs too
        conn1.Drop();
        await Assert.ThrowsAsync<RpcConnectionException>(() => inFlight);
        _server.Refuse = false;

        var conn2 = await _server.NextConnectionAsync(Ct);
        var sub2 = await conn2.ExpectRequestAsync("eth_subscribe", Ct);
        Assert.Equal("[\"newHeads\"]", sub2.GetProperty("params").GetRawText());
        await conn2.ReplyAsync(sub2, "\"0xb2\"", Ct);
        await conn2.NotifyAsync("0xa1", Head(99), Ct); // stale id from the old connection: ignored
        await conn2.NotifyAsync("0xb2", Head(13), Ct);

        var gap = await subscription.Events.ReadAsync(Ct);
        Assert.True(gap.IsGap);
        Assert.Equal(SubscriptionGapReason.Reconnected, gap.Gap!.Reason);
        Assert.Equal(10UL, gap.Gap.LastSeenBlock);
        var next = await subscription.Events.ReadAsync(Ct);
        Assert.Equal(13UL, next.Value!.Number);
        Assert.Equal("0xb2", subscription.ServerId);
        Assert.True(_client.ConnectionCount >= 2);

        // Requests work on the new connection.
        var call = new EthClient(_client).ChainIdAsync(Ct);
        var req = await conn2.ExpectRequestAsync("eth_chainId", Ct);
        await conn2.ReplyAsync(req, "\"0x1\"", Ct);
        Assert.Equal(1UL, await call);
    }

    [Fact]
    public async Task Malformed_notification_becomes_a_gap_and_malformed_answer_a_format_error()
    {
        var subscribing = _client.SubscribeNewHeadsAsync(Ct);
        var conn = await _server.NextConnectionAsync(Ct);
        var sub = await conn.ExpectRequestAsync("eth_subscribe", Ct);
        await conn.ReplyAsync(sub, "\"0x5\"", Ct);
        await using var subscription = await subscribing;
        await conn.NotifyAsync("0x5", Head(3), Ct);
        await conn.NotifyAsync("0x5", Head(4).Replace("\"0x4\"", "\"0x04\"", StringComparison.Ordinal), Ct);
        await conn.NotifyAsync("0x5", Head(5), Ct);
        Assert.Equal(3UL, (await subscription.Events.ReadAsync(Ct)).Value!.Number);
        var gap = await subscription.Events.ReadAsync(Ct);
        Assert.Equal(SubscriptionGapReason.MalformedNotification, gap.Gap!.Reason);
        Assert.Equal(3UL, gap.Gap.LastSeenBlock);
        Assert.Equal(5UL, (await subscription.Events.ReadAsync(Ct)).Value!.Number);

        var call = new EthClient(_client).BlockNumberAsync(Ct);
        var req = await conn.ExpectRequestAsync("eth_blockNumber", Ct);
        await conn.SendAsync("{\"jsonrpc\":\"2.0\",\"id\":" + req.GetProperty("id").GetRawText() + ",\"result\":\"0x01\"}", Ct);
        Assert.Equal(RpcFormatError.InvalidResult, (await Assert.ThrowsAsync<RpcResponseFormatException>(() => call)).Error);
    }

    [Fact]
    public async Task Slow_consumer_overflow_is_reported_as_a_gap()
    {
        await using var client = new WebSocketRpcClient(new WebSocketRpcClientOptions { Endpoint = _server.Uri, SubscriptionCapacity = 2 });
        var subscribing = client.SubscribeNewHeadsAsync(Ct);
        var conn = await _server.NextConnectionAsync(Ct);
        var sub = await conn.ExpectRequestAsync("eth_subscribe", Ct);
        await conn.ReplyAsync(sub, "\"0x5\"", Ct);
        await using var subscription = await subscribing;
        for (ulong n = 1; n <= 5; n++) await conn.NotifyAsync("0x5", Head(n), Ct);
        // A request answered after the notifications proves they were all processed.
        var call = new EthClient(client).BlockNumberAsync(Ct);
        var req = await conn.ExpectRequestAsync("eth_blockNumber", Ct);
        await conn.ReplyAsync(req, "\"0x5\"", Ct);
        await call;

        Assert.Equal(1UL, (await subscription.Events.ReadAsync(Ct)).Value!.Number);
        Assert.Equal(2UL, (await subscription.Events.ReadAsync(Ct)).Value!.Number);
        await conn.NotifyAsync("0x5", Head(6), Ct);
        var gap = await subscription.Events.ReadAsync(Ct);
        Assert.Equal(SubscriptionGapReason.BufferOverflow, gap.Gap!.Reason);
        Assert.Equal(2UL, gap.Gap.LastSeenBlock);
        Assert.Equal(6UL, (await subscription.Events.ReadAsync(Ct)).Value!.Number);
    }

    [Fact]
    public async Task Dispose_ends_streams_and_fails_waiting_calls()
    {
        var subscribing = _client.SubscribeNewHeadsAsync(Ct);
        var conn = await _server.NextConnectionAsync(Ct);
        var sub = await conn.ExpectRequestAsync("eth_subscribe", Ct);
        await conn.ReplyAsync(sub, "\"0x5\"", Ct);
        var subscription = await subscribing;
        var pending = new EthClient(_client).BlockNumberAsync(Ct);
        await conn.ExpectRequestAsync("eth_blockNumber", Ct);

        await _client.DisposeAsync();
        await Assert.ThrowsAsync<RpcConnectionException>(() => pending);
        var reading = subscription.ReadAllAsync(Ct).GetAsyncEnumerator(Ct);
        Assert.False(await reading.MoveNextAsync());
        Assert.Null(await conn.ReceiveAsync(Ct)); // the client sent a close frame
        await Assert.ThrowsAsync<ObjectDisposedException>(() => new EthClient(_client).BlockNumberAsync(Ct));
    }

    [Fact]
    public async Task Caller_cancellation_while_waiting_for_an_answer()
    {
        using var cts = new CancellationTokenSource();
        var call = new EthClient(_client).BlockNumberAsync(cts.Token);
        var conn = await _server.NextConnectionAsync(Ct);
        await conn.ExpectRequestAsync("eth_blockNumber", Ct);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        // the connection stays usable
        var next = new EthClient(_client).ChainIdAsync(Ct);
        var req = await conn.ExpectRequestAsync("eth_chainId", Ct);
        await conn.ReplyAsync(req, "\"0x1\"", Ct);
        Assert.Equal(1UL, await next);
    }
}
