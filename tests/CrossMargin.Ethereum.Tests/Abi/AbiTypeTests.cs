using System.Text.Json;
using CrossMargin.Ethereum.Abi;

namespace CrossMargin.Ethereum.Tests.Abi;

public class AbiTypeTests
{
    [Theory]
    [InlineData("uint8", AbiTypeKind.UInt, false, 32)]
    [InlineData("uint256", AbiTypeKind.UInt, false, 32)]
    [InlineData("int8", AbiTypeKind.Int, false, 32)]
    [InlineData("int136", AbiTypeKind.Int, false, 32)]
    [InlineData("address", AbiTypeKind.Address, false, 32)]
    [InlineData("bool", AbiTypeKind.Bool, false, 32)]
    [InlineData("bytes1", AbiTypeKind.FixedBytes, false, 32)]
    [InlineData("bytes32", AbiTypeKind.FixedBytes, false, 32)]
    [InlineData("bytes", AbiTypeKind.Bytes, true, 32)]
    [InlineData("string", AbiTypeKind.String, true, 32)]
    [InlineData("uint256[]", AbiTypeKind.Array, true, 32)]
    [InlineData("uint256[3]", AbiTypeKind.FixedArray, false, 96)]
    [InlineData("string[3]", AbiTypeKind.FixedArray, true, 32)]
    [InlineData("(uint256,address)", AbiTypeKind.Tuple, false, 64)]
    [InlineData("(uint256,address)[2][]", AbiTypeKind.Array, true, 32)]
    [InlineData("(uint256,address)[2]", AbiTypeKind.FixedArray, false, 128)]
    [InlineData("(bytes,(bool,int8[2])[3])", AbiTypeKind.Tuple, true, 32)]
    [InlineData("((bool,int8[2])[3],address)", AbiTypeKind.Tuple, false, 32 * 10)]
    public void Parses_canonical_types(string text, AbiTypeKind kind, bool dynamic, int headSize)
    {
        var t = AbiType.Parse(text);
        Assert.Equal(kind, t.Kind);
        Assert.Equal(dynamic, t.IsDynamic);
        Assert.Equal(headSize, t.HeadSize);
        Assert.Equal(text, t.CanonicalName);
        Assert.Equal(t, AbiType.Parse(t.ToString()));
    }

    [Theory]
    [InlineData("")]
    [InlineData("uint")]
    [InlineData("int")]
    [InlineData("uint0")]
    [InlineData("uint7")]
    [InlineData("uint264")]
    [InlineData("uint08")]
    [InlineData("int257")]
    [InlineData("bytes0")]
    [InlineData("bytes33")]
    [InlineData("bytes01")]
    [InlineData("byte")]
    [InlineData("Uint256")]
    [InlineData("uint256 ")]
    [InlineData(" uint256")]
    [InlineData("uint256[")]
    [InlineData("uint256]")]
    [InlineData("uint256[0]")]
    [InlineData("uint256[01]")]
    [InlineData("uint256[-1]")]
    [InlineData("uint256[1a]")]
    [InlineData("uint256[99999999999]")]
    [InlineData("uint256[1000000]")]
    [InlineData("()")]
    [InlineData("(uint256")]
    [InlineData("(uint256,)")]
    [InlineData("(,uint256)")]
    [InlineData("(uint256))")]
    [InlineData("(uint256, address)")]
    [InlineData("tuple")]
    [InlineData("fixed128x18")]
    [InlineData("ufixed")]
    [InlineData("function")]
    [InlineData("address payable")]
    [InlineData("uint256[][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][]")]
    public void Rejects_bad_type_strings(string text)
    {
        Assert.Throws<AbiFormatException>(() => AbiType.Parse(text));
        Assert.False(AbiType.TryParse(text, out _));
    }

    [Fact]
    public void Rejects_deep_tuple_nesting_without_stack_overflow()
    {
        string deep = new string('(', 10000) + "uint256" + new string(')', 10000);
        Assert.Throws<AbiFormatException>(() => AbiType.Parse(deep));
        string ok = new string('(', 20) + "uint256" + new string(')', 20);
        Assert.Equal(ok, AbiType.Parse(ok).CanonicalName);
    }

    [Fact]
    public void Builds_types_from_json_abi_parameters()
    {
        const string json = """
        {"name":"orders","type":"tuple[2][]","internalType":"struct Book.Order[2][]","components":[
            {"name":"maker","type":"address","internalType":"address"},
            {"name":"legs","type":"tuple[]","components":[{"name":"size","type":"int128"},{"name":"memo","type":"bytes"}]},
            {"name":"id","type":"bytes32"}]}
        """;
        using var doc = JsonDocument.Parse(json);
        var t = AbiType.FromJson(doc.RootElement);
        Assert.Equal("(address,(int128,bytes)[],bytes32)[2][]", t.CanonicalName);
        var tuple = t.Element!.Element!;
        Assert.Equal(["maker", "legs", "id"], tuple.ComponentNames!);
        Assert.Equal(AbiType.Parse("(address,(int128,bytes)[],bytes32)[2][]"), t);
    }

    [Theory]
    [InlineData("""{"type":"tuple"}""")]
    [InlineData("""{"type":"tuple","components":[]}""")]
    [InlineData("""{"type":"tuple[","components":[{"type":"uint256"}]}""")]
    [InlineData("""{"type":"tuplex","components":[{"type":"uint256"}]}""")]
    [InlineData("""{"type":"uint"}""")]
    [InlineData("""{"name":"x"}""")]
    [InlineData("""{"type":5}""")]
    [InlineData("""[]""")]
    public void Rejects_bad_json_parameters(string json)
    {
        using var doc = JsonDocument.Parse(json);
        Assert.Throws<AbiFormatException>(() => AbiType.FromJson(doc.RootElement));
    }

    [Theory]
    [InlineData("transfer(address,uint256)", "transfer", 2)]
    [InlineData("totalSupply()", "totalSupply", 0)]
    [InlineData("f((uint256,address)[],bytes32)", "f", 2)]
    public void Parses_signatures(string sig, string name, int count)
    {
        var (n, ps) = AbiType.ParseSignature(sig);
        Assert.Equal(name, n);
        Assert.Equal(count, ps.Length);
        Assert.Equal(sig, AbiType.Signature(n, ps));
    }

    [Theory]
    [InlineData("transfer")]
    [InlineData("(uint256)")]
    [InlineData("f(uint256")]
    [InlineData("f(uint256,)")]
    [InlineData("f(uint256))")]
    [InlineData("f(uint256 x)")]
    [InlineData("1f(uint256)")]
    [InlineData("f(uint)")]
    public void Rejects_bad_signatures(string sig) => Assert.Throws<AbiFormatException>(() => AbiType.ParseSignature(sig));

    [Fact]
    public void Factories_match_parser_and_validate()
    {
        Assert.Same(AbiType.UInt(256), AbiType.Parse("uint256"));
        Assert.Equal(AbiType.Parse("(address,bool[3])[]"), AbiType.ArrayOf(AbiType.Tuple(AbiType.Address, AbiType.FixedArrayOf(AbiType.Bool, 3))));
        Assert.Throws<ArgumentOutOfRangeException>(() => AbiType.UInt(7));
        Assert.Throws<ArgumentOutOfRangeException>(() => AbiType.FixedBytes(33));
        Assert.Throws<ArgumentException>(() => AbiType.FixedArrayOf(AbiType.Bool, 0));
        Assert.Throws<ArgumentException>(() => AbiType.Tuple());
    }
}
