using System.Text.Json;
using CrossMargin.Ethereum.Abi;

namespace CrossMargin.Ethereum.Tests.Abi;

public class AbiSpecVectorTests
{
    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        using var doc = SharedVectors.Load("abi_solidity_spec_examples.json");
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray()) data.Add(c.GetProperty("name").GetString()!);
        return data;
    }

    private static JsonElement Case(JsonDocument doc, string name) =>
        doc.RootElement.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Spec_example_encodes_and_decodes(string name)
    {
        using var doc = SharedVectors.Load("abi_solidity_spec_examples.json");
        var c = Case(doc, name);
        var types = c.GetProperty("types").EnumerateArray().Select(t => AbiType.Parse(t.GetString()!)).ToArray();
        var values = c.GetProperty("values").EnumerateArray().Select((v, i) => AbiTestValues.FromVector(types[i], v)).ToArray();
        byte[] expected = Hex.Decode(c.GetProperty("expected").GetString()!);

        var sigEl = c.GetProperty("signature");
        byte[] encoded;
        ReadOnlySpan<byte> args;
        if (sigEl.ValueKind == JsonValueKind.String)
        {
            var f = AbiFunction.Parse(sigEl.GetString()!);
            Assert.Equal(sigEl.GetString(), f.Signature);
            Assert.Equal(c.GetProperty("selector").GetString(), "0x" + f.Selector.ToString("x8"));
            Assert.Equal(types, f.InputTypes);
            encoded = f.EncodeCall(values);
            args = expected.AsSpan(4);
            Assert.Equal(AbiTestValues.Canonical(types, values), AbiTestValues.Canonical(types, f.DecodeCall(expected)));
        }
        else
        {
            encoded = AbiEncoder.Encode(types, values);
            args = expected;
        }
        Assert.Equal(Hex.Encode(expected), Hex.Encode(encoded));
        Assert.Equal(args.Length, AbiEncoder.GetEncodedSize(types, values));
        var decoded = AbiDecoder.Decode(types, args);
        Assert.Equal(AbiTestValues.Canonical(types, values), AbiTestValues.Canonical(types, decoded));
    }

    [Fact]
    public void Erc20_selectors()
    {
        using var doc = SharedVectors.Load("eip55_addresses_selectors.json");
        int n = 0;
        foreach (var s in doc.RootElement.GetProperty("erc20_selectors").EnumerateArray())
        {
            var f = AbiFunction.Parse(s.GetProperty("signature").GetString()!);
            Assert.Equal(s.GetProperty("selector").GetString(), "0x" + f.Selector.ToString("x8"));
            n++;
        }
        Assert.Equal(5, n);
    }

    [Fact]
    public void Spec_example_tuple_signature_and_known_selectors()
    {
        // canonical rendering of tuples in signatures
        var f = new AbiFunction("f", [new AbiParameter("a", AbiType.Parse("(uint256,address)[]")), new AbiParameter("b", AbiType.Bytes32)]);
        Assert.Equal("f((uint256,address)[],bytes32)", f.Signature);
        Assert.Equal(0x08c379a0u, AbiRevert.ErrorString.Selector);
        Assert.Equal(0x4e487b71u, AbiRevert.Panic.Selector);
        // ERC-20 Transfer topic0
        var transfer = new AbiEvent("Transfer", [new("from", AbiType.Address, true), new("to", AbiType.Address, true), new("value", AbiType.UInt256)]);
        Assert.Equal("0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef", transfer.Topic0.ToString());
    }
}
