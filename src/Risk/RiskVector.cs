using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CrossMargin.Risk;

/// <summary>
/// The tick factors of every market and asset laid out for the vector kernel: one 16-entry table per field, looked up
/// per lane with a two-table permute (so at most 16 markets and 16 asset ids).
/// </summary>
internal sealed class VectorTables
{
    /// <summary>Largest market count and asset count (including the settlement asset) the tables hold.</summary>
    public const int MaxEntries = 16;

    // market fields
    internal const int MPrice = 0; // V0..V3, M0, Sh, 64 − Sh
    internal const int MIndex = 7; // V0..V3, M0, Sh, 64 − Sh
    internal const int MINeg = 14;
    internal const int MMmf = 15; // V0..V3, M0
    internal const int MImf = 20; // V0..V3, M0
    internal const int MMin0 = 25, MMin1 = 26;
    internal const int MFast = 27;
    internal const int MarketFields = 28;

    // asset fields
    internal const int APrice = 0; // V0..V3, M0, Sh, 64 − Sh
    internal const int AMw = 7; // V0..V3, M0
    internal const int AIw = 12; // V0..V3, M0
    internal const int AFast = 17;
    internal const int AssetFields = 18;

    public readonly ulong[] Markets = new ulong[MarketFields * MaxEntries];
    public readonly ulong[] Assets = new ulong[AssetFields * MaxEntries];

    /// <summary>True when the configuration fits the tables.</summary>
    public static bool Fits(RiskConfig cfg) => cfg.MarketCount <= MaxEntries && cfg.AssetCount <= MaxEntries;

    /// <summary>Copies the ticks into the tables (entries without a tick are not fast).</summary>
    public void Fill(ReadOnlySpan<AssetTick> at, ReadOnlySpan<MarketTick> mt)
    {
        Array.Clear(Markets);
        Array.Clear(Assets);
        for (int m = 0; m < mt.Length; m++)
        {
            ref readonly MarketTick t = ref mt[m];
            Put(Markets, MPrice, m, in t.Price, true);
            Put(Markets, MIndex, m, in t.Index, true);
            Markets[MINeg * MaxEntries + m] = t.INeg;
            Put(Markets, MMmf, m, in t.Mmf, false);
            Put(Markets, MImf, m, in t.Imf, false);
            Markets[MMin0 * MaxEntries + m] = t.Min0;
            Markets[MMin1 * MaxEntries + m] = t.Min1;
            Markets[MFast * MaxEntries + m] = t.Fast ? ulong.MaxValue : 0UL;
        }
        for (int i = 1; i < at.Length; i++)
        {
            ref readonly AssetTick t = ref at[i];
            Put(Assets, APrice, i, in t.Price, true);
            Put(Assets, AMw, i, in t.Mw, false);
            Put(Assets, AIw, i, in t.Iw, false);
            Assets[AFast * MaxEntries + i] = t.Fast ? ulong.MaxValue : 0UL;
        }
    }

    private static void Put(ulong[] table, int field, int entry, in WadFactor f, bool shifts)
    {
        table[(field + 0) * MaxEntries + entry] = f.V0;
        table[(field + 1) * MaxEntries + entry] = f.V1;
        table[(field + 2) * MaxEntries + entry] = f.V2;
        table[(field + 3) * MaxEntries + entry] = f.V3;
        table[(field + 4) * MaxEntries + entry] = f.M0;
        if (!shifts) return;
        table[(field + 5) * MaxEntries + entry] = (ulong)f.Sh;
        table[(field + 6) * MaxEntries + entry] = (ulong)(64 - f.Sh);
    }
}

/// <summary>
/// The fast path for 8 accounts at once (one group, one account per 64-bit lane) with AVX-512: the same integers as
/// <see cref="RiskKernel"/>, computed with 30-bit limbs so that products (vpmuludq) and column sums never carry.
/// <para>Each <c>floor(a·m/WAD)</c>: a (&lt; 2^120) and the factor F (&lt; 2^120) as four 30-bit limbs; the column
/// sums of a·F except the lowest (which is below 2^60, so dropping it lowers a·F by less than 2^64 ≤ 2^k) are
/// normalized to 30-bit digits and shifted right by k. The estimate is then q, q − 1 or q − 2 (factor truncation &lt; 1,
/// dropped column &lt; 1, floor &lt; 1), and the remainder a·m − q'·WAD &lt; 3·WAD &lt; 2^64 is exact from the low 64-bit
/// limbs (vpmullq), which gives q and the remainder. Bounds are checked exactly as in the scalar kernel; a lane that
/// leaves them is reported and recomputed by the caller.</para>
/// </summary>
internal static class RiskVector
{
    private const ulong W = RiskMath.WadU64;

