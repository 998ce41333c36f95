using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;

namespace CrossMargin.Ethereum.Tests.Rpc;

public class JsonRpcClientTests
{
    private static readonly Uri Endpoint = new("http://node.test/rpc");

    private static JsonRpcClient Client(FakeHttpHandler handler, TimeSpan? timeout = null) => new(Endpoint, handler, timeout);

    [Fact]
    public async Task Single_call_writes_a_jsonrpc_2_request_and_parses_the_result()
    {
        var handler = FakeHttpHandler.Json(r => FakeJson.Result(r, "\"0x7a69\""));
        using var client = Client(handler);
        ulong chainId = await new EthClient(client).ChainIdAsync();
        Assert.Equal(31337UL, chainId);
        using var sent = JsonDocument.Parse(handler.RequestBodies.Single());
        Assert.Equal("2.0", sent.RootElement.GetProperty("jsonrpc").GetString());
        Assert.Equal("eth_chainId", sent.RootElement.GetProperty("method").GetString());
        Assert.Equal(JsonValueKind.Array, sent.RootElement.GetProperty("params").ValueKind);
        Assert.Equal(0, sent.RootElement.GetProperty("params").GetArrayLength());
        Assert.Equal(JsonValueKind.Number, sent.RootElement.GetProperty("id").ValueKind);
    }

