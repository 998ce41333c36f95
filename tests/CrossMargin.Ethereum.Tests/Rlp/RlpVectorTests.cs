using System.Numerics;
using System.Text;
using System.Text.Json;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rlp;

namespace CrossMargin.Ethereum.Tests.Rlp;

public class RlpVectorTests
{
    public static TheoryData<string> ValidNames() => Names("rlp_valid.json");

    public static TheoryData<string> InvalidNames() => Names("rlp_invalid.json");

    private static TheoryData<string> Names(string file)
    {
        var data = new TheoryData<string>();
        using var doc = SharedVectors.Load(file);
        foreach (var p in doc.RootElement.EnumerateObject()) data.Add(p.Name);
        return data;
    }

    /// <summary>Builds the expected tree from the ethereum/tests "in" notation.</summary>
    internal static RlpItem FromJson(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Array => RlpItem.List(e.EnumerateArray().Select(FromJson).ToArray()),
        JsonValueKind.Number => RlpItem.String(Unsigned(new BigInteger(e.GetUInt64()))),
        JsonValueKind.String when e.GetString()!.StartsWith('#') => RlpItem.String(Unsigned(BigInteger.Parse(e.GetString()![1..]))),
        JsonValueKind.String => RlpItem.String(Encoding.UTF8.GetBytes(e.GetString()!)),
        _ => throw new InvalidOperationException("unexpected vector input " + e.ValueKind),
    };

    private static byte[] Unsigned(BigInteger v) => v.IsZero ? [] : v.ToByteArray(isUnsigned: true, isBigEndian: true);

    internal static void AssertSameTree(RlpItem expected, RlpItem actual)
    {
        Assert.Equal(expected.IsList, actual.IsList);
        if (!expected.IsList)
        {
            Assert.Equal(expected.Bytes.ToArray(), actual.Bytes.ToArray());
            return;
        }
        Assert.Equal(expected.Items.Count, actual.Items.Count);
        for (int i = 0; i < expected.Items.Count; i++) AssertSameTree(expected.Items[i], actual.Items[i]);
    }

    [Theory]
    [MemberData(nameof(ValidNames))]
    public void Valid_vector_encodes_exactly(string name)
    {
        using var doc = SharedVectors.Load("rlp_valid.json");
        var v = doc.RootElement.GetProperty(name);
        var tree = FromJson(v.GetProperty("in"));
        string expected = v.GetProperty("out").GetString()!.ToLowerInvariant();
        Assert.Equal(expected, Hex.Encode(tree.Encode()));
        Assert.Equal(tree.EncodedLength, tree.Encode().Length);
    }

    [Theory]
    [MemberData(nameof(ValidNames))]
    public void Valid_vector_decodes_to_its_input(string name)
    {
        using var doc = SharedVectors.Load("rlp_valid.json");
        var v = doc.RootElement.GetProperty(name);
        byte[] bytes = Hex.Decode(v.GetProperty("out").GetString()!);
        RlpEncoding.Validate(bytes);
        AssertSameTree(FromJson(v.GetProperty("in")), RlpItem.Decode(bytes));
    }

    [Theory]
    [MemberData(nameof(ValidNames))]
    public void Integer_vectors_round_trip_through_typed_integer_paths(string name)
    {
        using var doc = SharedVectors.Load("rlp_valid.json");
        var input = doc.RootElement.GetProperty(name).GetProperty("in");
        byte[] encoded = Hex.Decode(doc.RootElement.GetProperty(name).GetProperty("out").GetString()!);
        BigInteger value;
        if (input.ValueKind == JsonValueKind.Number) value = new BigInteger(input.GetUInt64());
        else if (input.ValueKind == JsonValueKind.String && input.GetString()!.StartsWith('#')) value = BigInteger.Parse(input.GetString()![1..]);
        else return; // not an integer case

        if (value <= ulong.MaxValue)
        {
            Assert.Equal(encoded, RlpEncoding.Encode((ulong)value));
            var r = new RlpReader(encoded);
            Assert.Equal((ulong)value, r.ReadULong());
            r.EnsureEnd();
        }
        if (value < BigInteger.One << 256)
        {
            var u = (UInt256)value;
            var buf = new byte[RlpEncoding.LengthOf(u)];
            var w = new RlpWriter(buf);
            w.WriteUInt256(u);
            w.EnsureComplete();
            Assert.Equal(encoded, buf);
            var r = new RlpReader(encoded);
            Assert.Equal(u, r.ReadUInt256());
        }
        else
        {
            // 2^256 needs 33 bytes: a 256-bit read must refuse it
            var ex = Assert.Throws<RlpDecodingException>(() => new RlpReader(encoded).ReadUInt256());
            Assert.Equal(RlpErrorReason.IntegerOverflow, ex.Reason);
        }
    }

    [Theory]
    [MemberData(nameof(InvalidNames))]
    public void Invalid_vector_is_rejected(string name)
    {
        using var doc = SharedVectors.Load("rlp_invalid.json");
        string hex = doc.RootElement.GetProperty(name).GetProperty("out").GetString()!;
        // upstream quirk: some entries lack 0x, one is upper-case
        if (hex.StartsWith("0x", StringComparison.Ordinal)) hex = hex[2..];
        byte[] bytes = Convert.FromHexString(hex);
        Assert.Throws<RlpDecodingException>(() => RlpItem.Decode(bytes));
        Assert.Throws<RlpDecodingException>(() => RlpEncoding.Validate(bytes));
    }
}
