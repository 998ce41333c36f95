using System.Numerics;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Signing;

namespace CrossMargin.Ethereum.Tests.Signing;

/// <summary>The own field and group arithmetic (used for recovery) against System.Numerics and BouncyCastle.</summary>
public class Secp256k1ArithmeticTests
{
    private static readonly BigInteger P = (BigInteger.One << 256) - (BigInteger.One << 32) - 977;
    private const int Seed = 0x0F1E1D;

    private static BigInteger ToBig(in Fe f)
    {
        var b = new byte[32];
        f.Write(b);
        return new BigInteger(b, isUnsigned: true, isBigEndian: true);
    }

    private static Fe ToFe(BigInteger v)
    {
        var b = new byte[32];
        v.TryWriteBytes(b.AsSpan(32 - v.GetByteCount(isUnsigned: true)), out _, isUnsigned: true, isBigEndian: true);
        Assert.True(Fe.TryRead(b, out var f));
        return f;
    }

    private static BigInteger RandomBelowP(Random rng)
    {
        var b = new byte[32];
        rng.NextBytes(b);
        switch (rng.Next(6))
        {
            case 0: return P - 1 - (new BigInteger(b, true, true) % 1000);
            case 1: return new BigInteger(b, true, true) % 1000;
            default: return new BigInteger(b, true, true) % P;
        }
    }

    [Fact]
    public void Field_operations_match_big_integer()
    {
        var rng = new Random(Seed);
        for (int i = 0; i < 2000; i++)
        {
            BigInteger a = RandomBelowP(rng), b = RandomBelowP(rng);
            Fe fa = ToFe(a), fb = ToFe(b);
            string where = $"seed {Seed} iteration {i}";
            Assert.True(ToBig(fa + fb) == (a + b) % P, "add " + where);
            Assert.True(ToBig(fa - fb) == (((a - b) % P) + P) % P, "sub " + where);
            Assert.True(ToBig(fa * fb) == a * b % P, "mul " + where);
            Assert.True(ToBig(fa.Square()) == a * a % P, "sqr " + where);
            Assert.True(ToBig(-fa) == (P - a) % P, "neg " + where);
            if (i % 50 == 0 && !a.IsZero)
                Assert.True(ToBig(fa.Invert()) == BigInteger.ModPow(a, P - 2, P), "inv " + where);
        }
        Assert.False(Fe.TryRead(P.ToByteArray(true, true), out _));
    }

    [Fact]
    public void Recovery_fast_path_matches_bouncycastle()
    {
        var rng = new Random(Seed);
        var h = new byte[32];
        var pubFast = new byte[64];
        var pubRef = new byte[64];
        for (int i = 0; i < 300; i++)
        {
            rng.NextBytes(h);
            var rb = new byte[32];
            var sb = new byte[32];
            rng.NextBytes(rb);
            rng.NextBytes(sb);
            var r = UInt256.ReadBigEndian(rb);
            var s = UInt256.ReadBigEndian(sb);
            if (i % 3 == 0) r = new UInt256((ulong)rng.Next(1, 1000));
            int recId = rng.Next(2);
            bool okRef = Secp256k1.TryRecoverReference(h, r, s, recId, pubRef);
            bool okFast = Secp256k1.TryRecover(h, r, s, recId, requireLowS: false, pubFast, out _);
            Assert.True(okRef == okFast, $"seed {Seed} iteration {i}: validity differs");
            if (okRef) Assert.True(pubRef.AsSpan().SequenceEqual(pubFast), $"seed {Seed} iteration {i}: key differs");
        }
    }

