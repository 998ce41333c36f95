using System.Buffers;
using System.Text.Json;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Crypto;
using CrossMargin.Ethereum.Rpc;
using IndexedChain = CrossMargin.Keeper.Tests.Indexing.FakeChain;

namespace CrossMargin.Keeper.Tests.Hosting;

/// <summary>
/// A JSON-RPC node over the indexing <see cref="IndexedChain"/>: requests are written and answers parsed as JSON, so the
/// real request builders and parsers run; a batch is answered in one go. Headers and logs come from the chain; eth_call
/// answers "0x" (tests queue their own parsers), eth_simulateV1 passes every call, sends are accepted, no receipts.
/// </summary>
internal sealed class FakeNode(IndexedChain chain) : IBatchingRpcClient
{
    public IndexedChain Chain { get; } = chain;

    /// <summary>The next batch fails as a whole (transport error) this many times.</summary>
    public int FailBatches { get; set; }

    /// <summary>Per batch sent: how many eth_getLogs calls it carried.</summary>
    public List<int> LogCallsPerBatch { get; } = [];

    public Task<T> RequestAsync<T>(RpcRequest<T> request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        try
        {
            return Task.FromResult(Answer(request));
        }
        catch (RpcClientException e)
        {
            return Task.FromException<T>(e);
        }
    }

    public IRpcBatch StartBatch() => new Batch(this);

