using CrossMargin.Ethereum.Numerics;
using Org.BouncyCastle.Crypto.EC;
using Org.BouncyCastle.Math.EC.Endo;

namespace CrossMargin.Ethereum.Signing;

/// <summary>A point in Jacobian coordinates (x = X/Z², y = Y/Z³); Z = 0 is the point at infinity.</summary>
internal readonly struct JacobianPoint(Fe x, Fe y, Fe z)
{
    public readonly Fe X = x, Y = y, Z = z;

    public bool IsInfinity => Z.IsZero;

    public static JacobianPoint Infinity => new(Fe.One, Fe.One, Fe.Zero);

    public static JacobianPoint FromAffine(in AffinePoint p) => new(p.X, p.Y, Fe.One);

    public JacobianPoint Negate() => new(X, -Y, Z);

    /// <summary>2P for a = 0 (dbl-2009-l).</summary>
    public JacobianPoint Double()
    {
        if (IsInfinity || Y.IsZero) return Infinity;
        Fe a = X.Square();
        Fe b = Y.Square();
        Fe c = b.Square();
        Fe d = ((X + b).Square() - a - c).Double();
        Fe e = a.Double() + a;
        Fe f = e.Square();
        Fe x3 = f - d.Double();
        Fe c8 = c.Double().Double().Double();
        Fe y3 = (e * (d - x3)) - c8;
        Fe z3 = (Y * Z).Double();
        return new JacobianPoint(x3, y3, z3);
    }

    /// <summary>P + Q with Q affine (madd-2007-bl), handling the degenerate cases.</summary>
    public JacobianPoint AddAffine(in AffinePoint q)
    {
        if (IsInfinity) return FromAffine(q);
        Fe z1z1 = Z.Square();
        Fe u2 = q.X * z1z1;
        Fe s2 = q.Y * Z * z1z1;
        Fe h = u2 - X;
        Fe r = (s2 - Y).Double();
        if (h.IsZero) return r.IsZero ? Double() : Infinity;
        Fe hh = h.Square();
        Fe i = hh.Double().Double();
        Fe j = h * i;
        Fe v = X * i;
        Fe x3 = r.Square() - j - v.Double();
        Fe y3 = (r * (v - x3)) - (Y * j).Double();
        Fe z3 = (Z + h).Square() - z1z1 - hh;
        return new JacobianPoint(x3, y3, z3);
    }

    /// <summary>P + Q, both Jacobian (add-2007-bl), handling the degenerate cases.</summary>
    public JacobianPoint Add(in JacobianPoint q)
    {
        if (IsInfinity) return q;
        if (q.IsInfinity) return this;
        Fe z1z1 = Z.Square();
        Fe z2z2 = q.Z.Square();
        Fe u1 = X * z2z2;
        Fe u2 = q.X * z1z1;
        Fe s1 = Y * q.Z * z2z2;
        Fe s2 = q.Y * Z * z1z1;
        Fe h = u2 - u1;
        Fe r = (s2 - s1).Double();
        if (h.IsZero) return r.IsZero ? Double() : Infinity;
        Fe i = h.Double().Square();
        Fe j = h * i;
        Fe v = u1 * i;
        Fe x3 = r.Square() - j - v.Double();
        Fe y3 = (r * (v - x3)) - (s1 * j).Double();
        Fe z3 = ((Z + q.Z).Square() - z1z1 - z2z2) * h;
        return new JacobianPoint(x3, y3, z3);
    }

    public AffinePoint ToAffine()
    {
        Fe zi = Z.Invert();
        Fe zi2 = zi.Square();
        return new AffinePoint(X * zi2, Y * zi2 * zi);
    }
}

internal readonly struct AffinePoint(Fe x, Fe y)
{
    public readonly Fe X = x, Y = y;
}

/// <summary>
/// secp256k1 group operations on the own field arithmetic.
/// <para>Fixed base (k·G): a 4-bit fixed-window table of 64 rows × 16 affine points, every entry offset by a
/// constant point H (entry j of row i is j·16^i·G + H) so that no entry is the point at infinity. A
/// multiplication starts from −64·H and adds one entry per row: always 64 mixed additions, no doublings,
/// no branch on the scalar's digits, and each entry is read with a masked scan of its whole row.</para>
/// <para>Variable base (k·P, public scalars only): width-5 wNAF.</para>
/// </summary>
internal static class Secp256k1Group
{
    private static readonly Fe Seven = new(7, 0, 0, 0);

