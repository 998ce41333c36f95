using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Risk;

/// <summary>
/// A multiplier m prepared for <c>floor(a·m/WAD)</c> without a division: F = floor(m·2^k/WAD) with F &lt; 2^120
/// (two 64-bit limbs, or four 30-bit limbs for the vector kernel). For a &lt; 2^k, floor(a·F/2^k) is the quotient or
/// one less (a·m/WAD − a·F/2^k &lt; a/2^k &lt; 1), and the exact remainder a·m − q·WAD &lt; 2·WAD is known from the
/// low 64 bits. Tick values (prices, |index|) use k = min(119, 179 − bitlength(m)); 64-bit parameters (fractions,
/// weights) use k = <see cref="FixedK"/>.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct WadFactor
{
    /// <summary>k of the 64-bit parameters: m &lt; 2^64 gives F &lt; 2^(64+115)/WAD &lt; 2^120, for any a &lt; 2^115.</summary>
    public const int FixedK = 115;

    /// <summary>Mask of a 30-bit limb.</summary>
    public const ulong Limb30 = (1UL << 30) - 1;

    public ulong F0, F1; // floor(m·2^k/WAD) in 64-bit limbs
    public ulong V0, V1, V2, V3; // the same in 30-bit limbs
    public ulong M0; // low limb of m
    public int Sh; // k − 64, in 0..55

    /// <summary>Prepares a tick value m; false when m ≥ 2^115 (k would be below 64).</summary>
    public static bool TryOf(UInt256 m, out WadFactor f)
    {
        f = default;
        int k = Math.Min(119, 179 - m.BitLength);
        if (k < 64) return false;
        f = Make(m, k);
        return true;
    }

    /// <summary>Prepares a 64-bit parameter with k = <see cref="FixedK"/>.</summary>
    public static WadFactor Fixed(ulong m) => Make(new UInt256(m), FixedK);

    private static WadFactor Make(UInt256 m, int k)
    {
        UInt256 q = (m << k) / RiskMath.Wad;
        return new WadFactor
        {
            F0 = q.u0,
            F1 = q.u1,
            V0 = q.u0 & Limb30,
            V1 = (q.u0 >> 30) & Limb30,
            V2 = ((q.u0 >> 60) | (q.u1 << 4)) & Limb30,
            V3 = (q.u1 >> 26) & Limb30,
            M0 = m.u0,
            Sh = k - 64,
        };
    }
}

/// <summary>What one collateral asset contributes at the current tick, as 64-bit limbs and division-free factors.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct AssetTick
{
    public WadFactor Price, Mw, Iw;
    public ulong P0, P1; // the price itself (for change detection)
    public bool Fast;

    /// <summary>Fast-path factors of an asset at a price (Fast is false when the price is 0 or 2^115 or more).</summary>
    public static AssetTick Of(AssetParams a, UInt256 price)
    {
        var t = new AssetTick { P0 = price.u0, P1 = price.u1 };
        t.Mw = WadFactor.Fixed(a.MaintenanceWeight);
        t.Iw = WadFactor.Fixed(a.InitialWeight);
        t.Fast = !price.IsZero && WadFactor.TryOf(price, out t.Price);
        return t;
    }

    public readonly bool SameAs(in AssetTick o) => ((P0 ^ o.P0) | (P1 ^ o.P1)) == 0 && Fast == o.Fast;
}