    /// <summary>True when this machine runs the vector kernel.</summary>
    public static bool IsSupported => Avx512F.IsSupported && Avx512DQ.IsSupported && Vector512.IsHardwareAccelerated;

    private static Vector512<ulong> M30 => Vector512.Create(WadFactor.Limb30);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<ulong> Mul(Vector512<ulong> a, Vector512<ulong> b) => Avx512F.Multiply(a.AsUInt32(), b.AsUInt32());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<ulong> Look(ref ulong table, int field, Vector512<ulong> idx)
    {
        ref ulong t = ref Unsafe.Add(ref table, field * VectorTables.MaxEntries);
        return Avx512F.PermuteVar8x64x2(Vector512.LoadUnsafe(ref t), idx, Vector512.LoadUnsafe(ref t, 8));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Limbs(Vector512<ulong> x0, Vector512<ulong> x1, out Vector512<ulong> a0, out Vector512<ulong> a1, out Vector512<ulong> a2, out Vector512<ulong> a3)
    {
        Vector512<ulong> m = M30;
        a0 = x0 & m;
        a1 = (x0 >> 30) & m;
        a2 = ((x0 >> 60) | (x1 << 4)) & m;
        a3 = (x1 >> 26) & m;
    }

    /// <summary>Bits 64..255 of a·F without its lowest column (see the class remarks).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Top(Vector512<ulong> a0, Vector512<ulong> a1, Vector512<ulong> a2, Vector512<ulong> a3,
        Vector512<ulong> f0, Vector512<ulong> f1, Vector512<ulong> f2, Vector512<ulong> f3,
        out Vector512<ulong> l1, out Vector512<ulong> l2, out Vector512<ulong> l3)
    {
        Vector512<ulong> m = M30;
        Vector512<ulong> c1 = Mul(a0, f1) + Mul(a1, f0);
        Vector512<ulong> c2 = Mul(a0, f2) + Mul(a1, f1) + Mul(a2, f0) + (c1 >> 30);
        Vector512<ulong> c3 = Mul(a0, f3) + Mul(a1, f2) + Mul(a2, f1) + Mul(a3, f0) + (c2 >> 30);
        Vector512<ulong> c4 = Mul(a1, f3) + Mul(a2, f2) + Mul(a3, f1) + (c3 >> 30);
        Vector512<ulong> c5 = Mul(a2, f3) + Mul(a3, f2) + (c4 >> 30);
        Vector512<ulong> c6 = Mul(a3, f3) + (c5 >> 30);
        // digits at 2^60, 2^90, ..., 2^210 (the one at 2^30 only matters through its carry)
        Vector512<ulong> d2 = c2 & m, d3 = c3 & m, d4 = c4 & m, d5 = c5 & m, d6 = c6 & m, d7 = c6 >> 30;
        l1 = (d2 >> 4) | (d3 << 26) | (d4 << 56);
        l2 = (d4 >> 8) | (d5 << 22) | (d6 << 52);
        l3 = (d6 >> 12) | (d7 << 18);
    }

