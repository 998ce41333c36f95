using CrossMargin.Ethereum.Rlp;
using CrossMargin.Ethereum.Signing;
using CrossMargin.Ethereum.Tests.Transactions;
using CrossMargin.Ethereum.Transactions;

namespace CrossMargin.Ethereum.Tests.Rlp;

/// <summary>
/// Random and mutated inputs: the decoders may only throw their typed errors, must not hang, and must not
/// allocate from hostile lengths.
/// </summary>
public class RlpFuzzTests
{
    private static int Seed => int.TryParse(Environment.GetEnvironmentVariable("CROSSMARGIN_FUZZ_SEED"), out int s) ? s : 0x5eed_0417;

    private static byte[] Mutate(Random rng, byte[] source)
    {
        var b = (byte[])source.Clone();
        switch (rng.Next(6))
        {
            case 0: // flip bytes
                for (int i = rng.Next(1, 4); i > 0 && b.Length > 0; i--) b[rng.Next(b.Length)] ^= (byte)rng.Next(1, 256);
                return b;
            case 1: // truncate
                return b[..rng.Next(b.Length + 1)];
            case 2: // append junk
                var tail = new byte[rng.Next(1, 8)];
                rng.NextBytes(tail);
                return [.. b, .. tail];
            case 3: // overwrite a byte with a header-ish value
                if (b.Length > 0) b[rng.Next(b.Length)] = (byte)(new[] { 0x00, 0x7f, 0x80, 0x81, 0xb7, 0xb8, 0xbf, 0xc0, 0xf7, 0xf8, 0xff })[rng.Next(11)];
                return b;
            case 4: // insert a byte
                int at = rng.Next(b.Length + 1);
                return [.. b[..at], (byte)rng.Next(256), .. b[at..]];
            default: // huge long-form length at a random point
                int p = rng.Next(b.Length + 1);
                return [.. b[..p], 0xbf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, .. b[p..]];
        }
    }

    private static List<byte[]> Corpus(int seed)
    {
        var gen = new RandomTransactions(seed);
        var corpus = new List<byte[]>();
        using var key = new PrivateKey(gen.KeyBytes());
        for (int i = 0; i < 24; i++) corpus.Add(TransactionEncoder.Sign(gen.Eip1559(), key).ToArray());
        corpus.Add(TransactionEncoder.Sign(UnsignedTransaction.Legacy(1, 7, 20_000_000_000, 21_000, gen.Address(), 1, gen.Bytes(80)), key).ToArray());
        using var doc = SharedVectors.Load("rlp_valid.json");
        foreach (var p in doc.RootElement.EnumerateObject()) corpus.Add(Hex.Decode(p.Value.GetProperty("out").GetString()!));
        return corpus;
    }

    [Fact]
    public void Random_and_mutated_inputs_only_raise_typed_errors()
    {
        int seed = Seed;
        var rng = new Random(seed);
        var corpus = Corpus(seed);
        int rlpOk = 0, rlpRejected = 0, txOk = 0, txRejected = 0;
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        const int Iterations = 100_000;
        for (int i = 0; i < Iterations; i++)
        {
            byte[] input;
            if (i % 4 == 0)
            {
                input = new byte[rng.Next(0, 64)];
                rng.NextBytes(input);
            }
            else
            {
                input = Mutate(rng, corpus[rng.Next(corpus.Count)]);
                if (rng.Next(3) == 0) input = Mutate(rng, input);
            }

            try
            {
                RlpEncoding.Validate(input);
                rlpOk++;
            }
            catch (RlpDecodingException)
            {
                rlpRejected++;
            }
            catch (Exception e)
            {
                Assert.Fail($"RLP decoder threw {e.GetType().Name} (seed {seed}, iteration {i}, input {Hex.Encode(input)}): {e.Message}");
            }

            // the transaction decoder recovers a sender (an EC operation) for well-formed inputs, so it gets one input in eight
            if ((i & 7) != 1) continue;
            try
            {
                TransactionDecoder.Decode(input);
                txOk++;
            }
            catch (RlpDecodingException)
            {
                txRejected++;
            }
            catch (SignatureException)
            {
                txRejected++;
            }
            catch (Exception e)
            {
                Assert.Fail($"Tx decoder threw {e.GetType().Name} (seed {seed}, iteration {i}, input {Hex.Encode(input)}): {e.Message}");
            }
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        Assert.Equal(Iterations, rlpOk + rlpRejected);
        Assert.True(rlpRejected > Iterations / 2, $"seed {seed}: suspiciously few rejections ({rlpRejected})");
        Assert.True(rlpOk > 0 && txOk > 0 && txRejected > 0, $"seed {seed}: rlp ok {rlpOk}, tx ok {txOk}, tx rejected {txRejected}");
        // hostile 2^63-byte lengths never turn into allocations: the whole run stays far below one such buffer
        Assert.True(allocated < 2L << 30, $"seed {seed}: allocated {allocated} bytes");
    }

    [Theory]
    [InlineData("0xbf7fffffffffffffff")]
    [InlineData("0xff7fffffffffffffff")]
    [InlineData("0xbbffffffff")]
    [InlineData("0x02ff7fffffffffffffff")]
    [InlineData("0x02f90100")]
    [InlineData("0xfbffffffff")]
    public void Hostile_lengths_are_rejected_without_allocation(string hex)
    {
        byte[] input = Hex.Decode(hex);
        long before = GC.GetAllocatedBytesForCurrentThread();
        if (input[0] == 0x02) Assert.Throws<RlpDecodingException>(() => TransactionDecoder.Decode(input));
        else Assert.Throws<RlpDecodingException>(() => RlpEncoding.Validate(input));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 * 1024);
    }
}