    private T Answer<T>(RpcRequest<T> request)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            request.WriteParams?.Invoke(w);
            w.WriteEndArray();
        }
        using var parameters = JsonDocument.Parse(buffer.WrittenMemory);
        var answer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(answer)) Write(w, request.Method, parameters.RootElement);
        using var result = JsonDocument.Parse(answer.WrittenMemory);
        try
        {
            return request.ParseResult(result.RootElement);
        }
        catch (Exception e) when (e is not RpcClientException)
        {
            throw new RpcResponseFormatException(RpcFormatError.InvalidResult, e.Message, e);
        }
    }

    private void Write(Utf8JsonWriter w, string method, JsonElement p)
    {
        switch (method)
        {
            case "eth_chainId":
                w.WriteQuantity(31337UL);
                break;
            case "eth_blockNumber":
                w.WriteQuantity(Chain.Head);
                break;
            case "eth_getBlockByNumber":
                string tag = p[0].GetString()!;
                ulong n = tag == "latest" ? Chain.Head : Hex.ParseQuantity(tag);
                if (n > Chain.Head) w.WriteNullValue();
                else WriteHeader(w, Chain.HeaderAt(n));
                break;
            case "eth_getLogs":
                JsonElement f = p[0];
                var filter = new LogFilter
                {
                    BlockHash = f.Optional("blockHash")?.ReadHash(),
                    FromBlock = f.Optional("fromBlock") is { } from ? BlockTag.Number(Hex.ParseQuantity(from.GetString()!)) : null,
                    ToBlock = f.Optional("toBlock") is { } to ? BlockTag.Number(Hex.ParseQuantity(to.GetString()!)) : null,
                    Addresses = [f.Required("address") is { ValueKind: JsonValueKind.Array } list ? list[0].ReadAddress() : f.Required("address").ReadAddress()],
                    Topics = f.Optional("topics") is { } topics ? [[.. topics[0].EnumerateArray().Select(t => t.ReadHash())]] : null,
                };
                LogEntry[] logs = Chain.GetLogsAsync(filter).GetAwaiter().GetResult();
                w.WriteStartArray();
                foreach (LogEntry log in logs) WriteLog(w, log);
                w.WriteEndArray();
                break;
            case "eth_call":
                w.WriteStringValue("0x");
                break;
            case "eth_getTransactionCount":
                w.WriteQuantity(0UL);
                break;
            case "eth_getTransactionReceipt":
                w.WriteNullValue();
                break;
            case "eth_feeHistory":
                ulong count = Hex.ParseQuantity(p[0].GetString()!);
                w.WriteStartObject();
                w.WritePropertyName("oldestBlock");
                w.WriteQuantity(Chain.Head + 1 - count);
                w.WriteStartArray("baseFeePerGas");
                for (ulong i = 0; i <= count; i++) w.WriteQuantity(1_000_000_000UL);
                w.WriteEndArray();
                w.WriteStartArray("gasUsedRatio");
                for (ulong i = 0; i < count; i++) w.WriteNumberValue(0.5);
                w.WriteEndArray();
                w.WriteStartArray("reward");
                for (ulong i = 0; i < count; i++)
                {
                    w.WriteStartArray();
                    w.WriteQuantity(100_000_000UL);
                    w.WriteEndArray();
                }
                w.WriteEndArray();
                w.WriteEndObject();
                break;
            case "eth_simulateV1":
                int calls = p[0].Required("blockStateCalls")[0].Required("calls").GetArrayLength();
                w.WriteStartArray();
                w.WriteStartObject();
                w.WriteStartArray("calls");
                for (int i = 0; i < calls; i++)
                {
                    w.WriteStartObject();
                    w.WriteString("status", "0x1");
                    w.WriteString("gasUsed", "0x30d40");
                    w.WriteString("returnData", "0x");
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
                w.WriteEndArray();
                break;
            case "eth_sendRawTransaction":
                w.WriteHash(Keccak256.Compute(p[0].ReadData()));
                break;
            default:
                throw new RpcException(-32601, $"the method {method} does not exist", null, null);
        }
    }

    private static void WriteHeader(Utf8JsonWriter w, BlockHeader h)
    {
        w.WriteStartObject();
        w.WritePropertyName("number"); w.WriteQuantity(h.Number);
        w.WritePropertyName("hash"); w.WriteHash(h.Hash);
        w.WritePropertyName("parentHash"); w.WriteHash(h.ParentHash);
        w.WritePropertyName("timestamp"); w.WriteQuantity(h.Timestamp);
        w.WritePropertyName("gasLimit"); w.WriteQuantity(h.GasLimit);
        w.WritePropertyName("gasUsed"); w.WriteQuantity(h.GasUsed);
        w.WritePropertyName("miner"); w.WriteAddress(h.Miner);
        w.WriteStartArray("transactions");
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteLog(Utf8JsonWriter w, LogEntry log)
    {
        w.WriteStartObject();
        w.WritePropertyName("address"); w.WriteAddress(log.Address);
        w.WriteStartArray("topics");
        foreach (Hash32 t in log.Topics) w.WriteHash(t);
        w.WriteEndArray();
        w.WritePropertyName("data"); w.WriteData(log.Data);
        w.WritePropertyName("blockNumber"); w.WriteQuantity(log.BlockNumber!.Value);
        w.WritePropertyName("blockHash"); w.WriteHash(log.BlockHash!.Value);
        w.WritePropertyName("transactionHash"); w.WriteHash(log.TransactionHash!.Value);
        w.WritePropertyName("transactionIndex"); w.WriteQuantity(log.TransactionIndex!.Value);
        w.WritePropertyName("logIndex"); w.WriteQuantity(log.LogIndex!.Value);
        w.WriteBoolean("removed", log.Removed);
        w.WriteEndObject();
    }

    private sealed class Batch(FakeNode node) : IRpcBatch
    {
        private readonly List<(Action Answer, Action<Exception> Fail)> _calls = [];
        private int _logCalls;

        public int Count => _calls.Count;

        public Task<T> Add<T>(RpcRequest<T> request)
        {
            var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (request.Method == "eth_getLogs") _logCalls++;
            _calls.Add((() =>
            {
                try
                {
                    done.TrySetResult(node.Answer(request));
                }
                catch (RpcClientException e)
                {
                    done.TrySetException(e);
                }
            }, e => done.TrySetException(e)));
            return done.Task;
        }

        public Task SendAsync(CancellationToken cancellationToken = default)
        {
            node.LogCallsPerBatch.Add(_logCalls);
            if (node.FailBatches > 0)
            {
                node.FailBatches--;
                var error = new RpcTransportException("connection reset");
                foreach (var c in _calls) c.Fail(error);
                return Task.FromException(error);
            }
            foreach (var c in _calls) c.Answer();
            return Task.CompletedTask;
        }
    }
}
