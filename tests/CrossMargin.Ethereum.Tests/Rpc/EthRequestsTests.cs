using System.Buffers;
using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;

namespace CrossMargin.Ethereum.Tests.Rpc;

public class EthRequestsTests
{
    private const string BlockHash = "0x" + "11111111111111111111111111111111111111111111111111111111111111aa";
    private const string ParentHash = "0x" + "22222222222222222222222222222222222222222222222222222222222222bb";
    private const string TxHash = "0x" + "33333333333333333333333333333333333333333333333333333333333333cc";
    private const string Topic0 = "0x" + "44444444444444444444444444444444444444444444444444444444444444dd";

    private static T Parse<T>(RpcRequest<T> request, string resultJson)
    {
        using var doc = JsonDocument.Parse(resultJson);
        return request.ParseResult(doc.RootElement);
    }

    private static string Params(RpcParamsWriter write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            write(w);
            w.WriteEndArray();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    [Fact]
    public void Block_header_fields_and_transaction_hashes_are_parsed()
    {
        string json = $$"""
            {"number":"0x1b4","hash":"{{BlockHash}}","parentHash":"{{ParentHash}}","timestamp":"0x6553f100",
             "baseFeePerGas":"0x3b9aca00","gasLimit":"0x1c9c380","gasUsed":"0x5208",
             "miner":"0x0000000000000000000000000000000000000000","transactions":["{{TxHash}}"],"extraData":"0x"}
            """;
        var header = Parse(EthRequests.GetBlockByNumber(BlockTag.Latest), json)!;
        Assert.Equal(436UL, header.Number);
        Assert.Equal(Hash32.Parse(BlockHash), header.Hash);
        Assert.Equal(Hash32.Parse(ParentHash), header.ParentHash);
        Assert.Equal(0x6553f100UL, header.Timestamp);
        Assert.Equal((UInt256)1_000_000_000UL, header.BaseFeePerGas);
        Assert.Equal(30_000_000UL, header.GasLimit);
        Assert.Equal(21_000UL, header.GasUsed);
        Assert.Equal(Address.Zero, header.Miner);
        Assert.Equal([Hash32.Parse(TxHash)], header.TransactionHashes);
        Assert.Null(Parse(EthRequests.GetBlockByNumber(BlockTag.Number(1)), "null"));
    }

    [Fact]
    public void Full_transaction_objects_where_hashes_were_requested_are_rejected()
    {
        string json = $$"""
            {"number":"0x1","hash":"{{BlockHash}}","parentHash":"{{ParentHash}}","timestamp":"0x1","gasLimit":"0x1","gasUsed":"0x0",
             "miner":"0x0000000000000000000000000000000000000000","transactions":[{"hash":"{{TxHash}}"}]}
            """;
        var ex = Assert.Throws<RpcResponseFormatException>(() => Parse(EthRequests.GetBlockByNumber(BlockTag.Latest), json));
        Assert.Contains("transactions[0]", ex.Message);
    }

    [Fact]
    public void Receipt_with_logs_is_parsed_and_pending_is_null()
    {
        string json = $$"""
            {"transactionHash":"{{TxHash}}","transactionIndex":"0x0","blockHash":"{{BlockHash}}","blockNumber":"0x5",
             "from":"0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266","to":null,"status":"0x1","gasUsed":"0x1f4a3",
             "cumulativeGasUsed":"0x1f4a3","effectiveGasPrice":"0x3b9aca07","contractAddress":"0x5fbdb2315678afecb367f032d93f642f64180aa3",
             "type":"0x2","logsBloom":"0x00",
             "logs":[{"address":"0x5fbdb2315678afecb367f032d93f642f64180aa3","topics":["{{Topic0}}"],"data":"0x0102",
                      "blockNumber":"0x5","blockHash":"{{BlockHash}}","transactionHash":"{{TxHash}}","transactionIndex":"0x0","logIndex":"0x0","removed":false}]}
            """;
        var receipt = Parse(EthRequests.GetTransactionReceipt(Hash32.Parse(TxHash)), json)!;
        Assert.True(receipt.Succeeded);
        Assert.Null(receipt.To);
        Assert.Equal(Address.Parse("0x5FbDB2315678afecb367f032d93F642f64180aa3"), receipt.ContractAddress);
        Assert.Equal(0x1f4a3UL, receipt.GasUsed);
        Assert.Equal((UInt256)0x3b9aca07UL, receipt.EffectiveGasPrice);
        Assert.Equal((byte)2, receipt.Type);
        var log = Assert.Single(receipt.Logs);
        Assert.Equal(new byte[] { 1, 2 }, log.Data);
        Assert.Equal(Hash32.Parse(Topic0), Assert.Single(log.Topics));
        Assert.Equal(5UL, log.BlockNumber);
        Assert.Null(Parse(EthRequests.GetTransactionReceipt(Hash32.Parse(TxHash)), "null"));

        var badStatus = json.Replace("\"status\":\"0x1\"", "\"status\":\"0x2\"", StringComparison.Ordinal);
        Assert.Throws<RpcResponseFormatException>(() => Parse(EthRequests.GetTransactionReceipt(Hash32.Parse(TxHash)), badStatus));
    }

    [Fact]
    public void Fee_history_is_parsed_and_its_shape_checked()
    {
        const string json = """
            {"oldestBlock":"0x10","baseFeePerGas":["0x3b9aca00","0x3b9aca01","0x3b9aca02"],"gasUsedRatio":[0.5,0.25],
             "reward":[["0x1","0x2"],["0x3","0x4"]]}
            """;
        var history = Parse(EthRequests.FeeHistory(2, BlockTag.Latest, [10, 90]), json);
        Assert.Equal(16UL, history.OldestBlock);
        Assert.Equal(3, history.BaseFeePerGas.Count);
        Assert.Equal([0.5, 0.25], history.GasUsedRatio);
        Assert.Equal((UInt256)4UL, history.Reward![1][1]);
        string wrong = json.Replace(",\"0x3b9aca02\"", "", StringComparison.Ordinal);
        Assert.Throws<RpcResponseFormatException>(() => Parse(EthRequests.FeeHistory(2, BlockTag.Latest, [10, 90]), wrong));
        Assert.Equal("[\"0x2\",\"latest\",[10,90]]", Params(EthRequests.FeeHistory(2, BlockTag.Latest, [10, 90]).WriteParams!));
        Assert.Throws<ArgumentException>(() => EthRequests.FeeHistory(2, BlockTag.Latest, [90, 10]));
    }

    [Fact]
    public void Log_filter_writes_address_lists_topic_or_lists_and_nulls()
    {
        var a = Address.Parse("0x5fbdb2315678afecb367f032d93f642f64180aa3");
        var b = Address.Parse("0xe7f1725e7734ce288f8367e1bb143e90bb3f0512");
        var t0 = Hash32.Parse(Topic0);
        var t1 = Hash32.Parse(TxHash);
        var filter = new LogFilter
        {
            FromBlock = BlockTag.Number(1),
            ToBlock = BlockTag.Safe,
            Addresses = [a, b],
            Topics = [[t0], null, [t0, t1]],
        };
        Assert.Equal(
            $"[{{\"fromBlock\":\"0x1\",\"toBlock\":\"safe\",\"address\":[\"{a.ToLowerHex()}\",\"{b.ToLowerHex()}\"],\"topics\":[\"{Topic0}\",null,[\"{Topic0}\",\"{TxHash}\"]]}}]",
            Params(EthRequests.GetLogs(filter).WriteParams!));
        Assert.Equal(
            $"[{{\"blockHash\":\"{BlockHash}\",\"address\":\"{a.ToLowerHex()}\"}}]",
            Params(EthRequests.GetLogs(new LogFilter { BlockHash = Hash32.Parse(BlockHash), Addresses = [a] }).WriteParams!));
        Assert.Throws<ArgumentException>(() => EthRequests.GetLogs(new LogFilter { BlockHash = t0, FromBlock = BlockTag.Earliest }));
        Assert.Throws<ArgumentException>(() => EthRequests.GetLogs(new LogFilter { Topics = [null, null, null, null, null] }));
    }

    [Fact]
    public void Call_request_writes_only_the_fields_given()
    {
        var to = Address.Parse("0x5fbdb2315678afecb367f032d93f642f64180aa3");
        var call = new CallRequest { To = to, Data = new byte[] { 0xd0, 0x9d, 0xe0, 0x8a }, Gas = 100_000, Value = (UInt256)1UL };
        Assert.Equal(
            $"[{{\"to\":\"{to.ToLowerHex()}\",\"gas\":\"0x186a0\",\"value\":\"0x1\",\"input\":\"0xd09de08a\",\"data\":\"0xd09de08a\"}},\"earliest\"]",
            Params(EthRequests.Call(call, BlockTag.Earliest).WriteParams!));
        Assert.Equal("[{\"input\":\"0x\",\"data\":\"0x\"}]", Params(EthRequests.EstimateGas(new CallRequest()).WriteParams!));
    }

    [Fact]
    public void Block_tags_format_as_json_rpc_expects()
    {
        Assert.Equal("[\"latest\",\"pending\",\"safe\",\"finalized\",\"earliest\",\"0x0\",\"0xffffffffffffffff\"]", Params(w =>
        {
            foreach (var t in new[] { default, BlockTag.Pending, BlockTag.Safe, BlockTag.Finalized, BlockTag.Earliest, BlockTag.Number(0), BlockTag.Number(ulong.MaxValue) })
                t.WriteTo(w);
        }));
    }

    [Fact]
    public void UInt256_quantities_round_trip_against_BigInteger()
    {
        int seed = Environment.TickCount;
        var random = new Random(seed);
        var bytes = new byte[32];
        for (int i = 0; i < 2000; i++)
        {
            random.NextBytes(bytes);
            int keep = random.Next(0, 33);
            bytes.AsSpan(0, 32 - keep).Clear(); // vary the magnitude
            var expected = new BigInteger(bytes, isUnsigned: true, isBigEndian: true);
            string reference = expected.IsZero ? "0x0" : "0x" + expected.ToString("x", CultureInfo.InvariantCulture).TrimStart('0');
            var value = UInt256.ReadBigEndian(bytes);
            Assert.True(reference == RpcQuantity.Format(value), $"seed {seed}: format {reference}");
            Assert.True(value == RpcQuantity.ParseUInt256(reference), $"seed {seed}: parse {reference}");
            Assert.True(value == RpcQuantity.ParseUInt256(reference.ToUpperInvariant().Replace("0X", "0x", StringComparison.Ordinal)), $"seed {seed}: parse upper {reference}");
        }
    }
}