    [Fact]
    public async Task Parameters_are_written_in_canonical_form()
    {
        var handler = FakeHttpHandler.Json(r => FakeJson.Result(r, "\"0x0\""));
        using var client = Client(handler);
        var account = Address.Parse("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
        await new EthClient(client).GetBalanceAsync(account, BlockTag.Number(0x1234));
        await new EthClient(client).GetTransactionCountAsync(account, BlockTag.Pending);
        Assert.Equal("[\"0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266\",\"0x1234\"]", ParamsOf(handler.RequestBodies[0]));
        Assert.Equal("[\"0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266\",\"pending\"]", ParamsOf(handler.RequestBodies[1]));
    }

    [Fact]
    public async Task Huge_quantities_parse_into_UInt256_and_reject_overflow_in_ulong()
    {
        string max = "0x" + new string('f', 64);
        var handler = FakeHttpHandler.Json(r => r.GetProperty("method").GetString() switch
        {
            "eth_getBalance" => FakeJson.Result(r, $"\"{max}\""),
            _ => FakeJson.Result(r, "\"0x10000000000000000\""), // 2^64 does not fit a block number
        });
        using var client = Client(handler);
        var eth = new EthClient(client);
        Assert.Equal(UInt256.MaxValue, await eth.GetBalanceAsync(Address.Zero));
        var ex = await Assert.ThrowsAsync<RpcResponseFormatException>(() => eth.BlockNumberAsync());
        Assert.Equal(RpcFormatError.InvalidResult, ex.Error);
        Assert.Equal("eth_blockNumber", ex.Method);
    }

    [Theory]
    [InlineData("\"0x01\"")]     // leading zero
    [InlineData("\"0x\"")]       // no digits
    [InlineData("\"1\"")]        // no prefix
    [InlineData("\"0X1\"")]      // upper-case prefix
    [InlineData("\"0xg\"")]      // not hex
    [InlineData("1")]            // JSON number instead of a quantity
    [InlineData("null")]
    public async Task Non_canonical_quantities_are_typed_format_errors(string resultJson)
    {
        var handler = FakeHttpHandler.Json(r => FakeJson.Result(r, resultJson));
        using var client = Client(handler);
        var ex = await Assert.ThrowsAsync<RpcResponseFormatException>(() => new EthClient(client).BlockNumberAsync());
        Assert.Equal(RpcFormatError.InvalidResult, ex.Error);
    }

    [Fact]
    public async Task UInt256_quantity_rejects_more_than_64_digits_and_leading_zeros()
    {
        string tooBig = "\"0x1" + new string('0', 64) + "\"";
        foreach (string bad in new[] { tooBig, "\"0x00\"", "\"0x0001\"" })
        {
            var handler = FakeHttpHandler.Json(r => FakeJson.Result(r, bad));
            using var client = Client(handler);
            var ex = await Assert.ThrowsAsync<RpcResponseFormatException>(() => new EthClient(client).GetBalanceAsync(Address.Zero));
            Assert.Equal(RpcFormatError.InvalidResult, ex.Error);
        }
    }

    [Theory]
    [InlineData("\"0x1234\"")]                                   // 2 bytes, not 32
    [InlineData("\"0x" + "00000000000000000000000000000000000000000000000000000000000000" + "\"")] // 31 bytes
    public async Task Hashes_of_the_wrong_length_are_rejected(string resultJson)
    {
        var handler = FakeHttpHandler.Json(r => FakeJson.Result(r, resultJson));
        using var client = Client(handler);
        var ex = await Assert.ThrowsAsync<RpcResponseFormatException>(() => new EthClient(client).SendRawTransactionAsync(new byte[] { 1, 2 }));
        Assert.Equal(RpcFormatError.InvalidResult, ex.Error);
    }

    [Fact]
    public async Task Anvil_revert_error_carries_code_message_and_revert_bytes()
    {
        // TooLarge(uint256 value, uint256 max): selector + two words, as anvil reports a custom error
        string data = "0x" + "a8f6d1b4" + new string('0', 62) + "65" + new string('0', 62) + "64";
        var handler = FakeHttpHandler.Json(r => FakeJson.Error(r, $"{{\"code\":3,\"message\":\"execution reverted: custom error a8f6d1b4\",\"data\":\"{data}\"}}"));
        using var client = Client(handler);
        var ex = await Assert.ThrowsAsync<RpcException>(() => new EthClient(client).CallAsync(new CallRequest { To = Address.Zero, Data = new byte[] { 0xa8 } }));
        Assert.Equal(3, ex.Code);
        Assert.True(ex.IsExecutionReverted);
        Assert.StartsWith("execution reverted", ex.RpcMessage);
        Assert.Equal(Hex.Decode(data), ex.RevertData);
        Assert.Equal("eth_call", ex.Method);
    }

    [Theory]
    [InlineData("{\"message\":\"revert\",\"data\":\"0x08c379a0\"}")]
    [InlineData("{\"originalError\":{\"code\":3,\"data\":\"0x08c379a0\",\"message\":\"execution reverted\"}}")]
    [InlineData("{\"data\":{\"data\":\"0x08c379a0\"}}")]
    public async Task Nested_revert_data_is_found(string dataJson)
    {
        var handler = FakeHttpHandler.Json(r => FakeJson.Error(r, $"{{\"code\":-32603,\"message\":\"Error: VM Exception\",\"data\":{dataJson}}}"));
        using var client = Client(handler);
        var ex = await Assert.ThrowsAsync<RpcException>(() => new EthClient(client).CallAsync(new CallRequest { To = Address.Zero }));
        Assert.Equal(-32603, ex.Code);
        Assert.Equal(new byte[] { 0x08, 0xc3, 0x79, 0xa0 }, ex.RevertData);
        Assert.Equal(dataJson, ex.RawData);
    }

    [Theory]
    [InlineData("\"Reverted 0x08c379a0\"")]
    [InlineData("\"0x123\"")]
    [InlineData("{\"reason\":\"nope\"}")]
    public async Task Error_data_without_strict_hex_has_no_revert_bytes(string dataJson)
    {
        var handler = FakeHttpHandler.Json(r => FakeJson.Error(r, $"{{\"code\":-32000,\"message\":\"failed\",\"data\":{dataJson}}}"));
        using var client = Client(handler);
        var ex = await Assert.ThrowsAsync<RpcException>(() => new EthClient(client).BlockNumberAsync());
        Assert.Null(ex.RevertData);
        Assert.Equal(dataJson, ex.RawData);
        Assert.False(ex.IsExecutionReverted);
    }

    [Fact]
    public async Task Http_429_is_a_rate_limit_error_with_retry_after()
    {
        var handler = new FakeHttpHandler((_, _) =>
        {
            var response = new HttpResponseMessage(HttpStatusCode.TooManyRequests) { Content = new StringContent("slow down") };
            response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(7));
            return Task.FromResult(response);
        });
        using var client = Client(handler);
        var ex = await Assert.ThrowsAsync<RpcRateLimitedException>(() => new EthClient(client).BlockNumberAsync());
        Assert.Equal(HttpStatusCode.TooManyRequests, ex.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(7), ex.RetryAfter);
    }