    internal static readonly AffinePoint G = new(
        new Fe(0x59F2815B16F81798UL, 0x029BFCDB2DCE28D9UL, 0x55A06295CE870B07UL, 0x79BE667EF9DCBBACUL),
        new Fe(0x9C47D08FFB10D4B8UL, 0xFD17B448A6855419UL, 0x5DA4FBFC0E1108A8UL, 0x483ADA7726A3C465UL));

    // Arbitrary fixed scalar for the offset point H = c·G (any point works; it only keeps entries finite).
    private static readonly UInt256 OffsetScalar = new(0x243F6A8885A308D3UL, 0x13198A2E03707344UL, 0xA4093822299F31D0UL, 0x082EFA98EC4E6C89UL);

    // Declared after G: static initializers run in text order.
    private static readonly (AffinePoint[] Table, AffinePoint Start) Fixed = BuildFixedTable();

    private static (AffinePoint[] Table, AffinePoint Start) BuildFixedTable()
    {
        var h = Multiply(JacobianPoint.FromAffine(G), OffsetScalar);
        var jac = new JacobianPoint[(64 * 16) + 1];
        var b = JacobianPoint.FromAffine(G);
        for (int i = 0; i < 64; i++)
        {
            jac[i * 16] = h;
            for (int j = 1; j < 16; j++) jac[(i * 16) + j] = jac[(i * 16) + j - 1].Add(b);
            b = b.Double().Double().Double().Double(); // 16 · base
        }
        // start = −64·H
        jac[64 * 16] = h.Double().Double().Double().Double().Double().Double().Negate();
        var affine = BatchToAffine(jac);
        return (affine[..(64 * 16)], affine[64 * 16]);
    }

    /// <summary>Normalizes many points with one field inversion (Montgomery's trick). No input may be infinity.</summary>
    private static AffinePoint[] BatchToAffine(JacobianPoint[] points)
    {
        var result = new AffinePoint[points.Length];
        var prefix = new Fe[points.Length];
        Fe acc = Fe.One;
        for (int k = 0; k < points.Length; k++)
        {
            if (points[k].IsInfinity) throw new InvalidOperationException("Offset table entry at infinity.");
            prefix[k] = acc;
            acc *= points[k].Z;
        }
        Fe inv = acc.Invert();
        for (int k = points.Length - 1; k >= 0; k--)
        {
            Fe zi = inv * prefix[k];
            inv *= points[k].Z;
            Fe zi2 = zi.Square();
            result[k] = new AffinePoint(points[k].X * zi2, points[k].Y * zi2 * zi);
        }
        return result;
    }

    /// <summary>Reads entry <paramref name="digit"/> of row <paramref name="row"/> touching every entry of the row.</summary>
    private static AffinePoint Lookup(AffinePoint[] table, int row, int digit)
    {
        ulong x0 = 0, x1 = 0, x2 = 0, x3 = 0, y0 = 0, y1 = 0, y2 = 0, y3 = 0;
        int baseIndex = row * 16;
        for (int j = 0; j < 16; j++)
        {
            // all ones when j == digit, else zero, without a branch
            ulong mask = (ulong)(((long)(j ^ digit) - 1) >> 63);
            ref readonly AffinePoint e = ref table[baseIndex + j];
            x0 |= e.X.L0 & mask;
            x1 |= e.X.L1 & mask;
            x2 |= e.X.L2 & mask;
            x3 |= e.X.L3 & mask;
            y0 |= e.Y.L0 & mask;
            y1 |= e.Y.L1 & mask;
            y2 |= e.Y.L2 & mask;
            y3 |= e.Y.L3 & mask;
        }
        return new AffinePoint(new Fe(x0, x1, x2, x3), new Fe(y0, y1, y2, y3));
    }

    /// <summary>k·G for any 256-bit k (used with secret nonces and keys as well as public scalars).</summary>
    internal static JacobianPoint MultiplyG(in UInt256 k)
    {
        var (table, start) = Fixed;
        var r = JacobianPoint.FromAffine(start);
        ReadOnlySpan<ulong> limbs = [k.u0, k.u1, k.u2, k.u3];
        for (int i = 0; i < 64; i++)
        {
            int digit = (int)((limbs[i >> 4] >> ((i & 15) * 4)) & 0xF);
            r = r.AddAffine(Lookup(table, i, digit));
        }
        return r;
    }