    [Fact]
    public void Fixed_base_multiplication_matches_bouncycastle()
    {
        var rng = new Random(Seed + 1);
        var fast = new byte[64];
        var reference = new byte[64];
        var kb = new byte[32];
        var n = (BigInteger)Ecdsa.CurveOrder;
        var specials = new[] { BigInteger.One, new BigInteger(2), new BigInteger(15), new BigInteger(16), n - 1, n - 2, (BigInteger.One << 128) + 1 };
        for (int i = 0; i < 300; i++)
        {
            BigInteger k;
            if (i < specials.Length) k = specials[i];
            else
            {
                rng.NextBytes(kb);
                k = new BigInteger(kb, true, true) % (n - 1) + 1;
            }
            var bk = new Org.BouncyCastle.Math.BigInteger(1, k.ToByteArray(true, true));
            Secp256k1.PublicKey(bk, fast);
            Secp256k1.PublicKeyReference(bk, reference);
            Assert.True(reference.AsSpan().SequenceEqual(fast), $"seed {Seed + 1} iteration {i}: k·G differs");
        }
        // k ≡ 0: the offsets cancel to the point at infinity
        Assert.True(Secp256k1Group.MultiplyG((UInt256)n).IsInfinity);
        Assert.True(Secp256k1Group.MultiplyG(UInt256.Zero).IsInfinity);
    }

    [Fact]
    public void Endomorphism_and_glv_multiplication_agree_with_plain_wnaf()
    {
        // β is a non-trivial cube root of unity and λ·G = (β·Gx, Gy)
        var beta = Secp256k1Group.Beta;
        Assert.True((beta * beta * beta).Equals(Fe.One));
        Assert.False(beta.Equals(Fe.One));
        var lambda = UInt256.Parse("0x5363ad4cc05c30e0a5261c028812645a122e22ea20816678df02967c1b23bd72");
        var lg = Secp256k1Group.MultiplyG(lambda).ToAffine();
        Assert.True(lg.X.Equals(Secp256k1Group.G.X * beta) && lg.Y.Equals(Secp256k1Group.G.Y));

        var rng = new Random(Seed + 2);
        var kb = new byte[32];
        var n = (BigInteger)Ecdsa.CurveOrder;
        for (int i = 0; i < 100; i++)
        {
            rng.NextBytes(kb);
            var p = Secp256k1Group.MultiplyG((UInt256)(new BigInteger(kb, true, true) % n));
            rng.NextBytes(kb);
            var k = (UInt256)(new BigInteger(kb, true, true) % n);
            if (i == 0) k = UInt256.One;
            if (i == 1) k = (UInt256)(n - 1);
            var a = Secp256k1Group.MultiplyGlv(p, k).ToAffine();
            var b = Secp256k1Group.Multiply(p, k).ToAffine();
            Assert.True(a.X.Equals(b.X) && a.Y.Equals(b.Y), $"seed {Seed + 2} iteration {i}");
        }
    }

    [Fact]
    public void Straus_sum_of_two_matches_separate_multiplications()
    {
        var rng = new Random(Seed + 3);
        var kb = new byte[32];
        var n = (BigInteger)Ecdsa.CurveOrder;
        UInt256 Next()
        {
            rng.NextBytes(kb);
            return (UInt256)(new BigInteger(kb, true, true) % n);
        }
        for (int i = 0; i < 100; i++)
        {
            var r = Secp256k1Group.MultiplyG(Next()).ToAffine();
            UInt256 a = i == 0 ? UInt256.Zero : Next();
            UInt256 b = i == 1 ? UInt256.One : Next();
            var expected = Secp256k1Group.MultiplyG(a).Add(Secp256k1Group.Multiply(JacobianPoint.FromAffine(r), b));
            var actual = Secp256k1Group.SumOfTwo(a, r, b);
            Assert.Equal(expected.IsInfinity, actual.IsInfinity);
            var ea = expected.ToAffine();
            var aa = actual.ToAffine();
            Assert.True(ea.X.Equals(aa.X) && ea.Y.Equals(aa.Y), $"seed {Seed + 3} iteration {i}");
        }
        // a·G + b·R = infinity when R = G and a = n - b
        var g = Secp256k1Group.G;
        var c = (UInt256)(BigInteger.Parse("123456789"));
        Assert.True(Secp256k1Group.SumOfTwo((UInt256)(n - 123456789), g, c).IsInfinity);
    }
}
