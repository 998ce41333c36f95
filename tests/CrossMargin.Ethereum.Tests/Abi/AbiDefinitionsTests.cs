using CrossMargin.Ethereum.Abi;
using CrossMargin.Ethereum.Crypto;
using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Ethereum.Tests.Abi;

public class AbiDefinitionsTests
{
    private const string Json = """
    [
      {"type":"constructor","inputs":[{"name":"owner","type":"address","internalType":"address"}],"stateMutability":"nonpayable"},
      {"type":"function","name":"liquidate","stateMutability":"nonpayable",
       "inputs":[{"name":"account","type":"address"},{"name":"size","type":"uint256"},{"name":"pnl","type":"int256"},
                 {"name":"market","type":"bytes32"},{"name":"full","type":"bool"}],
       "outputs":[{"name":"fee","type":"uint256"}]},
      {"type":"function","name":"positions","stateMutability":"view",
       "inputs":[{"name":"accounts","type":"address[]"}],
       "outputs":[{"name":"","type":"tuple[]","internalType":"struct P[]","components":[
         {"name":"account","type":"address"},{"name":"size","type":"uint256"},{"name":"margin","type":"uint256"}]}]},
      {"type":"event","name":"Transfer","anonymous":false,"inputs":[
        {"name":"from","type":"address","indexed":true},{"name":"to","type":"address","indexed":true},{"name":"value","type":"uint256","indexed":false}]},
      {"type":"event","name":"Noted","anonymous":false,"inputs":[
        {"name":"memo","type":"string","indexed":true},{"name":"level","type":"int8","indexed":true},{"name":"data","type":"bytes","indexed":false},{"name":"ok","type":"bool","indexed":false}]},
      {"type":"event","name":"Anon","anonymous":true,"inputs":[{"name":"who","type":"address","indexed":true},{"name":"n","type":"uint64","indexed":false}]},
      {"type":"error","name":"InsufficientMargin","inputs":[{"name":"account","type":"address"},{"name":"needed","type":"uint256"},{"name":"reason","type":"string"}]},
      {"type":"fallback","stateMutability":"payable"},
      {"type":"receive","stateMutability":"payable"}
    ]
    """;