    // The secp256k1 endomorphism: λ·(x, y) = (β·x, y) with β a cube root of unity in GF(p).
    internal static readonly Fe Beta = new(0xC1396C28719501EEUL, 0x9CF0497512F58995UL, 0x6E64479EAC3434E9UL, 0x7AE96A2B657C0710UL);

    private static readonly GlvEndomorphism Glv =
        (GlvEndomorphism)CustomNamedCurves.GetByName("secp256k1").Curve.GetEndomorphism();

    /// <summary>
    /// k·P for a public scalar k: k is split as k₁ + k₂·λ (|k₁|, |k₂| ≈ 2^128, BouncyCastle's GLV
    /// decomposition) and both halves run through one interleaved width-5 wNAF ladder over P and λ·P.
    /// </summary>
    internal static JacobianPoint MultiplyGlv(in JacobianPoint p, in UInt256 k)
    {
        var parts = Glv.DecomposeScalar(Secp256k1.ToBigInteger(k));
        UInt256 k1 = Secp256k1.ToUInt256(parts[0].Abs());
        UInt256 k2 = Secp256k1.ToUInt256(parts[1].Abs());

        Span<JacobianPoint> t1 = stackalloc JacobianPoint[8];
        Span<JacobianPoint> t2 = stackalloc JacobianPoint[8];
        t1[0] = parts[0].SignValue < 0 ? p.Negate() : p;
        var twoP = t1[0].Double();
        for (int i = 1; i < 8; i++) t1[i] = t1[i - 1].Add(twoP);
        bool flip = (parts[0].SignValue < 0) != (parts[1].SignValue < 0);
        for (int i = 0; i < 8; i++)
        {
            var e = new JacobianPoint(t1[i].X * Beta, t1[i].Y, t1[i].Z);
            t2[i] = flip ? e.Negate() : e;
        }

        Span<sbyte> naf1 = stackalloc sbyte[258];
        Span<sbyte> naf2 = stackalloc sbyte[258];
        int len1 = Wnaf(k1, naf1);
        int len2 = Wnaf(k2, naf2);
        var r = JacobianPoint.Infinity;
        for (int i = Math.Max(len1, len2) - 1; i >= 0; i--)
        {
            r = r.Double();
            if (i < len1) r = AddDigit(r, t1, naf1[i]);
            if (i < len2) r = AddDigit(r, t2, naf2[i]);
        }
        return r;
    }

    private static JacobianPoint AddDigit(in JacobianPoint r, ReadOnlySpan<JacobianPoint> odd, int d)
    {
        if (d > 0) return r.Add(odd[d >> 1]);
        if (d < 0) return r.Add(odd[(-d) >> 1].Negate());
        return r;
    }

    // Odd multiples 1·G, 3·G, ..., 127·G and their λ images, affine, for the width-8 G part of a·G + b·R.
    private const int GWindow = 8;
    private static readonly (AffinePoint[] G, AffinePoint[] LambdaG) GOdd = BuildGOdd();

    private static (AffinePoint[] G, AffinePoint[] LambdaG) BuildGOdd()
    {
        var jac = new JacobianPoint[1 << (GWindow - 2)];
        jac[0] = JacobianPoint.FromAffine(G);
        var twoG = jac[0].Double();
        for (int i = 1; i < jac.Length; i++) jac[i] = jac[i - 1].Add(twoG);
        var g = BatchToAffine(jac);
        var lambdaG = new AffinePoint[g.Length];
        for (int i = 0; i < g.Length; i++) lambdaG[i] = new AffinePoint(g[i].X * Beta, g[i].Y);
        return (g, lambdaG);
    }