/// <summary>What one market contributes at the current tick (price and funding index with pending accrual), as 64-bit limbs and factors.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct MarketTick
{
    public WadFactor Price, Mmf, Imf;
    public WadFactor Index; // |funding index|
    public ulong INeg; // all ones when the index is negative
    public ulong P0, P1; // the price itself (for change detection)
    public ulong I0, I1; // funding index (two's complement)
    public ulong Min0, Min1; // minPositionMargin (< 2^120)
    public bool Fast;
    public bool IndexOk;

    /// <summary>
    /// Fast-path factors of a market: Fast is false when the price is 0 or 2^115 or more, the index computation
    /// reverts or |index| is 2^115 or more, or the minimum margin is 2^120 or more.
    /// </summary>
    public static MarketTick Of(MarketParams k, FundingState f, UInt256 price, ulong timestamp)
    {
        var t = new MarketTick
        {
            P0 = price.u0,
            P1 = price.u1,
            Min0 = (ulong)k.MinPositionMargin,
            Min1 = (ulong)(k.MinPositionMargin >> 64),
        };
        Int256 index;
        try
        {
            index = RiskContext.FundingIndexAt(f, price, timestamp);
        }
        catch (ArithmeticException)
        {
            return t;
        }
        catch (PriceUnavailableException)
        {
            return t;
        }
        t.IndexOk = true;
        t.I0 = index.u0;
        t.I1 = index.u1;
        t.INeg = index.IsNegative ? ulong.MaxValue : 0UL;
        t.Mmf = WadFactor.Fixed(k.MaintenanceMarginFraction);
        t.Imf = WadFactor.Fixed(k.InitialMarginFraction);
        t.Fast = !price.IsZero && WadFactor.TryOf(price, out t.Price)
            & WadFactor.TryOf(index.UnsignedAbs, out t.Index) && t.Min1 < (1UL << 56);
        return t;
    }

    public readonly bool SameAs(in MarketTick o) =>
        ((P0 ^ o.P0) | (P1 ^ o.P1) | (I0 ^ o.I0) | (I1 ^ o.I1)) == 0 && Fast == o.Fast && IndexOk == o.IndexOk;
}