    [Fact]
    public async Task Http_error_status_without_rpc_body_is_a_status_error_and_with_rpc_body_an_rpc_error()
    {
        var plain = new FakeHttpHandler((_, _) => Task.FromResult(new HttpResponseMessage(HttpStatusCode.BadGateway) { Content = new StringContent("<html>bad gateway</html>") }));
        using (var client = Client(plain))
        {
            var ex = await Assert.ThrowsAsync<RpcHttpStatusException>(() => new EthClient(client).BlockNumberAsync());
            Assert.Equal(HttpStatusCode.BadGateway, ex.StatusCode);
        }
        var rpcBody = new FakeHttpHandler((r, _) => Task.FromResult(new HttpResponseMessage(HttpStatusCode.BadRequest)
        {
            Content = new StringContent(FakeJson.Error(r, "{\"code\":-32602,\"message\":\"invalid params\"}")),
        }));
        using (var client = Client(rpcBody))
        {
            var ex = await Assert.ThrowsAsync<RpcException>(() => new EthClient(client).BlockNumberAsync());
            Assert.Equal(-32602, ex.Code);
        }
    }

    [Fact]
    public async Task Endpoint_timeout_is_a_timeout_error_but_caller_cancellation_is_cancellation()
    {
        var hang = new FakeHttpHandler(async (_, ct) =>
        {
            await Task.Delay(Timeout.Infinite, ct);
            throw new InvalidOperationException("unreachable");
        });
        using (var client = Client(hang, TimeSpan.FromMilliseconds(50)))
        {
            var ex = await Assert.ThrowsAsync<RpcTimeoutException>(() => new EthClient(client).BlockNumberAsync());
            Assert.Equal(TimeSpan.FromMilliseconds(50), ex.Timeout);
        }
        using (var client = Client(hang, TimeSpan.FromMinutes(5)))
        {
            using var cts = new CancellationTokenSource();
            var call = new EthClient(client).BlockNumberAsync(cts.Token);
            await cts.CancelAsync();
            var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
            Assert.Equal(cts.Token, ex.CancellationToken);
        }
    }

    [Fact]
    public async Task Connection_refused_is_a_connection_error()
    {
        // A port that was just free: nothing listens there.
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var client = new JsonRpcClient(new Uri($"http://127.0.0.1:{port}/"));
        var ex = await Assert.ThrowsAsync<RpcConnectionException>(() => new EthClient(client).BlockNumberAsync());
        Assert.IsType<HttpRequestException>(ex.InnerException);
    }

