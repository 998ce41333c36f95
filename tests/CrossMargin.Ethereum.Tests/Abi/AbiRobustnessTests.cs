using CrossMargin.Ethereum.Abi;

namespace CrossMargin.Ethereum.Tests.Abi;

/// <summary>
/// Random and mutated inputs against the strict decoder: only <see cref="AbiDecodingException"/> may come out,
/// and whatever it accepts must be canonical (re-encoding gives the same bytes).
/// </summary>
public class AbiRobustnessTests
{
    private const int Seed = 7_31_2026;
    private const int Iterations = 120_000;

    private static readonly AbiType[][] TypeSets =
    [
        [AbiType.Parse("uint8"), AbiType.Parse("int16"), AbiType.Address, AbiType.Bool, AbiType.Parse("bytes3")],
        [AbiType.Bytes, AbiType.String],
        [AbiType.Parse("uint256[]"), AbiType.Parse("string[2]")],
        [AbiType.Parse("(address,uint256,bytes)[]")],
        [AbiType.Parse("uint256[][]"), AbiType.Bool],
        [AbiType.Parse("(bool,(bytes,int8)[])"), AbiType.Parse("bytes32")],
        [AbiType.Parse("(string,uint64[2])[2][]")],
        [AbiType.Parse("address"), AbiType.Parse("uint256"), AbiType.Parse("int256"), AbiType.Parse("bytes32"), AbiType.Parse("bool"), AbiType.Bytes],
        [AbiType.Parse("string[][]")],
    ];

    [Fact]
    public void Mutated_and_random_inputs_only_raise_AbiDecodingException()
    {
        var rng = new Random(Seed);
        var valid = TypeSets.Select(ts => Enumerable.Range(0, 8).Select(_ =>
            AbiEncoder.Encode(ts, ts.Select(t => AbiTestValues.RandomValue(rng, t)).ToArray())).ToArray()).ToArray();

        int accepted = 0, rejected = 0;
        for (int i = 0; i < Iterations; i++)
        {
            int set = rng.Next(TypeSets.Length);
            var types = TypeSets[set];
            byte[] input = Mutate(rng, valid[set][rng.Next(valid[set].Length)], valid[rng.Next(valid.Length)][0]);
            try
            {
                var values = AbiDecoder.Decode(types, input);
                accepted++;
                byte[] again = AbiEncoder.Encode(types, values);
                Assert.True(again.AsSpan().SequenceEqual(input), $"seed {Seed}, iteration {i}: accepted a non-canonical encoding {Hex.Encode(input)}");
            }
            catch (AbiDecodingException)
            {
                rejected++;
            }
            catch (Exception e) when (e is not Xunit.Sdk.XunitException)
            {
                Assert.Fail($"seed {Seed}, iteration {i}, types {string.Join(",", types.Select(t => t.CanonicalName))}: {e.GetType().Name}: {e.Message}\ninput {Hex.Encode(input)}");
            }
        }
        Assert.True(rejected > Iterations / 4, $"only {rejected} rejected");
        Assert.True(accepted > 100, $"only {accepted} accepted");
    }

    private static byte[] Mutate(Random rng, byte[] source, byte[] other)
    {
        byte[] b = (byte[])source.Clone();
        int rounds = 1 + rng.Next(3);
        for (int r = 0; r < rounds; r++)
        {
            switch (rng.Next(10))
            {
                case 0: // unchanged (valid input must decode)
                    break;
                case 1: // bit flip
                    if (b.Length > 0) b[rng.Next(b.Length)] ^= (byte)(1 << rng.Next(8));
                    break;
                case 2: // random byte
                    if (b.Length > 0) b[rng.Next(b.Length)] = (byte)rng.Next(256);
                    break;
                case 3: // truncation
                    b = b[..rng.Next(b.Length + 1)];
                    break;
                case 4: // extension
                {
                    var extra = new byte[rng.Next(1, 65)];
                    if (rng.Next(2) == 0) rng.NextBytes(extra);
                    b = [.. b, .. extra];
                    break;
                }
                case 5: // offset / length corruption: overwrite the low bytes of an aligned word
                case 6:
                {
                    if (b.Length < 32) break;
                    int w = rng.Next(b.Length / 32) * 32;
                    ulong v = rng.Next(7) switch
                    {
                        0 => 0,
                        1 => (ulong)rng.Next(0, b.Length + 64),
                        2 => (ulong)(rng.Next(0, b.Length / 32 + 2) * 32),
                        3 => 1UL << 60,
                        4 => uint.MaxValue,
                        5 => (ulong)b.Length - (ulong)w,
                        _ => ulong.MaxValue,
                    };
                    b.AsSpan(w, 24).Clear();
                    System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(w + 24), v);
                    if (rng.Next(8) == 0) b[w] = 0xFF;
                    break;
                }
                case 7: // splice from another valid encoding
                {
                    if (other.Length == 0) break;
                    int from = rng.Next(other.Length);
                    int len = rng.Next(1, Math.Min(96, other.Length - from) + 1);
                    int to = rng.Next(b.Length + 1);
                    b = [.. b.AsSpan(0, to), .. other.AsSpan(from, len), .. b.AsSpan(Math.Min(b.Length, to + (rng.Next(2) == 0 ? len : 0)))];
                    break;
                }
                case 8: // duplicate a word (shifts everything after it)
                {
                    if (b.Length < 32) break;
                    int w = rng.Next(b.Length / 32) * 32;
                    b = [.. b.AsSpan(0, w + 32), .. b.AsSpan(w)];
                    break;
                }
                default: // fully random input
                {
                    b = new byte[rng.Next(0, 8) * 32 + (rng.Next(4) == 0 ? rng.Next(32) : 0)];
                    for (int k = 0; k + 32 <= b.Length; k += 32)
                        if (rng.Next(2) == 0) b[k + 31] = (byte)rng.Next(256); else rng.NextBytes(b.AsSpan(k, 32));
                    break;
                }
            }
        }
        return b;
    }
}