/// <summary>Running totals of one account's health as 64-bit limbs (two's complement for the signed ones).</summary>
internal struct HealthSums
{
    public ulong E0, E1; // equity
    public ulong J0, J1; // initial equity
    public ulong M0, M1; // maintenance margin
    public ulong N0, N1; // initial margin

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(in HealthSums t)
    {
        RiskKernel.Add2(ref E0, ref E1, t.E0, t.E1);
        RiskKernel.Add2(ref J0, ref J1, t.J0, t.J1);
        RiskKernel.Add2(ref M0, ref M1, t.M0, t.M1);
        RiskKernel.Add2(ref N0, ref N1, t.N0, t.N1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Sub(in HealthSums t)
    {
        RiskKernel.Sub2(ref E0, ref E1, t.E0, t.E1);
        RiskKernel.Sub2(ref J0, ref J1, t.J0, t.J1);
        RiskKernel.Sub2(ref M0, ref M1, t.M0, t.M1);
        RiskKernel.Sub2(ref N0, ref N1, t.N0, t.N1);
    }

    public readonly Health ToHealth() => new(
        new Int256(E0, E1, (ulong)((long)E1 >> 63), (ulong)((long)E1 >> 63)),
        new Int256(J0, J1, (ulong)((long)J1 >> 63), (ulong)((long)J1 >> 63)),
        new UInt256(N0, N1, 0, 0),
        new UInt256(M0, M1, 0, 0));
}

/// <summary>
/// The 128-bit fast path of the health computation on raw 64-bit limbs, without a single division.
/// <para>Every <c>floor(a·m/WAD)</c> multiplies a by a factor prepared once per tick or per configuration
/// (<see cref="WadFactor"/>) and corrects the estimate with the exact remainder. It answers only when a &lt; 2^k
/// (the factor's precision) and the quotient is below 2^114; otherwise the caller falls back to the exact 256-bit
/// path.</para>
/// <para>Funding: the contract's owed = ceil(size·(index − snapshot)/WAD) equals
/// floor(size·index/WAD) − floor(size·snapshot/WAD) + (1 if the first remainder exceeds the second), with both
/// floors and remainders exact (remainders in [0, WAD)). The snapshot part is computed once when the account is
/// stored, the index part per tick with the index's factor.</para>
/// <para>Bounds (so the sums are exact in 128 bits, in any order): stored |cash|, |openNotional| &lt; 2^118,
/// |floor(size·snapshot/WAD)| &lt; 2^113; per tick |index| &lt; 2^115 and minPositionMargin &lt; 2^120. Then every
/// quotient is below 2^114, |owed| &lt; 2^115, |pnl| &lt; 2^119, every collateral value is below 2^114 and every
/// requirement term below 2^121. With at most 64 collaterals and 64 positions, |equity| &lt; 2^126 and margins
/// &lt; 2^127: no sum can overflow in 128-bit two's complement, so adding and subtracting terms (the incremental
/// tick) gives the same integers as the contract's checked 256-bit sums, which cannot revert inside these bounds
/// either.</para>
/// </summary>
internal static class RiskKernel
{
    private const ulong W = RiskMath.WadU64;

    /// <summary>Bound on |cash| and |openNotional| (bits).</summary>
    internal const int CashBits = 118;

    /// <summary>Bound on every quotient (bits).</summary>
    internal const int QuotientBits = 114;

    /// <summary>True when |x| &lt; 2^bits (bits ≤ 127).</summary>
    internal static bool FitsSigned(Int256 x, int bits)
    {
        if (!RiskBook.FitsInt128(x)) return false;
        Int128 v = (Int128)x;
        Int128 bound = Int128.One << bits;
        return v < bound && v > -bound;
    }

    /// <summary>
    /// floor(s·snap/WAD) (signed floor) and the remainder in [0, WAD), for storing a position; false when the
    /// quotient is outside (−2^113, 2^113).
    /// </summary>
    internal static bool SnapshotTerm(Int256 size, Int256 snap, out Int128 quotient, out ulong remainder)
    {
        quotient = default;
        remainder = 0;
        if (!UInt256.TryMul(size.UnsignedAbs, snap.UnsignedAbs, out UInt256 mag)) return false;
        UInt256 q = UInt256.DivRem(mag, RiskMath.Wad, out UInt256 r);
        if (q.BitLength > QuotientBits - 1) return false;
        Int128 qi = (Int128)(UInt128)q;
        ulong rem = r.u0;
        if (size.IsNegative != snap.IsNegative && !mag.IsZero)
        {
            qi = -qi;
            if (rem != 0)
            {
                qi -= 1;
                rem = W - rem;
            }
        }
        quotient = qi;
        remainder = rem;
        return true;
    }

    /// <summary>
    /// High 64 bits of a·b. The intrinsics keep both halves in registers (<see cref="Math.BigMul(ulong, ulong, out ulong)"/>
    /// passes the low half through memory); the low half is a plain wrapping multiply.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong MulHi(ulong a, ulong b)
    {
        if (Bmi2.X64.IsSupported) return Bmi2.X64.MultiplyNoFlags(a, b);
        if (ArmBase.Arm64.IsSupported) return ArmBase.Arm64.MultiplyHigh(a, b);
        return Math.BigMul(a, b, out _);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Add2(ref ulong a0, ref ulong a1, ulong b0, ulong b1)
    {
        ulong r0 = a0 + b0;
        a1 = a1 + b1 + (r0 < b0 ? 1UL : 0UL);
        a0 = r0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Sub2(ref ulong a0, ref ulong a1, ulong b0, ulong b1)
    {
        ulong r0 = a0 - b0;
        a1 = a1 - b1 - (a0 < b0 ? 1UL : 0UL);
        a0 = r0;
    }

    /// <summary>Negates (two's complement) when mask is all ones; identity when mask is zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void CondNeg(ref ulong x0, ref ulong x1, ulong mask)
    {
        ulong carry = (x0 == 0 ? 1UL : 0UL) & mask;
        x0 = (x0 ^ mask) - mask;
        x1 = (x1 ^ mask) + carry;
    }

    /// <summary>Bits 64..255 of (a1:a0)·(f1:f0) (the low limb is not needed).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Top(ulong a0, ulong a1, ulong f0, ulong f1, out ulong p1, out ulong p2, out ulong p3)
    {
        ulong h00 = MulHi(a0, f0);
        ulong l01 = a0 * f1, h01 = MulHi(a0, f1);
        ulong l10 = a1 * f0, h10 = MulHi(a1, f0);
        ulong l11 = a1 * f1, h11 = MulHi(a1, f1);
        ulong t = h00 + l01;
        ulong c = t < l01 ? 1UL : 0UL;
        p1 = t + l10;
        c += p1 < l10 ? 1UL : 0UL;
        ulong u = h01 + h10;
        ulong c2 = u < h10 ? 1UL : 0UL;
        p2 = u + l11;
        c2 += p2 < l11 ? 1UL : 0UL;
        p2 += c;
        c2 += p2 < c ? 1UL : 0UL;
        p3 = h11 + c2;
    }

    /// <summary>q' ∈ {q − 1, q} to q, with the remainder a·m − q·WAD (the product's low limb is a0·m0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Correct(ulong lowProduct, ref ulong q0, ref ulong q1, out ulong rem)
    {
        ulong r = lowProduct - q0 * W; // exact: 0 ≤ r < 2·WAD
        ulong up = r >= W ? 1UL : 0UL;
        rem = r - (W & (0UL - up));
        q0 += up;
        q1 += q0 < up ? 1UL : 0UL;
    }

    /// <summary>
    /// floor(a·m/WAD) and the remainder (in [0, WAD)) for a = a1:a0 and a tick factor (see <see cref="WadFactor"/>).
    /// False when a ≥ 2^k or the quotient is 2^114 or more.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool MulDiv(in WadFactor f, ulong a0, ulong a1, out ulong q0, out ulong q1, out ulong rem)
    {
        Top(a0, a1, f.F0, f.F1, out ulong p1, out ulong p2, out ulong p3);
        int sh = f.Sh;
        // (p3:p2:p1) >> sh, 0 ≤ sh ≤ 55
        q0 = (p1 >> sh) | ((p2 << 1) << (63 - sh));
        q1 = (p2 >> sh) | ((p3 << 1) << (63 - sh));
        Correct(a0 * f.M0, ref q0, ref q1, out rem);
        return ((a1 >> sh) | (q1 >> (QuotientBits - 64))) == 0;
    }

    /// <summary>
    /// floor(a·m/WAD) and the remainder for a 64-bit parameter's factor (k = <see cref="WadFactor.FixedK"/>) and
    /// a &lt; 2^115 (the caller's values are quotients, at most 2^114). False when the quotient is 2^114 or more.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool MulDivFixed(in WadFactor f, ulong a0, ulong a1, out ulong q0, out ulong q1, out ulong rem)
    {
        const int Sh = WadFactor.FixedK - 64;
        Top(a0, a1, f.F0, f.F1, out ulong p1, out ulong p2, out ulong p3);
        q0 = (p1 >> Sh) | (p2 << (64 - Sh));
        q1 = (p2 >> Sh) | (p3 << (64 - Sh));
        Correct(a0 * f.M0, ref q0, ref q1, out rem);
        return (q1 >> (QuotientBits - 64)) == 0;
    }

    /// <summary>
    /// One collateral entry: floor(floor(bal·p/WAD)·weight/WAD) for both weights, added to equity and initial equity.
    /// False when a bound is exceeded (nothing is added).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool Collateral(in AssetTick a, ulong b0, ulong b1, ref HealthSums s)
    {
        if (!a.Fast || !MulDiv(in a.Price, b0, b1, out ulong r0, out ulong r1, out _)) return false;
        if (!MulDivFixed(in a.Mw, r0, r1, out ulong m0, out ulong m1, out _)) return false;
        Add2(ref s.E0, ref s.E1, m0, m1);
        if (!MulDivFixed(in a.Iw, r0, r1, out m0, out m1, out _)) return false;
        Add2(ref s.J0, ref s.J1, m0, m1);
        return true;
    }

    /// <summary>
    /// One position: |size| = s1:s0 (neg = all ones for a short), open notional on1:on0, and the stored snapshot term
    /// floor(size·snapshot/WAD) = sq1:sq0 with remainder sr. pnl = floor(size·p/WAD) − openNotional − fundingOwed is
    /// added to both equities, ceil(notional·fraction/WAD) + minPositionMargin to each margin. False when a bound is
    /// exceeded (the sums are then partially updated and must be discarded).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool Position(in MarketTick m, ulong s0, ulong s1, ulong neg, ulong on0, ulong on1, ulong sq0, ulong sq1, ulong sr, ref HealthSums s)
    {
        if (!m.Fast || !MulDiv(in m.Price, s0, s1, out ulong q0, out ulong q1, out ulong rem)) return false;
        // notional = ceil = q + (rem != 0); value = long ? q : −notional
        ulong rnz = rem != 0 ? 1UL : 0UL;
        ulong n0 = q0 + rnz;
        ulong n1 = q1 + (n0 < rnz ? 1UL : 0UL);
        ulong up = rnz & neg;
        q0 += up;
        q1 += q0 < up ? 1UL : 0UL;
        CondNeg(ref q0, ref q1, neg);
        Sub2(ref q0, ref q1, on0, on1);
        // requirements: ceil(notional·fraction/WAD) + minPositionMargin
        if (!MulDivFixed(in m.Mmf, n0, n1, out ulong a0, out ulong a1, out rem)) return false;
        Add2(ref a0, ref a1, m.Min0, m.Min1);
        Add2(ref s.M0, ref s.M1, a0 + (rem != 0 ? 1UL : 0UL), a1 + (a0 + (rem != 0 ? 1UL : 0UL) < a0 ? 1UL : 0UL));
        if (!MulDivFixed(in m.Imf, n0, n1, out a0, out a1, out rem)) return false;
        Add2(ref a0, ref a1, m.Min0, m.Min1);
        Add2(ref s.N0, ref s.N1, a0 + (rem != 0 ? 1UL : 0UL), a1 + (a0 + (rem != 0 ? 1UL : 0UL) < a0 ? 1UL : 0UL));
        // funding owed = floor(size·index/WAD) − floor(size·snapshot/WAD) + (index remainder > snapshot remainder)
        if (!MulDiv(in m.Index, s0, s1, out ulong i0, out ulong i1, out rem)) return false;
        // signed floor of size·index/WAD: for a negative product −(Q·WAD + R) = (−Q − 1)·WAD + (WAD − R) when R > 0
        ulong sgn = neg ^ m.INeg;
        ulong rmask = 0UL - (rem != 0 ? 1UL : 0UL);
        ulong inc = sgn & ~rmask & 1UL;
        i0 ^= sgn;
        i1 ^= sgn;
        i0 += inc;
        i1 += i0 < inc ? 1UL : 0UL;
        rem ^= (rem ^ (W - rem)) & sgn & rmask;
        Sub2(ref i0, ref i1, sq0, sq1);
        ulong carry = rem > sr ? 1UL : 0UL;
        i0 += carry;
        i1 += i0 < carry ? 1UL : 0UL;
        Sub2(ref q0, ref q1, i0, i1);
        Add2(ref s.E0, ref s.E1, q0, q1);
        Add2(ref s.J0, ref s.J1, q0, q1);
        return true;
    }

    /// <summary>
    /// Status and margin ratio from fast-path sums (|equity| &lt; 2^127, 0 ≤ margins &lt; 2^127), identical to
    /// <see cref="Health.Status"/> and <see cref="Health.MarginRatio"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static AccountStatus Classify(in HealthSums s, out long ratio)
    {
        Int128 eq = new(s.E1, s.E0), ieq = new(s.J1, s.J0);
        Int128 mm = new(s.M1, s.M0), im = new(s.N1, s.N0);
        AccountStatus st;
        if (eq < Int128.Zero) st = AccountStatus.Insolvent;
        else if (eq < mm) st = eq == Int128.Zero || (eq << 1) < mm ? AccountStatus.Deep : AccountStatus.Liquidatable;
        else st = ieq < im ? AccountStatus.Restricted : AccountStatus.Healthy;
        ratio = Ratio(s.E0, s.E1, s.M0, s.M1);
        return st;
    }

    private const ulong RatioScale = (ulong)Health.RatioScale;
    private const double Two64 = 18446744073709551616.0;

    /// <summary>
    /// floor(equity·1e9/MM) (ceil toward −∞ for negative equity, i.e. −ceil(|equity|·1e9/MM)), clamped to ±long.MaxValue,
    /// exactly as <see cref="Health.MarginRatio"/>. A double-precision estimate of the quotient (relative error
    /// below 2^-49), corrected with an exact 192-bit remainder and a second estimate, then by at most one step, so no
    /// 128-bit division is needed.
    /// </summary>
    internal static long Ratio(ulong e0, ulong e1, ulong m0, ulong m1)
    {
        ulong negMask = (ulong)((long)e1 >> 63);
        if ((m0 | m1) == 0) return negMask != 0 ? -long.MaxValue : long.MaxValue;
        CondNeg(ref e0, ref e1, negMask);
        // num = |equity|·1e9 (< 2^157)
        ulong h0 = MulHi(e0, RatioScale), n0 = e0 * RatioScale;
        ulong h1 = MulHi(e1, RatioScale), l1 = e1 * RatioScale;
        ulong n1 = h0 + l1;
        ulong n2 = h1 + (n1 < l1 ? 1UL : 0UL);
        // num ≥ MM·2^63 ⇔ floor ≥ 2^63: clamped either way
        ulong c2 = m1 >> 1, c1 = (m1 << 63) | (m0 >> 1), c0 = m0 << 63;
        if (n2 > c2 || (n2 == c2 && (n1 > c1 || (n1 == c1 && n0 >= c0)))) return negMask != 0 ? -long.MaxValue : long.MaxValue;
        // q = floor(num/MM) < 2^63. Estimate (relative error < 2^-50, so |q − q0| ≤ 2^13 + 1), then correct.
        double inv = 1.0 / (m1 * Two64 + m0);
        double dn = (n2 * Two64 + n1) * Two64 + n0;
        double qd = dn * inv;
        ulong q = qd >= 9223372036854775807.0 ? long.MaxValue : (ulong)qd;
        // r = num − q·MM (signed, |r| ≤ (2^13 + 2)·MM)
        MulSub(n0, n1, n2, q, m0, m1, out ulong r0, out ulong r1, out ulong r2);
        if ((long)r2 < 0 || r2 != 0 || r1 > m1 || (r1 == m1 && r0 >= m0))
        {
            // r outside [0, MM): second estimate of r/MM (|r/MM| ≤ 2^14, error < 2^-35), its floor is off by at most one
            ulong rneg = (ulong)((long)r2 >> 63);
            ulong a0 = r0, a1 = r1, a2 = r2;
            CondNeg3(ref a0, ref a1, ref a2, rneg);
            double dr = (a2 * Two64 + a1) * Two64 + a0;
            double delta = Math.Floor((rneg != 0 ? -dr : dr) * inv);
            long q1 = (long)q + (long)delta;
            q = q1 < 0 ? 0UL : (ulong)q1; // q ≥ 0, and q1 ≥ q − 1
            MulSub(n0, n1, n2, q, m0, m1, out r0, out r1, out r2);
            if ((long)r2 < 0)
            {
                q--;
                Add3(ref r0, ref r1, ref r2, m0, m1);
            }
            else if (r2 != 0 || r1 > m1 || (r1 == m1 && r0 >= m0))
            {
                q++;
                Sub3(ref r0, ref r1, ref r2, m0, m1);
            }
        }
        if (negMask == 0) return q > long.MaxValue ? long.MaxValue : (long)q;
        ulong upq = q + ((r0 | r1 | r2) != 0 ? 1UL : 0UL);
        return upq > long.MaxValue ? -long.MaxValue : -(long)upq;
    }

    /// <summary>r = n − q·m (192-bit, wrapping).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MulSub(ulong n0, ulong n1, ulong n2, ulong q, ulong m0, ulong m1, out ulong r0, out ulong r1, out ulong r2)
    {
        ulong h0 = MulHi(q, m0), p0 = q * m0;
        ulong h1 = MulHi(q, m1), l1 = q * m1;
        ulong p1 = h0 + l1;
        ulong p2 = h1 + (p1 < l1 ? 1UL : 0UL);
        r0 = n0 - p0;
        ulong b = n0 < p0 ? 1UL : 0UL;
        ulong t = n1 - p1;
        ulong b2 = n1 < p1 ? 1UL : 0UL;
        r1 = t - b;
        b2 |= t < b ? 1UL : 0UL;
        r2 = n2 - p2 - b2;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CondNeg3(ref ulong x0, ref ulong x1, ref ulong x2, ulong mask)
    {
        ulong c0 = (x0 == 0 ? 1UL : 0UL) & mask;
        ulong c1 = c0 & (x1 == 0 ? 1UL : 0UL);
        x0 = (x0 ^ mask) - mask;
        x1 = (x1 ^ mask) + c0;
        x2 = (x2 ^ mask) + c1;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add3(ref ulong r0, ref ulong r1, ref ulong r2, ulong m0, ulong m1)
    {
        ulong s0 = r0 + m0;
        ulong c = s0 < m0 ? 1UL : 0UL;
        ulong s1 = r1 + m1;
        ulong c2 = s1 < m1 ? 1UL : 0UL;
        ulong s1c = s1 + c;
        c2 += s1c < c ? 1UL : 0UL;
        r0 = s0;
        r1 = s1c;
        r2 += c2;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Sub3(ref ulong r0, ref ulong r1, ref ulong r2, ulong m0, ulong m1)
    {
        ulong b = r0 < m0 ? 1UL : 0UL;
        r0 -= m0;
        ulong t = r1 - m1;
        ulong b2 = r1 < m1 ? 1UL : 0UL;
        b2 |= t < b ? 1UL : 0UL;
        r1 = t - b;
        r2 -= b2;
    }
}