    [Theory]
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x1\"")]                 // truncated
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x1\",}")]               // trailing comma
    [InlineData("")]
    [InlineData("<html>")]
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x1\",\"result\":\"0x2\"}")] // duplicate key
    public async Task Invalid_json_is_a_typed_format_error(string body)
    {
        var handler = new FakeHttpHandler((_, _) => Task.FromResult(FakeHttpHandler.Ok(body)));
        using var client = Client(handler);
        var ex = await Assert.ThrowsAsync<RpcResponseFormatException>(() => new EthClient(client).BlockNumberAsync());
        Assert.Equal(RpcFormatError.InvalidJson, ex.Error);
    }

    [Theory]
    [InlineData("{\"jsonrpc\":\"1.0\",\"id\":ID,\"result\":\"0x1\"}")]
    [InlineData("{\"id\":ID,\"result\":\"0x1\"}")]
    [InlineData("{\"jsonrpc\":\"2.0\",\"result\":\"0x1\"}")]
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":\"ID\",\"result\":\"0x1\"}")]
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":ID}")]
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":ID,\"result\":\"0x1\",\"error\":{\"code\":1,\"message\":\"x\"}}")]
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":ID,\"error\":{\"code\":\"1\",\"message\":\"x\"}}")]
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":ID,\"error\":\"boom\"}")]
    [InlineData("[{\"jsonrpc\":\"2.0\",\"id\":ID,\"result\":\"0x1\"}]")]
    public async Task Wrong_envelopes_are_typed_format_errors(string template)
    {
        var handler = FakeHttpHandler.Json(r => template.Replace("ID", r.GetProperty("id").GetRawText()));
        using var client = Client(handler);
        var ex = await Assert.ThrowsAsync<RpcResponseFormatException>(() => new EthClient(client).BlockNumberAsync());
        Assert.Equal(RpcFormatError.InvalidEnvelope, ex.Error);
    }

    [Fact]
    public async Task A_response_with_another_id_is_rejected()
    {
        var handler = FakeHttpHandler.Json(r => $"{{\"jsonrpc\":\"2.0\",\"id\":{r.GetProperty("id").GetInt64() + 1},\"result\":\"0x1\"}}");
        using var client = Client(handler);
        var ex = await Assert.ThrowsAsync<RpcResponseFormatException>(() => new EthClient(client).BlockNumberAsync());
        Assert.Equal(RpcFormatError.UnexpectedId, ex.Error);
    }

    [Fact]
    public async Task Response_size_limit_is_enforced()
    {
        string big = "\"0x" + new string('a', 4000) + "\"";
        var handler = FakeHttpHandler.Json(r => FakeJson.Result(r, big));
        using var http = new HttpClient(handler);
        var client = new JsonRpcClient(http, new JsonRpcClientOptions { Endpoint = Endpoint, MaxResponseBytes = 1000 });
        var ex = await Assert.ThrowsAsync<RpcResponseFormatException>(() => new EthClient(client).GetCodeAsync(Address.Zero));
        Assert.Equal(RpcFormatError.ResponseTooLarge, ex.Error);
    }

    /// <summary>A body of unknown length (no Content-Length) handed out in uneven pieces.</summary>
    private sealed class TrickleStream(byte[] data, int seed) : Stream
    {
        private readonly Random _rng = new(seed);
        private int _at;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _at; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = Math.Min(Math.Min(count, data.Length - _at), 1 + _rng.Next(70_000));
            data.AsSpan(_at, n).CopyTo(buffer.AsSpan(offset));
            _at += n;
            return n;
        }
    }

    private static FakeHttpHandler Trickling(Func<JsonElement, string> body, int seed) => new((request, _) =>
    {
        var content = new StreamContent(new TrickleStream(Encoding.UTF8.GetBytes(body(request)), seed));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = content });
    });

    [Theory]
    [InlineData(10, 1)]
    [InlineData(5_000, 2)]
    [InlineData(3_000_000, 3)]
    public async Task An_answer_of_unknown_length_is_read_whole_in_pieces(int hexChars, int seed)
    {
        string code = "0x" + string.Concat(Enumerable.Range(0, hexChars / 2).Select(i => ((byte)(i * 7)).ToString("x2")));
        var handler = Trickling(r => FakeJson.Result(r, "\"" + code + "\""), seed);
        using var http = new HttpClient(handler);
        var client = new JsonRpcClient(http, new JsonRpcClientOptions { Endpoint = Endpoint });
        byte[] got = await new EthClient(client).GetCodeAsync(Address.Zero);
        Assert.Equal(Hex.Decode(code), got);
    }

    [Fact]
    public async Task An_answer_of_unknown_length_over_the_limit_is_refused_while_reading()
    {
        string big = "\"0x" + new string('a', 400_000) + "\"";
        var handler = Trickling(r => FakeJson.Result(r, big), 4);
        using var http = new HttpClient(handler);
        var client = new JsonRpcClient(http, new JsonRpcClientOptions { Endpoint = Endpoint, MaxResponseBytes = 300_000 });
        var ex = await Assert.ThrowsAsync<RpcResponseFormatException>(() => new EthClient(client).GetCodeAsync(Address.Zero));
        Assert.Equal(RpcFormatError.ResponseTooLarge, ex.Error);
    }

    [Fact]
    public async Task Generic_request_escape_hatch_sends_custom_params()
    {
        var handler = FakeHttpHandler.Json(r => FakeJson.Result(r, "null"));
        using var client = Client(handler);
        await client.MineAsync(5, intervalSeconds: 12);
        await client.SetBalanceAsync(Address.Zero, UInt256.MaxValue);
        Assert.Contains("\"method\":\"anvil_mine\"", handler.RequestBodies[0]);
        Assert.Equal("[\"0x5\",\"0xc\"]", ParamsOf(handler.RequestBodies[0]));
        Assert.Equal("[\"0x0000000000000000000000000000000000000000\",\"0x" + new string('f', 64) + "\"]", ParamsOf(handler.RequestBodies[1]));
    }

    // ---- batches ------------------------------------------------------------------------------------

    [Fact]
    public async Task Batch_answers_out_of_order_are_matched_by_id()
    {
        var handler = FakeHttpHandler.Json(r =>
        {
            var parts = r.EnumerateArray().Select(req => req.GetProperty("method").GetString() switch
            {
                "eth_chainId" => FakeJson.Result(req, "\"0x1\""),
                "eth_blockNumber" => FakeJson.Result(req, "\"0x10\""),
                "eth_getBalance" => FakeJson.Result(req, "\"0xde0b6b3a7640000\""),
                _ => FakeJson.Error(req, "{\"code\":-32601,\"message\":\"method not found\"}"),
            }).Reverse();
            return "[" + string.Join(",", parts) + "]";
        });
        using var client = Client(handler);
        var batch = client.CreateBatch();
        var chainId = batch.Add(EthRequests.ChainId());
        var block = batch.Add(EthRequests.BlockNumber());
        var balance = batch.Add(EthRequests.GetBalance(Address.Zero, BlockTag.Latest));
        var missingMethod = batch.Add<string>("foo_bar", null, r => r.ReadString());
        await batch.SendAsync();

        Assert.Single(handler.RequestBodies);
        Assert.Equal(1UL, await chainId);
        Assert.Equal(16UL, await block);
        Assert.Equal((UInt256)1_000_000_000_000_000_000UL, await balance);
        var ex = await Assert.ThrowsAsync<RpcException>(() => missingMethod);
        Assert.Equal(-32601, ex.Code);
        Assert.Equal("foo_bar", ex.Method);
    }

    [Fact]
    public async Task Batch_missing_duplicate_and_malformed_responses_fail_only_their_calls()
    {
        var handler = FakeHttpHandler.Json(r =>
        {
            var reqs = r.EnumerateArray().ToArray();
            return "[" + string.Join(",",
                FakeJson.Result(reqs[0], "\"0x1\""),
                FakeJson.Result(reqs[1], "\"0x2\""),
                FakeJson.Result(reqs[1], "\"0x2\""),          // duplicate
                FakeJson.Result(reqs[3], "\"0x01\""),         // non-canonical
                "{\"jsonrpc\":\"2.0\",\"id\":999999,\"result\":\"0x5\"}") + "]"; // reqs[2] missing, unknown id instead
        });
        using var client = Client(handler);
        var batch = client.CreateBatch();
        var ok = batch.Add(EthRequests.BlockNumber());
        var duplicated = batch.Add(EthRequests.BlockNumber());
        var missing = batch.Add(EthRequests.BlockNumber());
        var malformed = batch.Add(EthRequests.BlockNumber());
        await batch.SendAsync();

        Assert.Equal(1UL, await ok);
        Assert.Equal(RpcFormatError.DuplicateResponse, (await Assert.ThrowsAsync<RpcResponseFormatException>(() => duplicated)).Error);
        Assert.Equal(RpcFormatError.MissingResponse, (await Assert.ThrowsAsync<RpcResponseFormatException>(() => missing)).Error);
        Assert.Equal(RpcFormatError.InvalidResult, (await Assert.ThrowsAsync<RpcResponseFormatException>(() => malformed)).Error);
    }

    [Fact]
    public async Task Batch_rejected_as_a_whole_fails_every_call_and_SendAsync()
    {
        var handler = FakeHttpHandler.Json(_ => "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,\"message\":\"batch too large\"}}");
        using var client = Client(handler);
        var batch = client.CreateBatch();
        var a = batch.Add(EthRequests.ChainId());
        var b = batch.Add(EthRequests.BlockNumber());
        var sendError = await Assert.ThrowsAsync<RpcException>(() => batch.SendAsync());
        Assert.Equal(-32600, sendError.Code);
        Assert.Same(sendError, await Assert.ThrowsAsync<RpcException>(() => a));
        Assert.Same(sendError, await Assert.ThrowsAsync<RpcException>(() => b));
        await Assert.ThrowsAsync<InvalidOperationException>(() => batch.SendAsync());
    }

    [Fact]
    public async Task Batch_transport_failure_fails_every_call()
    {
        var handler = new FakeHttpHandler((_, _) => Task.FromResult(new HttpResponseMessage(HttpStatusCode.TooManyRequests)));
        using var client = Client(handler);
        var batch = client.CreateBatch();
        var a = batch.Add(EthRequests.ChainId());
        await Assert.ThrowsAsync<RpcRateLimitedException>(() => batch.SendAsync());
        await Assert.ThrowsAsync<RpcRateLimitedException>(() => a);
    }

    [Fact]
    public async Task Empty_batch_sends_nothing()
    {
        var handler = FakeHttpHandler.Json(_ => throw new InvalidOperationException("no request expected"));
        using var client = Client(handler);
        await client.CreateBatch().SendAsync();
        Assert.Empty(handler.RequestBodies);
    }

    private static string ParamsOf(string requestBody)
    {
        using var doc = JsonDocument.Parse(requestBody);
        return doc.RootElement.GetProperty("params").GetRawText();
    }
}
