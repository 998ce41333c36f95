using System.Text;
using System.Text.Json;
using CrossMargin.Ethereum.Crypto;

namespace CrossMargin.Ethereum.Tests.Primitives;

public class KeccakTests
{
    public static TheoryData<string> VectorNames()
    {
        var data = new TheoryData<string>();
        using var doc = SharedVectors.Load("keccak256.json");
        foreach (var group in new[] { "upstream", "derived" })
        {
            foreach (var v in doc.RootElement.GetProperty(group).EnumerateArray()) data.Add(group + "/" + v.GetProperty("name").GetString());
        }
        return data;
    }

    private static JsonElement Find(JsonDocument doc, string id)
    {
        var parts = id.Split('/', 2);
        return doc.RootElement.GetProperty(parts[0]).EnumerateArray().Single(v => v.GetProperty("name").GetString() == parts[1]);
    }

    private static byte[] Input(JsonElement v) =>
        v.TryGetProperty("inputHex", out var hex) ? Hex.Decode(hex.GetString()) : Encoding.UTF8.GetBytes(v.GetProperty("inputUtf8").GetString()!);

    [Theory]
    [MemberData(nameof(VectorNames))]
    public void Matches_shared_vector(string id)
    {
        using var doc = SharedVectors.Load("keccak256.json");
        var v = Find(doc, id);
        byte[] input = Input(v);
        string actual = Keccak256.Compute(input).ToString();
        if (v.TryGetProperty("expected", out var expected))
            Assert.Equal(expected.GetString(), actual);
        else
            Assert.StartsWith(v.GetProperty("expectedPrefix4").GetString()!, actual, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(VectorNames))]
    public void Incremental_hasher_matches_one_shot_for_every_split(string id)
    {
        using var doc = SharedVectors.Load("keccak256.json");
        byte[] input = Input(Find(doc, id));
        var expected = Keccak256.Compute(input);
        for (int split = 0; split <= input.Length; split += Math.Max(1, input.Length / 17))
        {
            var h = new Keccak256Hasher();
            h.Update(input.AsSpan(0, split));
            h.Update(input.AsSpan(split));
            Assert.Equal(expected, h.Finish());
        }
    }

    [Fact]
    public void Covers_the_rate_boundary()
    {
        using var doc = SharedVectors.Load("keccak256.json");
        var lengths = doc.RootElement.GetProperty("derived").EnumerateArray().Select(v => Input(v).Length).ToHashSet();
        Assert.Contains(135, lengths);
        Assert.Contains(136, lengths);
        Assert.Contains(137, lengths);
    }

    [Fact]
    public void Is_not_sha3_256()
    {
        // SHA3-256("abc") = 3a985da7... ; Keccak-256("abc") differs by the padding byte.
        Assert.Equal("0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45", Keccak256.ComputeUtf8("abc").ToString());
    }

    [Fact]
    public void Hash_rejects_a_short_output()
    {
        Assert.Throws<ArgumentException>(() => Keccak256.Hash([1, 2, 3], new byte[31]));
    }
}
