using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CrossMargin.Ethereum.Abi;
using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Ethereum.Tests.Abi;

/// <summary>Random ABI types and values, and a canonical JSON form of values (for comparison and for ethers).</summary>
internal static class AbiTestValues
{
    // ------------------------------------------------------------------ canonical JSON of values

    /// <summary>ints as decimal strings, addresses/bytes as lower-case 0x-hex, arrays and tuples as arrays.</summary>
    public static JsonNode? ToJson(AbiType t, object? v) => t.Kind switch
    {
        AbiTypeKind.UInt => JsonValue.Create(((UInt256)v!).ToString()),
        AbiTypeKind.Int => JsonValue.Create(((Int256)v!).ToString()),
        AbiTypeKind.Address => JsonValue.Create(((Address)v!).ToLowerHex()),
        AbiTypeKind.Bool => JsonValue.Create((bool)v!),
        AbiTypeKind.FixedBytes or AbiTypeKind.Bytes => JsonValue.Create(Hex.Encode((byte[])v!)),
        AbiTypeKind.String => JsonValue.Create((string)v!),
        AbiTypeKind.Array or AbiTypeKind.FixedArray => new JsonArray(((object?[])v!).Select(x => ToJson(t.Element!, x)).ToArray()),
        AbiTypeKind.Tuple => new JsonArray(((object?[])v!).Select((x, i) => ToJson(t.Components[i], x)).ToArray()),
        _ => throw new InvalidOperationException(),
    };

    public static JsonArray ToJson(IReadOnlyList<AbiType> types, IReadOnlyList<object?> values) =>
        new(types.Select((t, i) => ToJson(t, values[i])).ToArray());

    public static string Canonical(IReadOnlyList<AbiType> types, IReadOnlyList<object?> values) => ToJson(types, values).ToJsonString();

    /// <summary>Values as the shared vector files write them: ints as numbers or 0x-hex, bytes as hex, strings as text.</summary>
    public static object? FromVector(AbiType t, JsonElement e)
    {
        switch (t.Kind)
        {
            case AbiTypeKind.UInt:
            case AbiTypeKind.Int:
                BigInteger b = e.ValueKind == JsonValueKind.Number
                    ? BigInteger.Parse(e.GetRawText(), CultureInfo.InvariantCulture)
                    : e.GetString()!.StartsWith("0x", StringComparison.Ordinal)
                        ? BigInteger.Parse("0" + e.GetString()![2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture)
                        : BigInteger.Parse(e.GetString()!, CultureInfo.InvariantCulture);
                return t.Kind == AbiTypeKind.UInt ? (object)(UInt256)b : (Int256)b;
            case AbiTypeKind.Address: return Address.Parse(e.GetString()!);
            case AbiTypeKind.Bool: return e.GetBoolean();
            case AbiTypeKind.FixedBytes:
            case AbiTypeKind.Bytes: return Hex.Decode(e.GetString()!);
            case AbiTypeKind.String: return e.GetString();
            case AbiTypeKind.Array:
            case AbiTypeKind.FixedArray: return e.EnumerateArray().Select(x => FromVector(t.Element!, x)).ToArray();
            case AbiTypeKind.Tuple: return e.EnumerateArray().Select((x, i) => FromVector(t.Components[i], x)).ToArray();
            default: throw new InvalidOperationException();
        }
    }

    // ------------------------------------------------------------------ random types and values