    private static readonly Address Alice = Address.Parse("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
    private static readonly Address Bob = Address.Parse("0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359");

    private static Hash32 Topic(Address a)
    {
        var w = new byte[32];
        a.CopyTo(w.AsSpan(12));
        return new Hash32(w);
    }

    [Fact]
    public void Parses_a_json_abi()
    {
        var abi = ContractAbi.Parse(Json);
        Assert.Equal(2, abi.Functions.Count);
        Assert.Equal(3, abi.Events.Count);
        Assert.Single(abi.Errors);
        Assert.Equal("owner", Assert.Single(abi.ConstructorInputs!).Name);
        var liq = abi.GetFunction("liquidate");
        Assert.Equal("liquidate(address,uint256,int256,bytes32,bool)", liq.Signature);
        Assert.Equal(AbiParameter.Selector(liq.Signature), liq.Selector);
        Assert.True(abi.TryGetFunction(liq.Selector, out var same) && same == liq);
        var pos = abi.GetFunction("positions");
        Assert.Equal("view", pos.StateMutability);
        Assert.Equal("(address,uint256,uint256)[]", pos.OutputTypes[0].CanonicalName);
        Assert.Equal(["account", "size", "margin"], pos.OutputTypes[0].Element!.ComponentNames!);
        Assert.Equal("InsufficientMargin(address,uint256,string)", abi.Errors[0].Signature);
        // artifact wrapper
        Assert.Equal(2, ContractAbi.Parse("{\"abi\":" + Json + ",\"bytecode\":\"0x\"}").Functions.Count);
    }

    [Theory]
    [InlineData("{")]
    [InlineData("{}")]
    [InlineData("[1]")]
    [InlineData("""[{"type":"function","inputs":[]}]""")]
    [InlineData("""[{"type":"function","name":"f","inputs":[{"type":"uint"}]}]""")]
    [InlineData("""[{"type":"function","name":"f","inputs":{}}]""")]
    [InlineData("""[{"type":"weird","name":"f"}]""")]
    [InlineData("""[{"type":"event","name":"E","inputs":[{"type":"uint8","indexed":true},{"type":"uint8","indexed":true},{"type":"uint8","indexed":true},{"type":"uint8","indexed":true}]}]""")]
    public void Rejects_bad_json_abis(string json) => Assert.Throws<AbiFormatException>(() => ContractAbi.Parse(json));

    [Fact]
    public void Encodes_call_and_decodes_output()
    {
        var abi = ContractAbi.Parse(Json);
        var liq = abi.GetFunction("liquidate");
        var market = Keccak256.ComputeUtf8("ETH-PERP");
        byte[] call = liq.EncodeCall(Alice, new UInt256(10UL), new Int256(-5L), market, true);
        Assert.Equal(4 + 5 * 32, call.Length);
        var args = liq.DecodeCall(call);
        Assert.Equal(Alice, args[0]);
        Assert.Equal(new Int256(-5L), args[2]);
        Assert.Equal(market.ToArray(), args[3]);
        call[0] ^= 1;
        Assert.Equal(AbiDecodingError.Mismatch, Assert.Throws<AbiDecodingException>(() => liq.DecodeCall(call)).Reason);

        var pos = abi.GetFunction("positions");
        var rows = new object?[] { new object?[] { Alice, UInt256.One, UInt256.Zero }, new object?[] { Bob, UInt256.MaxValue, new UInt256(7UL) } };
        var ret = pos.DecodeOutput(pos.EncodeOutput([rows]));
        Assert.Equal(AbiTestValues.Canonical(pos.OutputTypes, [rows]), AbiTestValues.Canonical(pos.OutputTypes, ret));
    }

    [Fact]
    public void Decodes_logs_with_indexed_values_and_hashed_dynamic_topics()
    {
        var abi = ContractAbi.Parse(Json);
        var transfer = abi.GetEvent("Transfer");
        Assert.Equal("0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef", transfer.Topic0.ToString());
        byte[] data = AbiEncoder.Encode(AbiType.UInt256, new UInt256(1000UL));
        var log = abi.TryDecodeLog([transfer.Topic0, Topic(Alice), Topic(Bob)], data)!;
        Assert.Same(transfer, log.Event);
        Assert.Equal(Alice, log["from"]);
        Assert.Equal(Bob, log["to"]);
        Assert.Equal(new UInt256(1000UL), log["value"]);

        var noted = abi.GetEvent("Noted");
        Assert.Equal("Noted(string,int8,bytes,bool)", noted.Signature);
        var memoHash = Keccak256.ComputeUtf8("hello");
        var minusTwo = new Hash32(AbiEncoder.Encode(AbiType.Parse("int8"), -2));
        var nlog = noted.DecodeLog([noted.Topic0, memoHash, minusTwo], AbiEncoder.Encode([AbiType.Bytes, AbiType.Bool], [new byte[] { 1 }, false]));
        Assert.Equal(memoHash, nlog["memo"]);
        Assert.Equal(new Int256(-2L), nlog["level"]);
        Assert.Equal(new byte[] { 1 }, nlog["data"]);
        Assert.Equal(false, nlog["ok"]);

        // strictness on topics: wrong count, wrong topic0, dirty indexed address, bad sign extension
        Assert.Throws<AbiDecodingException>(() => transfer.DecodeLog([transfer.Topic0, Topic(Alice)], data));
        Assert.Throws<AbiDecodingException>(() => transfer.DecodeLog([noted.Topic0, Topic(Alice), Topic(Bob)], data));
        var dirty = Topic(Alice).ToArray();
        dirty[0] = 1;
        Assert.Equal(AbiDecodingError.DirtyHighBits, Assert.Throws<AbiDecodingException>(() => transfer.DecodeLog([transfer.Topic0, new Hash32(dirty), Topic(Bob)], data)).Reason);
        var badInt8 = new byte[32];
        badInt8[31] = 0x80;
        Assert.Equal(AbiDecodingError.BadSignExtension, Assert.Throws<AbiDecodingException>(() =>
            noted.DecodeLog([noted.Topic0, memoHash, new Hash32(badInt8)], AbiEncoder.Encode([AbiType.Bytes, AbiType.Bool], [new byte[] { 1 }, false]))).Reason);
        Assert.Throws<AbiDecodingException>(() => transfer.DecodeLog([transfer.Topic0, Topic(Alice), Topic(Bob)], [.. data, 0]));
    }

    [Fact]
    public void Decodes_anonymous_events()
    {
        var abi = ContractAbi.Parse(Json);
        var anon = abi.GetEvent("Anon");
        Assert.True(anon.Anonymous);
        var log = anon.DecodeLog([Topic(Bob)], AbiEncoder.Encode(AbiType.Parse("uint64"), 42UL));
        Assert.Equal(Bob, log["who"]);
        Assert.Equal(new UInt256(42UL), log["n"]);
        Assert.Null(abi.TryDecodeLog([Topic(Bob)], AbiEncoder.Encode(AbiType.Parse("uint64"), 42UL)));
        Assert.Throws<AbiDecodingException>(() => anon.DecodeLog([anon.Topic0, Topic(Bob)], AbiEncoder.Encode(AbiType.Parse("uint64"), 42UL)));
    }

    [Fact]
    public void Decodes_error_string_reverts()
    {
        // require(false, "Not enough Ether provided.") as Solidity encodes it
        byte[] data = Hex.Decode("0x08c379a0" +
            "0000000000000000000000000000000000000000000000000000000000000020" +
            "000000000000000000000000000000000000000000000000000000000000001a" +
            "4e6f7420656e6f7567682045746865722070726f76696465642e000000000000");
        var r = AbiRevert.Decode(data);
        Assert.Equal(RevertKind.Error, r.Kind);
        Assert.Equal("Not enough Ether provided.", r.Message);
        Assert.Equal(0x08c379a0u, r.Selector);
        Assert.Equal(data, AbiRevert.ErrorString.Encode("Not enough Ether provided."));
    }

    [Theory]
    [InlineData(0x01UL, "assertion failed")]
    [InlineData(0x11UL, "arithmetic overflow or underflow")]
    [InlineData(0x12UL, "division or modulo by zero")]
    [InlineData(0x21UL, "invalid enum value")]
    [InlineData(0x22UL, "corrupted storage byte array encoding")]
    [InlineData(0x31UL, "pop on empty array")]
    [InlineData(0x32UL, "array index out of bounds")]
    [InlineData(0x41UL, "out of memory (too large allocation)")]
    [InlineData(0x51UL, "call to zero-initialized internal function")]
    [InlineData(0x00UL, "generic compiler panic")]
    [InlineData(0x99UL, null)]
    public void Decodes_panics(ulong code, string? name)
    {
        byte[] data = Hex.Decode("0x4e487b71" + code.ToString("x64"));
        var r = AbiRevert.Decode(data);
        Assert.Equal(RevertKind.Panic, r.Kind);
        Assert.Equal(new UInt256(code), r.PanicCode);
        Assert.Equal(name, r.PanicName);
    }

    [Fact]
    public void Decodes_custom_errors_and_keeps_unknown_raw()
    {
        var abi = ContractAbi.Parse(Json);
        var err = abi.GetError("InsufficientMargin");
        byte[] data = err.Encode(Alice, new UInt256(5UL), "margin");
        var r = AbiRevert.Decode(data, abi);
        Assert.Equal(RevertKind.Custom, r.Kind);
        Assert.Same(err, r.Error);
        Assert.Equal([Alice, new UInt256(5UL), "margin"], r.Arguments);

        var unknown = AbiRevert.Decode(data); // no ABI given
        Assert.Equal(RevertKind.Unknown, unknown.Kind);
        Assert.Equal(data, unknown.Data);
        Assert.Equal(err.Selector, unknown.Selector);

        Assert.Equal(RevertKind.Empty, AbiRevert.Decode([]).Kind);
        Assert.Equal(RevertKind.Unknown, AbiRevert.Decode([1, 2]).Kind);
        // malformed Error(string): dirty padding -> raw, no exception
        byte[] bad = AbiRevert.ErrorString.Encode("x");
        bad[^1] = 1;
        Assert.Equal(RevertKind.Unknown, AbiRevert.Decode(bad).Kind);
    }
}
