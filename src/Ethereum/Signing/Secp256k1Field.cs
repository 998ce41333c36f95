using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace CrossMargin.Ethereum.Signing;

/// <summary>
/// An element of the secp256k1 base field GF(p), p = 2^256 - 2^32 - 977, as four little-endian 64-bit limbs,
/// always fully reduced. Used only for public-data arithmetic (signature recovery), so it makes no
/// constant-time promises.
/// </summary>
internal readonly struct Fe
{
    private const ulong C = 0x1000003D1UL; // 2^256 mod p
    internal const ulong P0 = 0xFFFFFFFEFFFFFC2FUL, P1 = ulong.MaxValue, P2 = ulong.MaxValue, P3 = ulong.MaxValue;

    public readonly ulong L0, L1, L2, L3;

    public Fe(ulong l0, ulong l1, ulong l2, ulong l3)
    {
        L0 = l0;
        L1 = l1;
        L2 = l2;
        L3 = l3;
    }

    public static Fe Zero => default;

    public static Fe One => new(1, 0, 0, 0);

    public bool IsZero => (L0 | L1 | L2 | L3) == 0;

    public bool IsOdd => (L0 & 1) != 0;

    public bool Equals(in Fe o) => ((L0 ^ o.L0) | (L1 ^ o.L1) | (L2 ^ o.L2) | (L3 ^ o.L3)) == 0;

    /// <summary>Reads 32 big-endian bytes; false if the value is not below p.</summary>
    public static bool TryRead(ReadOnlySpan<byte> be32, out Fe value)
    {
        ulong l3 = BinaryPrimitives.ReadUInt64BigEndian(be32);
        ulong l2 = BinaryPrimitives.ReadUInt64BigEndian(be32[8..]);
        ulong l1 = BinaryPrimitives.ReadUInt64BigEndian(be32[16..]);
        ulong l0 = BinaryPrimitives.ReadUInt64BigEndian(be32[24..]);
        value = new Fe(l0, l1, l2, l3);
        return !(l3 == P3 && l2 == P2 && l1 == P1 && l0 >= P0);
    }

    public void Write(Span<byte> be32)
    {
        BinaryPrimitives.WriteUInt64BigEndian(be32, L3);
        BinaryPrimitives.WriteUInt64BigEndian(be32[8..], L2);
        BinaryPrimitives.WriteUInt64BigEndian(be32[16..], L1);
        BinaryPrimitives.WriteUInt64BigEndian(be32[24..], L0);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong AddC(ulong a, ulong b, ref ulong carry)
    {
        ulong s = a + b;
        ulong c1 = s < a ? 1UL : 0UL;
        ulong r = s + carry;
        ulong c2 = r < s ? 1UL : 0UL;
        carry = c1 | c2;
        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong SubB(ulong a, ulong b, ref ulong borrow)
    {
        ulong d = a - b;
        ulong b1 = a < b ? 1UL : 0UL;
        ulong r = d - borrow;
        ulong b2 = d < borrow ? 1UL : 0UL;
        borrow = b1 | b2;
        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Mac(ulong x, ulong y, ulong a, ref ulong carry)
    {
        ulong hi = Math.BigMul(x, y, out ulong lo);
        lo += a;
        hi += lo < a ? 1UL : 0UL;
        lo += carry;
        hi += lo < carry ? 1UL : 0UL;
        carry = hi;
        return lo;
    }

    /// <summary>Reduces r + carry·2^256 (carry small) into [0, p).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Fe Finish(ulong r0, ulong r1, ulong r2, ulong r3, ulong carry)
    {
        // fold carry·2^256 ≡ carry·C
        ulong c = 0;
        r0 = Mac(carry, C, r0, ref c);
        r1 = AddC(r1, 0, ref c);
        r2 = AddC(r2, 0, ref c);
        r3 = AddC(r3, 0, ref c);
        if (c != 0)
        {
            // wrapped past 2^256 once more: r is now tiny, adding C cannot overflow
            ulong c2 = 0;
            r0 = AddC(r0, C, ref c2);
            r1 = AddC(r1, 0, ref c2);
            r2 = AddC(r2, 0, ref c2);
            r3 = AddC(r3, 0, ref c2);
        }
        return Canonical(r0, r1, r2, r3);
    }

    /// <summary>Subtracts p once if r ≥ p (r &lt; 2^256).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Fe Canonical(ulong r0, ulong r1, ulong r2, ulong r3)
    {
        // r ≥ p  ⇔  r + C ≥ 2^256; then r - p = r + C - 2^256
        ulong c = 0;
        ulong t0 = AddC(r0, C, ref c);
        ulong t1 = AddC(r1, 0, ref c);
        ulong t2 = AddC(r2, 0, ref c);
        ulong t3 = AddC(r3, 0, ref c);
        return c != 0 ? new Fe(t0, t1, t2, t3) : new Fe(r0, r1, r2, r3);
    }

    public static Fe operator +(in Fe a, in Fe b)
    {
        ulong c = 0;
        ulong r0 = AddC(a.L0, b.L0, ref c);
        ulong r1 = AddC(a.L1, b.L1, ref c);
        ulong r2 = AddC(a.L2, b.L2, ref c);
        ulong r3 = AddC(a.L3, b.L3, ref c);
        if (c != 0)
        {
            // a + b - p = r + C (no overflow since a + b - p < p)
            ulong c2 = 0;
            return new Fe(AddC(r0, C, ref c2), AddC(r1, 0, ref c2), AddC(r2, 0, ref c2), AddC(r3, 0, ref c2));
        }
        return Canonical(r0, r1, r2, r3);
    }

    public static Fe operator -(in Fe a, in Fe b)
    {
        ulong br = 0;
        ulong r0 = SubB(a.L0, b.L0, ref br);
        ulong r1 = SubB(a.L1, b.L1, ref br);
        ulong r2 = SubB(a.L2, b.L2, ref br);
        ulong r3 = SubB(a.L3, b.L3, ref br);
        if (br != 0)
        {
            // a - b + p = r - C (mod 2^256)
            ulong b2 = 0;
            return new Fe(SubB(r0, C, ref b2), SubB(r1, 0, ref b2), SubB(r2, 0, ref b2), SubB(r3, 0, ref b2));
        }
        return new Fe(r0, r1, r2, r3);
    }

    public static Fe operator -(in Fe a) => Zero - a;

    public static Fe operator *(in Fe a, in Fe b)
    {
        ulong c;
        // 512-bit schoolbook product t0..t7
        c = 0;
        ulong t0 = Mac(a.L0, b.L0, 0, ref c);
        ulong t1 = Mac(a.L0, b.L1, 0, ref c);
        ulong t2 = Mac(a.L0, b.L2, 0, ref c);
        ulong t3 = Mac(a.L0, b.L3, 0, ref c);
        ulong t4 = c;
        c = 0;
        t1 = Mac(a.L1, b.L0, t1, ref c);
        t2 = Mac(a.L1, b.L1, t2, ref c);
        t3 = Mac(a.L1, b.L2, t3, ref c);
        t4 = Mac(a.L1, b.L3, t4, ref c);
        ulong t5 = c;
        c = 0;
        t2 = Mac(a.L2, b.L0, t2, ref c);
        t3 = Mac(a.L2, b.L1, t3, ref c);
        t4 = Mac(a.L2, b.L2, t4, ref c);
        t5 = Mac(a.L2, b.L3, t5, ref c);
        ulong t6 = c;
        c = 0;
        t3 = Mac(a.L3, b.L0, t3, ref c);
        t4 = Mac(a.L3, b.L1, t4, ref c);
        t5 = Mac(a.L3, b.L2, t5, ref c);
        t6 = Mac(a.L3, b.L3, t6, ref c);
        ulong t7 = c;
        return Reduce(t0, t1, t2, t3, t4, t5, t6, t7);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Fe Reduce(ulong t0, ulong t1, ulong t2, ulong t3, ulong t4, ulong t5, ulong t6, ulong t7)
    {
        // low + high·C
        ulong c = 0;
        ulong r0 = Mac(t4, C, t0, ref c);
        ulong r1 = Mac(t5, C, t1, ref c);
        ulong r2 = Mac(t6, C, t2, ref c);
        ulong r3 = Mac(t7, C, t3, ref c);
        return Finish(r0, r1, r2, r3, c);
    }

    /// <summary>this², with the cross products computed once (10 limb products instead of 16).</summary>
    public Fe Square()
    {
        ulong c;
        // cross products a_i·a_j (i < j) into t1..t6
        c = 0;
        ulong t1 = Mac(L0, L1, 0, ref c);
        ulong t2 = Mac(L0, L2, 0, ref c);
        ulong t3 = Mac(L0, L3, 0, ref c);
        ulong t4 = c;
        c = 0;
        t3 = Mac(L1, L2, t3, ref c);
        t4 = Mac(L1, L3, t4, ref c);
        ulong t5 = c;
        c = 0;
        t5 = Mac(L2, L3, t5, ref c);
        ulong t6 = c;
        // double them
        ulong t7 = t6 >> 63;
        t6 = (t6 << 1) | (t5 >> 63);
        t5 = (t5 << 1) | (t4 >> 63);
        t4 = (t4 << 1) | (t3 >> 63);
        t3 = (t3 << 1) | (t2 >> 63);
        t2 = (t2 << 1) | (t1 >> 63);
        t1 <<= 1;
        // add the squares a_i² at columns 2i
        ulong h0 = Math.BigMul(L0, L0, out ulong t0);
        ulong h1 = Math.BigMul(L1, L1, out ulong s1);
        ulong h2 = Math.BigMul(L2, L2, out ulong s2);
        ulong h3 = Math.BigMul(L3, L3, out ulong s3);
        c = 0;
        t1 = AddC(t1, h0, ref c);
        t2 = AddC(t2, s1, ref c);
        t3 = AddC(t3, h1, ref c);
        t4 = AddC(t4, s2, ref c);
        t5 = AddC(t5, h2, ref c);
        t6 = AddC(t6, s3, ref c);
        t7 = AddC(t7, h3, ref c);
        return Reduce(t0, t1, t2, t3, t4, t5, t6, t7);
    }

    public Fe Double() => this + this;

    /// <summary>this^e for a 256-bit exponent given as big-endian limbs e3..e0 (4-bit fixed window).</summary>
    private Fe Pow(ulong e3, ulong e2, ulong e1, ulong e0)
    {
        Span<Fe> table = stackalloc Fe[16];
        table[0] = One;
        table[1] = this;
        for (int i = 2; i < 16; i++) table[i] = table[i - 1] * this;
        Fe r = One;
        ReadOnlySpan<ulong> limbs = [e3, e2, e1, e0];
        foreach (ulong limb in limbs)
        {
            for (int shift = 60; shift >= 0; shift -= 4)
            {
                r = r.Square().Square().Square().Square();
                r = r * table[(int)((limb >> shift) & 0xF)];
            }
        }
        return r;
    }

    /// <summary>Multiplicative inverse (Fermat: a^(p-2)); zero maps to zero.</summary>
    public Fe Invert() => Pow(P3, P2, P1, P0 - 2);

    /// <summary>A square root candidate a^((p+1)/4); the caller checks that it squares back.</summary>
    public Fe SqrtCandidate() => Pow(0x3FFFFFFFFFFFFFFFUL, ulong.MaxValue, ulong.MaxValue, 0xFFFFFFFFBFFFFF0CUL);
}