    public static AbiType RandomType(Random rng, int depth)
    {
        int r = rng.Next(depth <= 0 ? 9 : 13);
        switch (r)
        {
            case 0: return AbiType.UInt(8 * (1 + rng.Next(32)));
            case 1: return AbiType.Int(8 * (1 + rng.Next(32)));
            case 2: return AbiType.Address;
            case 3: return AbiType.Bool;
            case 4: return AbiType.FixedBytes(1 + rng.Next(32));
            case 5: return AbiType.Bytes;
            case 6: return AbiType.String;
            case 7: return AbiType.UInt256;
            case 8: return rng.Next(2) == 0 ? AbiType.Int256 : AbiType.Bytes32;
            case 9: return AbiType.ArrayOf(RandomType(rng, depth - 1));
            case 10: return AbiType.FixedArrayOf(RandomType(rng, depth - 1), 1 + rng.Next(3));
            default:
            {
                var comps = new AbiType[1 + rng.Next(4)];
                for (int i = 0; i < comps.Length; i++) comps[i] = RandomType(rng, depth - 1);
                return AbiType.Tuple(comps);
            }
        }
    }

    public static object? RandomValue(Random rng, AbiType t)
    {
        switch (t.Kind)
        {
            case AbiTypeKind.UInt:
            {
                Span<byte> w = stackalloc byte[32];
                RandomWord(rng, w, t.Size / 8);
                w[..(32 - t.Size / 8)].Clear();
                return UInt256.ReadBigEndian(w);
            }
            case AbiTypeKind.Int:
            {
                Span<byte> w = stackalloc byte[32];
                int n = t.Size / 8;
                RandomWord(rng, w, n);
                w[..(32 - n)].Fill((w[32 - n] & 0x80) != 0 ? (byte)0xFF : (byte)0);
                return Int256.ReadBigEndian(w);
            }
            case AbiTypeKind.Address:
            {
                var a = new byte[20];
                if (rng.Next(8) != 0) rng.NextBytes(a);
                return new Address(a);
            }
            case AbiTypeKind.Bool: return rng.Next(2) == 1;
            case AbiTypeKind.FixedBytes:
            {
                var b = new byte[t.Size];
                rng.NextBytes(b);
                return b;
            }
            case AbiTypeKind.Bytes:
            {
                var b = new byte[rng.Next(5) == 0 ? 0 : rng.Next(100)];
                rng.NextBytes(b);
                return b;
            }
            case AbiTypeKind.String: return RandomString(rng);
            case AbiTypeKind.Array:
            {
                var a = new object?[rng.Next(4)];
                for (int i = 0; i < a.Length; i++) a[i] = RandomValue(rng, t.Element!);
                return a;
            }
            case AbiTypeKind.FixedArray:
            {
                var a = new object?[t.Length];
                for (int i = 0; i < a.Length; i++) a[i] = RandomValue(rng, t.Element!);
                return a;
            }
            case AbiTypeKind.Tuple: return t.Components.Select(c => RandomValue(rng, c)).ToArray();
            default: throw new InvalidOperationException();
        }
    }

    /// <summary>Random word with the low <paramref name="n"/> bytes set, biased towards edge values.</summary>
    private static void RandomWord(Random rng, Span<byte> w, int n)
    {
        w.Clear();
        var low = w[(32 - n)..];
        switch (rng.Next(6))
        {
            case 0: break; // zero
            case 1: low.Fill(0xFF); break; // max / -1
            case 2: low[0] = 0x80; break; // min int / top bit
            case 3: low.Fill(0xFF); low[0] = 0x7F; break; // max int
            case 4: low[^1] = (byte)rng.Next(256); break; // small
            default: rng.NextBytes(low); break;
        }
    }

    private static string RandomString(Random rng)
    {
        int len = rng.Next(5) == 0 ? 0 : rng.Next(40);
        var sb = new StringBuilder();
        for (int i = 0; i < len; i++)
        {
            switch (rng.Next(4))
            {
                case 0: sb.Append((char)rng.Next(0x20, 0x7F)); break;
                case 1: sb.Append((char)rng.Next(0x80, 0x800)); break;
                case 2: sb.Append((char)rng.Next(0x800, 0xD800)); break;
                default: sb.Append(char.ConvertFromUtf32(rng.Next(0x10000, 0x10FFFF))); break;
            }
        }
        return sb.ToString();
    }
}
