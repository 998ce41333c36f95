using CrossMargin.Ethereum.Numerics;
using Org.BouncyCastle.Asn1.X9;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Crypto.EC;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Math.EC;
using Org.BouncyCastle.Math.EC.Multiplier;
using Org.BouncyCastle.Utilities;

namespace CrossMargin.Ethereum.Signing;

/// <summary>
/// secp256k1 ECDSA over BouncyCastle's custom-curve arithmetic: RFC 6979 nonces, low-s, and the
/// recovery id taken from the nonce point R itself (y parity, plus the x ≥ n overflow bit).
/// </summary>
internal static class Secp256k1
{
    private static readonly X9ECParameters Parameters = CustomNamedCurves.GetByName("secp256k1");
    internal static readonly ECCurve Curve = Parameters.Curve;
    internal static readonly ECPoint G = Parameters.G;
    internal static readonly BigInteger N = Parameters.N;
    internal static readonly BigInteger HalfN = N.ShiftRight(1);
    internal static readonly BigInteger P = Curve.Field.Characteristic;
    private static readonly FixedPointCombMultiplier BaseMultiplier = new();

    internal static readonly UInt256 NValue = ToUInt256(N);
    internal static readonly UInt256 HalfNValue = ToUInt256(HalfN);

    /// <summary>Writes the 64-byte uncompressed public key x || y for scalar d (own fixed-base table).</summary>
    internal static void PublicKey(BigInteger d, Span<byte> destination64)
    {
        var q = Secp256k1Group.MultiplyG(ToUInt256(d)).ToAffine();
        q.X.Write(destination64[..32]);
        q.Y.Write(destination64[32..64]);
    }

    /// <summary>The same on BouncyCastle's fixed-point comb; a reference for tests.</summary>
    internal static void PublicKeyReference(BigInteger d, Span<byte> destination64)
    {
        var q = BaseMultiplier.Multiply(G, d).Normalize();
        WriteFixed(q.AffineXCoord.ToBigInteger(), destination64[..32]);
        WriteFixed(q.AffineYCoord.ToBigInteger(), destination64[32..64]);
    }

    internal static EcdsaSignature Sign(BigInteger d, ReadOnlySpan<byte> hash32)
    {
        byte[] message = hash32.ToArray();
        var kCalculator = new HMacDsaKCalculator(new Sha256Digest());
        kCalculator.Init(N, d, message);
        // 32-byte digest and 256-bit order: e is the digest as an integer (no truncation needed).
        var e = new BigInteger(1, message);
        byte[] xBytes = new byte[32];
        while (true)
        {
            BigInteger k = kCalculator.NextK();
            var r = Secp256k1Group.MultiplyG(ToUInt256(k)).ToAffine();
            r.X.Write(xBytes);
            var x = new BigInteger(1, xBytes);
            BigInteger rs = x.Mod(N);
            if (rs.SignValue == 0) continue;
            BigInteger s = BigIntegers.ModOddInverse(N, k).Multiply(e.Add(d.Multiply(rs))).Mod(N);
            if (s.SignValue == 0) continue;
            int recoveryId = (r.Y.IsOdd ? 1 : 0) | (x.CompareTo(N) >= 0 ? 2 : 0);
            if (s.CompareTo(HalfN) > 0)
            {
                // (r, n - s) is the signature for -R: same x, opposite y parity.
                s = N.Subtract(s);
                recoveryId ^= 1;
            }
            return new EcdsaSignature(ToUInt256(rs), ToUInt256(s), (byte)recoveryId);
        }
    }