    /// <summary>
    /// Bits 115..242 of a·F for the fixed factors (k = 115, a ≤ 2^114): the two lowest columns are dropped as well
    /// (together below 2^92, less than 2^-23 of a unit after the shift), and so are the digits below bit 90.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TopFixed(Vector512<ulong> a0, Vector512<ulong> a1, Vector512<ulong> a2, Vector512<ulong> a3,
        Vector512<ulong> f0, Vector512<ulong> f1, Vector512<ulong> f2, Vector512<ulong> f3,
        out Vector512<ulong> q0, out Vector512<ulong> q1)
    {
        const int Sh = WadFactor.FixedK - 64;
        Vector512<ulong> m = M30;
        Vector512<ulong> c2 = Mul(a0, f2) + Mul(a1, f1) + Mul(a2, f0);
        Vector512<ulong> c3 = Mul(a0, f3) + Mul(a1, f2) + Mul(a2, f1) + Mul(a3, f0) + (c2 >> 30);
        Vector512<ulong> c4 = Mul(a1, f3) + Mul(a2, f2) + Mul(a3, f1) + (c3 >> 30);
        Vector512<ulong> c5 = Mul(a2, f3) + Mul(a3, f2) + (c4 >> 30);
        Vector512<ulong> c6 = Mul(a3, f3) + (c5 >> 30);
        Vector512<ulong> d3 = c3 & m, d4 = c4 & m, d5 = c5 & m, d6 = c6 & m, d7 = c6 >> 30;
        Vector512<ulong> l1 = (d3 << 26) | (d4 << 56); // bits 64..85 (from the dropped digit) are shifted out below
        Vector512<ulong> l2 = (d4 >> 8) | (d5 << 22) | (d6 << 52);
        Vector512<ulong> l3 = (d6 >> 12) | (d7 << 18);
        q0 = (l1 >> Sh) | (l2 << (64 - Sh));
        q1 = (l2 >> Sh) | (l3 << (64 - Sh));
    }

    /// <summary>q' ∈ {q − 2, q − 1, q} to q, with the remainder (the product's low limb is a0·m0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Correct(Vector512<ulong> a0, Vector512<ulong> m0, ref Vector512<ulong> q0, ref Vector512<ulong> q1, out Vector512<ulong> rem)
    {
        Vector512<ulong> w = Vector512.Create(W);
        Vector512<ulong> r = Avx512DQ.MultiplyLow(a0, m0) - Avx512DQ.MultiplyLow(q0, w); // exact: 0 ≤ r < 3·WAD
        Vector512<ulong> ge1 = Vector512.GreaterThanOrEqual(r, w);
        Vector512<ulong> ge2 = Vector512.GreaterThanOrEqual(r, Vector512.Create(2 * W));
        rem = r - (w & ge1) - (w & ge2);
        Vector512<ulong> nq = q0 - ge1 - ge2;
        q1 -= Vector512.LessThan(nq, q0);
        q0 = nq;
    }

    /// <summary>floor(a·m/WAD) for a tick factor (variable k); bad gets a non-zero value when a ≥ 2^k or q ≥ 2^114.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MulDiv(ref ulong table, int field, Vector512<ulong> idx, Vector512<ulong> x0, Vector512<ulong> x1,
        Vector512<ulong> a0, Vector512<ulong> a1, Vector512<ulong> a2, Vector512<ulong> a3,
        out Vector512<ulong> q0, out Vector512<ulong> q1, out Vector512<ulong> rem, ref Vector512<ulong> bad)
    {
        Top(a0, a1, a2, a3, Look(ref table, field, idx), Look(ref table, field + 1, idx), Look(ref table, field + 2, idx), Look(ref table, field + 3, idx),
            out Vector512<ulong> l1, out Vector512<ulong> l2, out Vector512<ulong> l3);
        Vector512<ulong> sh = Look(ref table, field + 5, idx), shl = Look(ref table, field + 6, idx);
        q0 = Avx512F.ShiftRightLogicalVariable(l1, sh) | Avx512F.ShiftLeftLogicalVariable(l2, shl);
        q1 = Avx512F.ShiftRightLogicalVariable(l2, sh) | Avx512F.ShiftLeftLogicalVariable(l3, shl);
        Correct(x0, Look(ref table, field + 4, idx), ref q0, ref q1, out rem);
        bad |= Avx512F.ShiftRightLogicalVariable(x1, sh) | (q1 >> (RiskKernel.QuotientBits - 64));
    }

    /// <summary>
    /// floor(a·m/WAD) for a 64-bit parameter's factor (k = 115, a ≤ 2^114, given as 64-bit limbs x and 30-bit limbs a);
    /// bad gets a non-zero value when q ≥ 2^114.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MulDivFixed(ref ulong table, int field, Vector512<ulong> idx, Vector512<ulong> x0,
        Vector512<ulong> a0, Vector512<ulong> a1, Vector512<ulong> a2, Vector512<ulong> a3,
        out Vector512<ulong> q0, out Vector512<ulong> q1, out Vector512<ulong> rem, ref Vector512<ulong> bad)
    {
        TopFixed(a0, a1, a2, a3, Look(ref table, field, idx), Look(ref table, field + 1, idx), Look(ref table, field + 2, idx), Look(ref table, field + 3, idx),
            out q0, out q1);
        Correct(x0, Look(ref table, field + 4, idx), ref q0, ref q1, out rem);
        bad |= q1 >> (RiskKernel.QuotientBits - 64);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add(ref Vector512<ulong> x0, ref Vector512<ulong> x1, Vector512<ulong> y0, Vector512<ulong> y1)
    {
        Vector512<ulong> r = x0 + y0;
        x1 = x1 + y1 - Vector512.LessThan(r, y0);
        x0 = r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Sub(ref Vector512<ulong> x0, ref Vector512<ulong> x1, Vector512<ulong> y0, Vector512<ulong> y1)
    {
        Vector512<ulong> borrow = Vector512.LessThan(x0, y0);
        x0 -= y0;
        x1 = x1 - y1 + borrow;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<ulong> Bytes(ref byte row) =>
        Avx512F.ConvertToVector512UInt64(Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<ulong>(ref row)).AsByte());

    /// <summary>One collateral slot of 8 accounts: the maintenance- and initial-weighted values (lanes beyond the bounds set bad).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CollateralTerm(ref ulong at, ref ulong row, Vector512<ulong> idx,
        out Vector512<ulong> v0, out Vector512<ulong> v1, out Vector512<ulong> w0, out Vector512<ulong> w1, ref Vector512<ulong> bad)
    {
        Vector512<ulong> b0 = Vector512.LoadUnsafe(ref row), b1 = Vector512.LoadUnsafe(ref row, 8);
        bad |= ~Look(ref at, VectorTables.AFast, idx);
        Limbs(b0, b1, out Vector512<ulong> a0, out Vector512<ulong> a1, out Vector512<ulong> a2, out Vector512<ulong> a3);
        MulDiv(ref at, VectorTables.APrice, idx, b0, b1, a0, a1, a2, a3, out Vector512<ulong> r0, out Vector512<ulong> r1, out _, ref bad);
        Limbs(r0, r1, out a0, out a1, out a2, out a3);
        MulDivFixed(ref at, VectorTables.AMw, idx, r0, a0, a1, a2, a3, out v0, out v1, out _, ref bad);
        MulDivFixed(ref at, VectorTables.AIw, idx, r0, a0, a1, a2, a3, out w0, out w1, out _, ref bad);
    }

    /// <summary>
    /// One position slot of 8 accounts (mb = the market byte: id, bit 7 = short): pnl = floor(size·p/WAD) −
    /// openNotional − fundingOwed and the two requirements ceil(notional·fraction/WAD) + minPositionMargin.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PositionTerm(ref ulong mt, ref ulong row, Vector512<ulong> mb,
        out Vector512<ulong> v0, out Vector512<ulong> v1, out Vector512<ulong> x0, out Vector512<ulong> x1,
        out Vector512<ulong> y0, out Vector512<ulong> y1, ref Vector512<ulong> bad)
    {
        Vector512<ulong> idx = mb & Vector512.Create(0x7FUL);
        Vector512<ulong> neg = Vector512<ulong>.Zero - (mb >> 7);
        Vector512<ulong> s0 = Vector512.LoadUnsafe(ref row), s1 = Vector512.LoadUnsafe(ref row, 8);
        bad |= ~Look(ref mt, VectorTables.MFast, idx);
        Limbs(s0, s1, out Vector512<ulong> a0, out Vector512<ulong> a1, out Vector512<ulong> a2, out Vector512<ulong> a3);

        // value = floor(size·p/WAD), notional = ceil(|size|·p/WAD)
        MulDiv(ref mt, VectorTables.MPrice, idx, s0, s1, a0, a1, a2, a3, out Vector512<ulong> q0, out Vector512<ulong> q1, out Vector512<ulong> rem, ref bad);
        Vector512<ulong> rnz = ~Vector512.Equals(rem, Vector512<ulong>.Zero);
        Vector512<ulong> n0 = q0 - rnz;
        Vector512<ulong> n1 = q1 - Vector512.LessThan(n0, q0);
        v0 = Vector512.ConditionalSelect(neg, n0, q0);
        v1 = Vector512.ConditionalSelect(neg, n1, q1);
        Vector512<ulong> carry = neg & Vector512.Equals(v0, Vector512<ulong>.Zero);
        v0 = (v0 ^ neg) - neg;
        v1 = (v1 ^ neg) - carry;
        Sub(ref v0, ref v1, Vector512.LoadUnsafe(ref row, 16), Vector512.LoadUnsafe(ref row, 24));

        // requirements: ceil(notional·fraction/WAD) + minPositionMargin
        Vector512<ulong> min0 = Look(ref mt, VectorTables.MMin0, idx), min1 = Look(ref mt, VectorTables.MMin1, idx);
        Limbs(n0, n1, out Vector512<ulong> b0, out Vector512<ulong> b1, out Vector512<ulong> b2, out Vector512<ulong> b3);
        MulDivFixed(ref mt, VectorTables.MMmf, idx, n0, b0, b1, b2, b3, out x0, out x1, out rem, ref bad);
        Add(ref x0, ref x1, min0, min1);
        Add(ref x0, ref x1, ~Vector512.Equals(rem, Vector512<ulong>.Zero) & Vector512<ulong>.One, Vector512<ulong>.Zero);
        MulDivFixed(ref mt, VectorTables.MImf, idx, n0, b0, b1, b2, b3, out y0, out y1, out rem, ref bad);
        Add(ref y0, ref y1, min0, min1);
        Add(ref y0, ref y1, ~Vector512.Equals(rem, Vector512<ulong>.Zero) & Vector512<ulong>.One, Vector512<ulong>.Zero);

        // funding owed = floor(size·index/WAD) − floor(size·snapshot/WAD) + (index remainder > snapshot remainder)
        MulDiv(ref mt, VectorTables.MIndex, idx, s0, s1, a0, a1, a2, a3, out Vector512<ulong> i0, out Vector512<ulong> i1, out rem, ref bad);
        Vector512<ulong> sgn = neg ^ Look(ref mt, VectorTables.MINeg, idx);
        Vector512<ulong> rmask = ~Vector512.Equals(rem, Vector512<ulong>.Zero);
        Vector512<ulong> inc = Vector512.AndNot(sgn, rmask) & Vector512<ulong>.One;
        i0 ^= sgn;
        i1 ^= sgn;
        Vector512<ulong> ni0 = i0 + inc;
        i1 -= Vector512.LessThan(ni0, i0);
        i0 = ni0;
        rem = Vector512.ConditionalSelect(sgn & rmask, Vector512.Create(W) - rem, rem);
        Sub(ref i0, ref i1, Vector512.LoadUnsafe(ref row, 32), Vector512.LoadUnsafe(ref row, 40));
        Vector512<ulong> up = Vector512.GreaterThan(rem, Vector512.LoadUnsafe(ref row, 48));
        ni0 = i0 - up;
        i1 -= Vector512.LessThan(ni0, i0);
        i0 = ni0;
        Sub(ref v0, ref v1, i0, i1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<ulong> LaneMask(int lanes) =>
        ~Vector512.Equals(Avx512F.ShiftRightLogicalVariable(Vector512.Create((ulong)lanes), Vector512.Create(0UL, 1, 2, 3, 4, 5, 6, 7)) & Vector512<ulong>.One, Vector512<ulong>.Zero);

    /// <summary>Lanes whose entry (asset or market id) has its bit set in <paramref name="changed"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<ulong> Changed(ulong changed, Vector512<ulong> idx) =>
        ~Vector512.Equals(Avx512F.ShiftRightLogicalVariable(Vector512.Create(changed), idx) & Vector512<ulong>.One, Vector512<ulong>.Zero);

    private static int Good(int valid, Vector512<ulong> bad) =>
        valid & (int)Vector512.ExtractMostSignificantBits(Vector512.Equals(bad, Vector512<ulong>.Zero));

    /// <summary>
    /// Computes the 8 accounts of one group. <paramref name="valid"/> has bit l set for the lanes to compute (present,
    /// stored in the slots). Writes the sums of every lane to the group's result rows and returns the lanes whose sums
    /// are exact (all terms inside the bounds); the caller recomputes the others.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int ComputeGroup(ref ulong data, ref byte meta, ref ulong sums, int collaterals, int valid, VectorTables tables)
    {
        Vector512<ulong> validMask = LaneMask(valid);
        Vector512<ulong> bad = Vector512<ulong>.Zero;
        Vector512<ulong> e0 = Vector512.LoadUnsafe(ref data), e1 = Vector512.LoadUnsafe(ref data, 8);
        Vector512<ulong> j0 = e0, j1 = e1;
        Vector512<ulong> mm0 = Vector512<ulong>.Zero, mm1 = Vector512<ulong>.Zero, im0 = Vector512<ulong>.Zero, im1 = Vector512<ulong>.Zero;
        Vector512<ulong> nc = Bytes(ref meta), np = Bytes(ref Unsafe.Add(ref meta, 8));
        int cmax = MaxLane(nc & validMask);
        int pmax = MaxLane(np & validMask);

        ref ulong at = ref tables.Assets[0];
        for (int j = 0; j < cmax; j++)
        {
            Vector512<ulong> active = Vector512.LessThan(Vector512.Create((ulong)j), nc) & validMask;
            Vector512<ulong> lbad = Vector512<ulong>.Zero;
            CollateralTerm(ref at, ref Unsafe.Add(ref data, (2 + 2 * j) * 8), Bytes(ref Unsafe.Add(ref meta, (2 + j) * 8)),
                out Vector512<ulong> v0, out Vector512<ulong> v1, out Vector512<ulong> w0, out Vector512<ulong> w1, ref lbad);
            Add(ref e0, ref e1, v0 & active, v1 & active);
            Add(ref j0, ref j1, w0 & active, w1 & active);
            bad |= lbad & active;
        }

        ref ulong mt = ref tables.Markets[0];
        for (int j = 0; j < pmax; j++)
        {
            Vector512<ulong> active = Vector512.LessThan(Vector512.Create((ulong)j), np) & validMask;
            Vector512<ulong> lbad = Vector512<ulong>.Zero;
            PositionTerm(ref mt, ref Unsafe.Add(ref data, (2 + 2 * collaterals + RiskBook.PosRows * j) * 8), Bytes(ref Unsafe.Add(ref meta, (2 + collaterals + j) * 8)),
                out Vector512<ulong> v0, out Vector512<ulong> v1, out Vector512<ulong> x0, out Vector512<ulong> x1, out Vector512<ulong> y0, out Vector512<ulong> y1, ref lbad);
            Add(ref e0, ref e1, v0 & active, v1 & active);
            Add(ref j0, ref j1, v0 & active, v1 & active);
            Add(ref mm0, ref mm1, x0 & active, x1 & active);
            Add(ref im0, ref im1, y0 & active, y1 & active);
            bad |= lbad & active;
        }

        e0.StoreUnsafe(ref sums);
        e1.StoreUnsafe(ref sums, 8);
        j0.StoreUnsafe(ref sums, 16);
        j1.StoreUnsafe(ref sums, 24);
        mm0.StoreUnsafe(ref sums, 32);
        mm1.StoreUnsafe(ref sums, 40);
        im0.StoreUnsafe(ref sums, 48);
        im1.StoreUnsafe(ref sums, 56);
        return Good(valid, bad);
    }

    /// <summary>
    /// Incremental update of the <paramref name="valid"/> lanes of one group (whose stored sums are fast-path sums at
    /// the previous tick): for every collateral and position slot whose asset or market changed, the term at the
    /// previous tick (<paramref name="before"/>) is subtracted and the term at the current tick
    /// (<paramref name="now"/>) added. Returns the lanes whose new sums are exact; the others' rows are garbage and
    /// must be recomputed in full by the caller.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int DeltaGroup(ref ulong data, ref byte meta, ref ulong sums, int collaterals, int valid,
        ulong changedAssets, ulong changedMarkets, VectorTables before, VectorTables now)
    {
        Vector512<ulong> validMask = LaneMask(valid);
        Vector512<ulong> bad = Vector512<ulong>.Zero;
        Vector512<ulong> e0 = Vector512.LoadUnsafe(ref sums), e1 = Vector512.LoadUnsafe(ref sums, 8);
        Vector512<ulong> j0 = Vector512.LoadUnsafe(ref sums, 16), j1 = Vector512.LoadUnsafe(ref sums, 24);
        Vector512<ulong> mm0 = Vector512.LoadUnsafe(ref sums, 32), mm1 = Vector512.LoadUnsafe(ref sums, 40);
        Vector512<ulong> im0 = Vector512.LoadUnsafe(ref sums, 48), im1 = Vector512.LoadUnsafe(ref sums, 56);
        Vector512<ulong> nc = Bytes(ref meta), np = Bytes(ref Unsafe.Add(ref meta, 8));

        if (changedAssets != 0)
        {
            int cmax = MaxLane(nc & validMask);
            ref ulong at0 = ref before.Assets[0];
            ref ulong at1 = ref now.Assets[0];
            for (int j = 0; j < cmax; j++)
            {
                Vector512<ulong> idx = Bytes(ref Unsafe.Add(ref meta, (2 + j) * 8));
                Vector512<ulong> active = Vector512.LessThan(Vector512.Create((ulong)j), nc) & validMask & Changed(changedAssets, idx);
                if (active == Vector512<ulong>.Zero) continue;
                ref ulong row = ref Unsafe.Add(ref data, (2 + 2 * j) * 8);
                Vector512<ulong> lbad = Vector512<ulong>.Zero;
                CollateralTerm(ref at0, ref row, idx, out Vector512<ulong> v0, out Vector512<ulong> v1, out Vector512<ulong> w0, out Vector512<ulong> w1, ref lbad);
                Sub(ref e0, ref e1, v0 & active, v1 & active);
                Sub(ref j0, ref j1, w0 & active, w1 & active);
                CollateralTerm(ref at1, ref row, idx, out v0, out v1, out w0, out w1, ref lbad);
                Add(ref e0, ref e1, v0 & active, v1 & active);
                Add(ref j0, ref j1, w0 & active, w1 & active);
                bad |= lbad & active;
            }
        }

        if (changedMarkets != 0)
        {
            int pmax = MaxLane(np & validMask);
            ref ulong mt0 = ref before.Markets[0];
            ref ulong mt1 = ref now.Markets[0];
            for (int j = 0; j < pmax; j++)
            {
                Vector512<ulong> mb = Bytes(ref Unsafe.Add(ref meta, (2 + collaterals + j) * 8));
                Vector512<ulong> active = Vector512.LessThan(Vector512.Create((ulong)j), np) & validMask & Changed(changedMarkets, mb & Vector512.Create(0x7FUL));
                if (active == Vector512<ulong>.Zero) continue;
                ref ulong row = ref Unsafe.Add(ref data, (2 + 2 * collaterals + RiskBook.PosRows * j) * 8);
                Vector512<ulong> lbad = Vector512<ulong>.Zero;
                PositionTerm(ref mt0, ref row, mb, out Vector512<ulong> v0, out Vector512<ulong> v1, out Vector512<ulong> x0, out Vector512<ulong> x1, out Vector512<ulong> y0, out Vector512<ulong> y1, ref lbad);
                Sub(ref e0, ref e1, v0 & active, v1 & active);
                Sub(ref j0, ref j1, v0 & active, v1 & active);
                Sub(ref mm0, ref mm1, x0 & active, x1 & active);
                Sub(ref im0, ref im1, y0 & active, y1 & active);
                PositionTerm(ref mt1, ref row, mb, out v0, out v1, out x0, out x1, out y0, out y1, ref lbad);
                Add(ref e0, ref e1, v0 & active, v1 & active);
                Add(ref j0, ref j1, v0 & active, v1 & active);
                Add(ref mm0, ref mm1, x0 & active, x1 & active);
                Add(ref im0, ref im1, y0 & active, y1 & active);
                bad |= lbad & active;
            }
        }

        e0.StoreUnsafe(ref sums);
        e1.StoreUnsafe(ref sums, 8);
        j0.StoreUnsafe(ref sums, 16);
        j1.StoreUnsafe(ref sums, 24);
        mm0.StoreUnsafe(ref sums, 32);
        mm1.StoreUnsafe(ref sums, 40);
        im0.StoreUnsafe(ref sums, 48);
        im1.StoreUnsafe(ref sums, 56);
        return Good(valid, bad);
    }

    private static int MaxLane(Vector512<ulong> v)
    {
        Vector256<ulong> m4 = Vector256.Max(v.GetLower(), v.GetUpper());
        Vector128<ulong> m2 = Vector128.Max(m4.GetLower(), m4.GetUpper());
        return (int)Math.Max(m2.GetElement(0), m2.GetElement(1));
    }
}