    /// <summary>
    /// a·G + b·R for public scalars a, b &lt; n and a public point R (signature recovery): both scalars are
    /// GLV-split, and all four ~128-bit halves share one doubling ladder (Straus) with affine tables, so
    /// every addition is a mixed addition: width 8 over precomputed G and λ·G, width 5 over R and λ·R
    /// (normalized with one inversion).
    /// </summary>
    internal static JacobianPoint SumOfTwo(in UInt256 a, in AffinePoint r, in UInt256 b)
    {
        var pa = Glv.DecomposeScalar(Secp256k1.ToBigInteger(a));
        var pb = Glv.DecomposeScalar(Secp256k1.ToBigInteger(b));

        Span<JacobianPoint> rj = stackalloc JacobianPoint[8];
        rj[0] = JacobianPoint.FromAffine(r);
        var twoR = rj[0].Double();
        for (int i = 1; i < 8; i++) rj[i] = rj[i - 1].Add(twoR);
        var rt = BatchToAffine(rj.ToArray());
        var rlt = new AffinePoint[8];
        for (int i = 0; i < 8; i++) rlt[i] = new AffinePoint(rt[i].X * Beta, rt[i].Y);

        Span<sbyte> n0 = stackalloc sbyte[260];
        Span<sbyte> n1 = stackalloc sbyte[260];
        Span<sbyte> n2 = stackalloc sbyte[260];
        Span<sbyte> n3 = stackalloc sbyte[260];
        int l0 = Wnaf(Secp256k1.ToUInt256(pa[0].Abs()), n0, GWindow);
        int l1 = Wnaf(Secp256k1.ToUInt256(pa[1].Abs()), n1, GWindow);
        int l2 = Wnaf(Secp256k1.ToUInt256(pb[0].Abs()), n2, 5);
        int l3 = Wnaf(Secp256k1.ToUInt256(pb[1].Abs()), n3, 5);
        bool s0 = pa[0].SignValue < 0, s1 = pa[1].SignValue < 0, s2 = pb[0].SignValue < 0, s3 = pb[1].SignValue < 0;
        var (gt, glt) = GOdd;

        var acc = JacobianPoint.Infinity;
        for (int i = Math.Max(Math.Max(l0, l1), Math.Max(l2, l3)) - 1; i >= 0; i--)
        {
            acc = acc.Double();
            if (i < l0) acc = AddAffineDigit(acc, gt, n0[i], s0);
            if (i < l1) acc = AddAffineDigit(acc, glt, n1[i], s1);
            if (i < l2) acc = AddAffineDigit(acc, rt, n2[i], s2);
            if (i < l3) acc = AddAffineDigit(acc, rlt, n3[i], s3);
        }
        return acc;
    }

    private static JacobianPoint AddAffineDigit(in JacobianPoint acc, AffinePoint[] odd, int d, bool negateScalar)
    {
        if (d == 0) return acc;
        ref readonly AffinePoint e = ref odd[(d < 0 ? -d : d) >> 1];
        return (d < 0) != negateScalar ? acc.AddAffine(new AffinePoint(e.X, -e.Y)) : acc.AddAffine(e);
    }

    /// <summary>Width-w NAF digits of k (least significant first, odd digits below 2^(w-1) in magnitude); returns the digit count.</summary>
    private static int Wnaf(UInt256 k, Span<sbyte> naf, int width = 5)
    {
        int len = 0;
        int full = 1 << width, half = full >> 1;
        while (!k.IsZero)
        {
            sbyte d = 0;
            if ((k.u0 & 1) != 0)
            {
                int m = (int)(k.u0 & (ulong)(full - 1));
                if (m > half) m -= full;
                d = (sbyte)m;
                k = m > 0 ? k - new UInt256((ulong)m) : k + new UInt256((ulong)-m);
            }
            naf[len++] = d;
            k >>= 1;
        }
        return len;
    }

    /// <summary>k·P for a public scalar k &lt; 2^256 - 16 (width-5 wNAF, no endomorphism).</summary>
    internal static JacobianPoint Multiply(in JacobianPoint p, UInt256 k)
    {
        // odd multiples P, 3P, ..., 15P
        Span<JacobianPoint> odd = stackalloc JacobianPoint[8];
        odd[0] = p;
        var twoP = p.Double();
        for (int i = 1; i < 8; i++) odd[i] = odd[i - 1].Add(twoP);
        Span<sbyte> naf = stackalloc sbyte[258];
        int len = Wnaf(k, naf);
        var r = JacobianPoint.Infinity;
        for (int i = len - 1; i >= 0; i--) r = AddDigit(r.Double(), odd, naf[i]);
        return r;
    }

    /// <summary>Lifts x to the curve point with the given y parity; false if x³ + 7 has no square root.</summary>
    internal static bool TryLift(in Fe x, bool oddY, out AffinePoint point)
    {
        Fe rhs = (x.Square() * x) + Seven;
        Fe y = rhs.SqrtCandidate();
        if (!y.Square().Equals(rhs))
        {
            point = default;
            return false;
        }
        if (y.IsOdd != oddY) y = -y;
        point = new AffinePoint(x, y);
        return true;
    }
}