    /// <summary>
    /// Recovers the 64-byte public key. <paramref name="recoveryId"/> is 0..3 (bit 0: y parity of R,
    /// bit 1: R.x = r + n). Returns false for any signature that does not designate a valid key.
    /// </summary>
    internal static bool TryRecover(ReadOnlySpan<byte> hash32, in UInt256 r, in UInt256 s, int recoveryId, bool requireLowS, Span<byte> publicKey64, out SignatureError error)
    {
        if (r.IsZero || r >= NValue) { error = SignatureError.ROutOfRange; return false; }
        if (s.IsZero || s >= NValue) { error = SignatureError.SOutOfRange; return false; }
        if (requireLowS && s > HalfNValue) { error = SignatureError.HighS; return false; }
        if (recoveryId is < 0 or > 3) { error = SignatureError.InvalidRecoveryId; return false; }

        BigInteger rb = ToBigInteger(r);
        BigInteger x = (recoveryId & 2) != 0 ? rb.Add(N) : rb;
        if (x.CompareTo(P) >= 0) { error = SignatureError.InvalidRecoveryId; return false; }

        Span<byte> xBytes = stackalloc byte[32];
        WriteFixed(x, xBytes);
        Fe.TryRead(xBytes, out var xFe);
        if (!Secp256k1Group.TryLift(xFe, (recoveryId & 1) != 0, out var bigR)) { error = SignatureError.NotOnCurve; return false; }

        var e = new BigInteger(1, hash32.ToArray());
        BigInteger rInv = BigIntegers.ModOddInverse(N, rb);
        UInt256 u1 = ToUInt256(N.Subtract(e).Multiply(rInv).Mod(N));
        UInt256 u2 = ToUInt256(ToBigInteger(s).Multiply(rInv).Mod(N));
        var q = Secp256k1Group.SumOfTwo(u1, bigR, u2);
        if (q.IsInfinity) { error = SignatureError.PointAtInfinity; return false; }
        var qa = q.ToAffine();
        qa.X.Write(publicKey64[..32]);
        qa.Y.Write(publicKey64[32..64]);
        error = SignatureError.None;
        return true;
    }

    /// <summary>The same recovery on BouncyCastle's arithmetic only; a reference for tests of the fast path.</summary>
    internal static bool TryRecoverReference(ReadOnlySpan<byte> hash32, in UInt256 r, in UInt256 s, int recoveryId, Span<byte> publicKey64)
    {
        if (r.IsZero || r >= NValue || s.IsZero || s >= NValue || recoveryId is < 0 or > 3) return false;
        BigInteger rb = ToBigInteger(r);
        BigInteger x = (recoveryId & 2) != 0 ? rb.Add(N) : rb;
        if (x.CompareTo(P) >= 0) return false;
        byte[] compressed = new byte[33];
        compressed[0] = (byte)(0x02 | (recoveryId & 1));
        WriteFixed(x, compressed.AsSpan(1));
        ECPoint bigR;
        try
        {
            bigR = Curve.DecodePoint(compressed);
        }
        catch (ArgumentException)
        {
            return false;
        }
        var e = new BigInteger(1, hash32.ToArray());
        BigInteger rInv = BigIntegers.ModOddInverse(N, rb);
        BigInteger u1 = N.Subtract(e).Multiply(rInv).Mod(N);
        BigInteger u2 = ToBigInteger(s).Multiply(rInv).Mod(N);
        ECPoint q = ECAlgorithms.SumOfTwoMultiplies(G, u1, bigR, u2).Normalize();
        if (q.IsInfinity) return false;
        WriteFixed(q.AffineXCoord.ToBigInteger(), publicKey64[..32]);
        WriteFixed(q.AffineYCoord.ToBigInteger(), publicKey64[32..64]);
        return true;
    }

    internal static BigInteger ToBigInteger(in UInt256 value)
    {
        byte[] b = new byte[32];
        value.WriteBigEndian(b);
        return new BigInteger(1, b);
    }

    internal static UInt256 ToUInt256(BigInteger value)
    {
        Span<byte> b = stackalloc byte[32];
        WriteFixed(value, b);
        return UInt256.ReadBigEndian(b);
    }

    /// <summary>Writes a non-negative value below 2^256 as exactly destination.Length big-endian bytes.</summary>
    internal static void WriteFixed(BigInteger value, Span<byte> destination)
    {
        byte[] raw = value.ToByteArrayUnsigned();
        if (raw.Length > destination.Length) throw new InvalidOperationException("Value wider than its field.");
        destination[..(destination.Length - raw.Length)].Clear();
        raw.CopyTo(destination[(destination.Length - raw.Length)..]);
    }
}
