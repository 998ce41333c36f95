using System.Runtime.CompilerServices;
using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Risk;

/// <summary>One account that a price shock makes liquidatable.</summary>
public readonly record struct ShockHit(int AccountId, Health Health, UInt256 Shortfall);

/// <summary>
/// Incremental risk engine over many accounts (ids 0..capacity-1).
/// <para>Layout: struct-of-arrays with a fixed number of collateral and position slots per account
/// (<c>maxCollaterals</c>, <c>maxPositions</c>), all values as 128-bit integers. An account whose state does
/// not fit (more entries, or a value outside the 128-bit range) is kept as an <see cref="AccountState"/> and
/// computed on the 256-bit path.</para>
/// <para>Exactness: the 128-bit path computes the same integers as <see cref="Margin.ComputeHealth"/>. It only
/// answers when every intermediate fits (product &lt; WAD·2^128, sums inside Int128/UInt128); anything else
/// falls back to the exact 256-bit path for that account, which also reports a contract revert as
/// <see cref="AccountStatus.Reverts"/>. Inputs bounded by 2^127 with realistic magnitudes (sizes, balances and
/// notionals below ~1e38 wei) never leave the fast path.</para>
/// <para>Per tick, everything that depends only on the price (price, funding index with pending accrual, the
/// market's fractions) is computed once per market/asset; an account is then a pass over its own slots.</para>
/// </summary>
public sealed class RiskBook
{
    private readonly RiskConfig _cfg;
    private readonly int _c, _p;
    private int _capacity;

    // account data
    private bool[] _present;
    private bool[] _wide;
    private AccountState?[] _wideState;
    private Int128[] _cash;
    private byte[] _collCount, _posCount;
    private byte[] _collAsset, _posMarket;
    private UInt128[] _collBal;
    private Int128[] _posSize, _posOn, _posSnap;
    private UInt128[] _exposure; // bit per price slot

    // results
    private Health[] _health;
    private long[] _ratio;
    private AccountStatus[] _status;

    // reverse index: slot -> members
    private readonly int[][] _members;
    private readonly int[] _memberCount;
    private int[][] _memberPos;

    private readonly IndexedMinHeap _heap;
    private long _exactCount;

    /// <summary>How many account evaluations took the 256-bit path since the book was created.</summary>
    public long ExactPathCount => Interlocked.Read(ref _exactCount);

    // tick state
    private readonly UInt256[] _prices;
    private readonly FundingState[] _funding;
    private ulong _timestamp;
    private RiskContext? _ctx;
    private readonly AssetTick[] _assetTick;
    private readonly MarketTick[] _marketTick;

    private struct AssetTick
    {
        public UInt128 Price;
        public ulong MaintenanceWeight, InitialWeight;
        public bool Fast;
    }

    private struct MarketTick
    {
        public UInt128 Price;
        public Int128 Index;
        public ulong Mmf, Imf;
        public UInt128 MinMargin;
        public bool Fast;
    }

    /// <summary>Creates a book.</summary>
    public RiskBook(RiskConfig config, int capacity, int maxCollaterals = 4, int maxPositions = 8)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        if (maxCollaterals is < 0 or > 64 || maxPositions is < 0 or > 64) throw new ArgumentOutOfRangeException(nameof(maxPositions));
        _cfg = config;
        _c = maxCollaterals;
        _p = maxPositions;
        _present = [];
        _wide = [];
        _wideState = [];
        _cash = [];
        _collCount = _posCount = _collAsset = _posMarket = [];
        _collBal = [];
        _posSize = _posOn = _posSnap = [];
        _exposure = [];
        _health = [];
        _ratio = [];
        _status = [];
        _memberPos = new int[config.PriceSlotCount][];
        _members = new int[config.PriceSlotCount][];
        _memberCount = new int[config.PriceSlotCount];
        for (int s = 0; s < config.PriceSlotCount; s++)
        {
            _members[s] = new int[16];
            _memberPos[s] = [];
        }
        _heap = new IndexedMinHeap(0);
        _prices = new UInt256[config.PriceSlotCount];
        _funding = new FundingState[config.MarketCount];
        _assetTick = new AssetTick[config.AssetCount];
        _marketTick = new MarketTick[config.MarketCount];
        Grow(Math.Max(capacity, 1));
    }

    /// <summary>The configuration.</summary>
    public RiskConfig Config => _cfg;

    /// <summary>The current context (prices, funding, timestamp), or null before <see cref="SetMarketState"/>.</summary>
    public RiskContext? Context => _ctx;

    /// <summary>Number of account ids the arrays hold.</summary>
    public int Capacity => _capacity;

    /// <summary>The heap ordered by <see cref="Health.MarginRatio"/> (most at risk first).</summary>
    public IndexedMinHeap ByRatio => _heap;

    private void Grow(int capacity)
    {
        if (capacity <= _capacity) return;
        int n = Math.Max(capacity, _capacity * 2);
        Array.Resize(ref _present, n);
        Array.Resize(ref _wide, n);
        Array.Resize(ref _wideState, n);
        Array.Resize(ref _cash, n);
        Array.Resize(ref _collCount, n);
        Array.Resize(ref _posCount, n);
        Array.Resize(ref _collAsset, n * _c);
        Array.Resize(ref _collBal, n * _c);
        Array.Resize(ref _posMarket, n * _p);
        Array.Resize(ref _posSize, n * _p);
        Array.Resize(ref _posOn, n * _p);
        Array.Resize(ref _posSnap, n * _p);
        Array.Resize(ref _exposure, n);
        Array.Resize(ref _health, n);
        Array.Resize(ref _ratio, n);
        Array.Resize(ref _status, n);
        for (int s = 0; s < _memberPos.Length; s++)
        {
            int old = _memberPos[s].Length;
            Array.Resize(ref _memberPos[s], n);
            Array.Fill(_memberPos[s], -1, old, n - old);
        }
        _heap.EnsureCapacity(n);
        _capacity = n;
    }

    // ------------------------------------------------------------------ market state

    /// <summary>Sets all prices (WAD per slot, 0 = unavailable), funding states and the timestamp, then sweeps.</summary>
    public void SetMarketState(ReadOnlySpan<UInt256> prices, ReadOnlySpan<FundingState> funding, ulong timestamp, bool parallel = false)
    {
        if (prices.Length != _prices.Length || funding.Length != _funding.Length) throw new ArgumentException("size mismatch");
        prices.CopyTo(_prices);
        funding.CopyTo(_funding);
        _timestamp = timestamp;
        RebuildTicks();
        if (parallel) SweepParallel();
        else Sweep();
    }

    /// <summary>One oracle price changed: recomputes only the accounts exposed to that slot.</summary>
    public int UpdatePrice(int slot, UInt256 price)
    {
        _prices[slot] = price;
        RebuildTicks();
        return RecomputeSlot(slot);
    }

    /// <summary>A market's stored funding state changed (accrual or new rate): recomputes that market's exposed accounts.</summary>
    public int UpdateFunding(int marketId, FundingState funding)
    {
        _funding[marketId] = funding;
        RebuildTicks();
        return RecomputeSlot(_cfg.Markets[marketId].PriceSlot);
    }

    private int RecomputeSlot(int slot)
    {
        int n = _memberCount[slot];
        int[] members = _members[slot];
        for (int i = 0; i < n; i++) Recompute(members[i], updateHeap: true);
        return n;
    }

    private void RebuildTicks()
    {
        _ctx = new RiskContext(_cfg, _funding, _prices, _timestamp);
        FillTicks(_ctx, _assetTick, _marketTick);
    }

    private void FillTicks(RiskContext ctx, AssetTick[] at, MarketTick[] mt)
    {
        ReadOnlySpan<UInt256> prices = ctx.Prices;
        for (int i = 1; i < _cfg.AssetCount; i++)
        {
            AssetParams a = _cfg.Assets[i];
            UInt256 p = prices[a.PriceSlot];
            at[i] = new AssetTick
            {
                Price = (UInt128)p,
                MaintenanceWeight = a.MaintenanceWeight,
                InitialWeight = a.InitialWeight,
                Fast = !p.IsZero && (p.u2 | p.u3) == 0,
            };
        }
        for (int m = 0; m < _cfg.MarketCount; m++)
        {
            MarketParams k = _cfg.Markets[m];
            UInt256 p = prices[k.PriceSlot];
            bool fast = !p.IsZero && (p.u2 | p.u3) == 0 && ctx.IndexAvailable(m);
            Int128 idx = default;
            if (fast)
            {
                Int256 i256 = ctx.Index(m);
                fast = FitsInt128(i256);
                idx = (Int128)i256;
            }
            mt[m] = new MarketTick
            {
                Price = (UInt128)p,
                Index = idx,
                Mmf = k.MaintenanceMarginFraction,
                Imf = k.InitialMarginFraction,
                MinMargin = k.MinPositionMargin,
                Fast = fast,
            };
        }
    }

    // ------------------------------------------------------------------ accounts

    /// <summary>Adds or replaces an account and recomputes it (if market state is set).</summary>
    public void SetAccount(int id, AccountState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentOutOfRangeException.ThrowIfNegative(id);
        Grow(id + 1);
        _present[id] = true;
        bool fits = StoreFast(id, state);
        _wide[id] = !fits;
        _wideState[id] = fits ? null : state.Clone();
        UInt128 exposure = ExposureOf(state);
        SetExposure(id, exposure);
        if (_ctx is not null) Recompute(id, updateHeap: true);
    }

    /// <summary>Removes an account.</summary>
    public void RemoveAccount(int id)
    {
        if (id >= _capacity || !_present[id]) return;
        _present[id] = false;
        _wideState[id] = null;
        SetExposure(id, UInt128.Zero);
        _heap.Remove(id);
    }

    /// <summary>True when the id holds an account.</summary>
    public bool Contains(int id) => id < _capacity && _present[id];

    /// <summary>Reconstructs an account's state.</summary>
    public AccountState GetAccount(int id)
    {
        if (!Contains(id)) throw new KeyNotFoundException($"account {id}");
        if (_wide[id]) return _wideState[id]!.Clone();
        var s = new AccountState(_cfg) { Cash = (Int256)_cash[id] };
        int cb = id * _c, pb = id * _p;
        for (int j = 0; j < _collCount[id]; j++) s.Collateral[_collAsset[cb + j]] = _collBal[cb + j];
        for (int j = 0; j < _posCount[id]; j++)
        {
            s.Positions[_posMarket[pb + j]] = new Position((Int256)_posSize[pb + j], (Int256)_posOn[pb + j], (Int256)_posSnap[pb + j]);
        }
        return s;
    }

    /// <summary>The last computed health of an account.</summary>
    public Health HealthOf(int id) => _health[id];

    /// <summary>The last computed status of an account.</summary>
    public AccountStatus StatusOf(int id) => _status[id];

    /// <summary>The last computed margin ratio (see <see cref="Health.MarginRatio"/>).</summary>
    public long RatioOf(int id) => _ratio[id];

    /// <summary>Number of accounts exposed to a price slot.</summary>
    public int ExposedCount(int slot) => _memberCount[slot];

    /// <summary>The accounts exposed to a price slot (by collateral or position).</summary>
    public ReadOnlySpan<int> ExposedTo(int slot) => _members[slot].AsSpan(0, _memberCount[slot]);

    /// <summary>All liquidatable accounts (ratio &lt; 1e9, or the contract view reverts), unordered.</summary>
    public int Liquidatable(List<int> output) => _heap.Below(Health.RatioScale, output);

    private bool StoreFast(int id, AccountState s)
    {
        if (!FitsInt128(s.Cash)) return false;
        int cb = id * _c, pb = id * _p;
        int nc = 0, np = 0;
        for (int i = 1; i < s.Collateral.Length; i++)
        {
            UInt256 b = s.Collateral[i];
            if (b.IsZero) continue;
            if (nc == _c || (b.u2 | b.u3) != 0) return false;
            _collAsset[cb + nc] = (byte)i;
            _collBal[cb + nc] = (UInt128)b;
            nc++;
        }
        for (int m = 0; m < s.Positions.Length; m++)
        {
            Position p = s.Positions[m];
            if (p.Size.IsZero) continue;
            if (np == _p || !FitsInt128(p.Size) || !FitsInt128(p.OpenNotional) || !FitsInt128(p.FundingSnapshot)) return false;
            _posMarket[pb + np] = (byte)m;
            _posSize[pb + np] = (Int128)p.Size;
            _posOn[pb + np] = (Int128)p.OpenNotional;
            _posSnap[pb + np] = (Int128)p.FundingSnapshot;
            np++;
        }
        _cash[id] = (Int128)s.Cash;
        _collCount[id] = (byte)nc;
        _posCount[id] = (byte)np;
        return true;
    }

    private UInt128 ExposureOf(AccountState s)
    {
        UInt128 e = UInt128.Zero;
        for (int i = 1; i < s.Collateral.Length; i++) if (!s.Collateral[i].IsZero) e |= UInt128.One << _cfg.Assets[i].PriceSlot;
        for (int m = 0; m < s.Positions.Length; m++) if (s.Positions[m].IsOpen) e |= UInt128.One << _cfg.Markets[m].PriceSlot;
        return e;
    }

    private void SetExposure(int id, UInt128 exposure)
    {
        UInt128 old = _exposure[id];
        UInt128 changed = old ^ exposure;
        while (changed != UInt128.Zero)
        {
            int s = (int)UInt128.TrailingZeroCount(changed);
            changed &= changed - UInt128.One;
            if ((exposure >> s & UInt128.One) != UInt128.Zero) AddMember(s, id);
            else RemoveMember(s, id);
        }
        _exposure[id] = exposure;
    }

    private void AddMember(int slot, int id)
    {
        int n = _memberCount[slot];
        if (n == _members[slot].Length) Array.Resize(ref _members[slot], n * 2);
        _members[slot][n] = id;
        _memberPos[slot][id] = n;
        _memberCount[slot] = n + 1;
    }

    private void RemoveMember(int slot, int id)
    {
        int i = _memberPos[slot][id];
        int last = _members[slot][--_memberCount[slot]];
        _members[slot][i] = last;
        _memberPos[slot][last] = i;
        _memberPos[slot][id] = -1;
    }

    // ------------------------------------------------------------------ sweeps

    /// <summary>Recomputes every account on this thread and rebuilds the ratio order. Allocation-free.</summary>
    public void Sweep()
    {
        ComputeRange(0, _capacity, _assetTick, _marketTick);
        _heap.Rebuild(_ratio.AsSpan(0, _capacity), _present.AsSpan(0, _capacity));
    }

    /// <summary>Recomputes every account with Parallel.For over contiguous partitions, then rebuilds the order.</summary>
    public void SweepParallel(int partitions = 0)
    {
        int parts = partitions > 0 ? partitions : Environment.ProcessorCount * 4;
        int n = _capacity;
        int chunk = (n + parts - 1) / parts;
        Parallel.For(0, parts, k =>
        {
            int from = k * chunk;
            int to = Math.Min(n, from + chunk);
            if (from < to) ComputeRange(from, to, _assetTick, _marketTick);
        });
        _heap.Rebuild(_ratio.AsSpan(0, _capacity), _present.AsSpan(0, _capacity));
    }

    private void ComputeRange(int from, int to, AssetTick[] at, MarketTick[] mt)
    {
        for (int id = from; id < to; id++)
        {
            if (!_present[id]) continue;
            Health h;
            AccountStatus st;
            long ratio;
            if (_wide[id] || !TryFast(id, at, mt, out h, out st, out ratio))
            {
                Interlocked.Increment(ref _exactCount);
                st = Exact(id, _ctx!, out h);
                ratio = st == AccountStatus.Reverts ? long.MinValue : h.MarginRatio;
            }
            else if (st == AccountStatus.Reverts)
            {
                st = h.Status;
                ratio = h.MarginRatio;
            }
            _health[id] = h;
            _status[id] = st;
            _ratio[id] = ratio;
        }
    }

    private void Recompute(int id, bool updateHeap)
    {
        ComputeRange(id, id + 1, _assetTick, _marketTick);
        if (updateHeap) _heap.Set(id, _ratio[id]);
    }

    private AccountStatus Exact(int id, RiskContext ctx, out Health h)
    {
        AccountState s = _wide[id] ? _wideState[id]! : GetAccount(id);
        try
        {
            h = Margin.ComputeHealth(ctx, s);
            return h.Status;
        }
        catch (ArithmeticException)
        {
            h = default;
            return AccountStatus.Reverts;
        }
        catch (PriceUnavailableException)
        {
            h = default;
            return AccountStatus.Reverts;
        }
    }

    private bool TryFast(int id, AssetTick[] at, MarketTick[] mt, out Health h, out AccountStatus status, out long ratio)
    {
        h = default;
        status = AccountStatus.Reverts;
        ratio = long.MinValue;
        Int128 eq = _cash[id], ieq = eq;
        UInt128 im = UInt128.Zero, mm = UInt128.Zero;
        int cb = id * _c;
        int nc = _collCount[id];
        for (int j = 0; j < nc; j++)
        {
            if (!CollateralTerm(in at[_collAsset[cb + j]], _collBal[cb + j], ref eq, ref ieq)) return false;
        }
        int pb = id * _p;
        int np = _posCount[id];
        for (int j = 0; j < np; j++)
        {
            if (!PositionTerm(in mt[_posMarket[pb + j]], _posSize[pb + j], _posOn[pb + j], _posSnap[pb + j], ref eq, ref ieq, ref mm, ref im)) return false;
        }
        h = new Health((Int256)eq, (Int256)ieq, (UInt256)im, (UInt256)mm);
        if (mm > Int128MaxU || im > Int128MaxU) return true; // status from the 256-bit values
        Int128 mmS = (Int128)mm;
        if (eq < 0) status = AccountStatus.Insolvent;
        else if (eq < mmS) status = eq == 0 || (UInt128)eq * 2 < mm ? AccountStatus.Deep : AccountStatus.Liquidatable;
        else status = ieq < (Int128)im ? AccountStatus.Restricted : AccountStatus.Healthy;
        UInt128 mag = (UInt128)(eq < 0 ? -eq : eq); // eq > Int128.MinValue: Add/Sub reject the wrap
        if (mm == UInt128.Zero)
        {
            ratio = eq < 0 ? -long.MaxValue : long.MaxValue;
        }
        else if (FastWad.Hi(mag) < (1UL << 34))
        {
            // mag < 2^98, so mag·1e9 < 2^128
            UInt128 num = mag * (UInt128)(ulong)Health.RatioScale;
            UInt128 qr = UInt128.DivRem(num, mm).Quotient;
            bool exact = qr * mm == num;
            if (eq >= 0) ratio = qr > (UInt128)(ulong)long.MaxValue ? long.MaxValue : (long)(ulong)qr;
            else
            {
                UInt128 up = exact ? qr : qr + 1;
                ratio = up > (UInt128)(ulong)long.MaxValue ? -long.MaxValue : -(long)(ulong)up;
            }
        }
        else
        {
            ratio = h.MarginRatio;
        }
        return true;
    }

    /// <summary>One collateral entry (own method: keeps the JIT's inlining budget for the arithmetic).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool CollateralTerm(in AssetTick a, UInt128 bal, ref Int128 eq, ref Int128 ieq)
    {
        if (!a.Fast) return false;
        if (!FastWad.TryMulDiv(bal, a.Price, out UInt128 raw, out _)) return false;
        return FastWad.TryMulDiv64(raw, a.MaintenanceWeight, out UInt128 mv, out _)
            && FastWad.TryMulDiv64(raw, a.InitialWeight, out UInt128 iv, out _)
            && AddU(ref eq, mv) && AddU(ref ieq, iv);
    }

    /// <summary>One position: pnl (value − open notional − funding owed) and the two requirements.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool PositionTerm(in MarketTick m, Int128 size, Int128 openNotional, Int128 snap, ref Int128 eq, ref Int128 ieq, ref UInt128 mm, ref UInt128 im)
    {
        if (!m.Fast) return false;
        bool neg = size < 0;
        if (size == Int128MinS) return false;
        UInt128 abs = (UInt128)(neg ? -size : size);
        if (!FastWad.TryMulDiv(abs, m.Price, out UInt128 q, out bool inexact)) return false;
        UInt128 notional = inexact ? q + 1 : q;
        if (notional == UInt128.Zero && inexact) return false; // wrapped
        // value = floor(size*p/WAD): +q for longs, -ceil for shorts
        if (notional > Int128MaxU) return false;
        Int128 value = neg ? -(Int128)notional : (Int128)q;
        if (!Sub(value, openNotional, out Int128 pnl)) return false;
        if (m.Index != snap && !SubFunding(m.Index, snap, abs, neg, ref pnl)) return false;
        if (!Add(ref eq, pnl) || !Add(ref ieq, pnl)) return false;
        if (!FastWad.TryMulDiv64(notional, m.Mmf, out UInt128 mq, out bool mi)) return false;
        if (!FastWad.TryMulDiv64(notional, m.Imf, out UInt128 iq, out bool ii)) return false;
        return AddU(ref mm, mq, mi, m.MinMargin) && AddU(ref im, iq, ii, m.MinMargin);
    }

    /// <summary>pnl −= ceil(size·(index − snap)/WAD).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool SubFunding(Int128 index, Int128 snap, UInt128 abs, bool neg, ref Int128 pnl)
    {
        if (!Sub(index, snap, out Int128 delta) || delta == Int128MinS) return false;
        bool dneg = delta < 0;
        UInt128 absD = (UInt128)(dneg ? -delta : delta);
        if (!FastWad.TryMulDiv(abs, absD, out UInt128 fq, out bool finexact)) return false;
        Int128 owed;
        if (neg == dneg)
        {
            UInt128 up = finexact ? fq + 1 : fq;
            if (up > Int128MaxU) return false;
            owed = (Int128)up;
        }
        else
        {
            if (fq > Int128MaxU) return false;
            owed = -(Int128)fq;
        }
        return Sub(pnl, owed, out pnl);
    }

    private static readonly Int128 Int128MinS = new(1UL << 63, 0);
    private static readonly UInt128 Int128MaxU = new(long.MaxValue, ulong.MaxValue);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool AddU(ref Int128 acc, UInt128 v)
    {
        if (v > Int128MaxU) return false;
        return Add(ref acc, (Int128)v);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Add(ref Int128 acc, Int128 v)
    {
        Int128 r = acc + v;
        if (((acc ^ r) & (v ^ r)) < 0) return false;
        acc = r;
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Sub(Int128 a, Int128 b, out Int128 r)
    {
        r = a - b;
        return ((a ^ b) & (a ^ r)) >= 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool AddU(ref UInt128 acc, UInt128 q, bool roundUp, UInt128 min)
    {
        UInt128 t = q + (roundUp ? UInt128.One : UInt128.Zero);
        if (t < q) return false;
        UInt128 u = t + min;
        if (u < t) return false;
        UInt128 r = acc + u;
        if (r < acc) return false;
        acc = r;
        return true;
    }

    internal static bool FitsInt128(Int256 x)
    {
        ulong s = (long)x.u1 < 0 ? ulong.MaxValue : 0UL;
        return x.u2 == s && x.u3 == s;
    }

    // ------------------------------------------------------------------ what-if

    /// <summary>
    /// Applies relative price shocks (per slot, integer basis points, p' = max(1, floor(p·(10000+bps)/10000)), bps &gt; −10000)
    /// without changing the book, recomputes the exposed accounts (funding indices re-valued at the shocked
    /// prices, as the contract would) and returns those that are liquidatable after the shock but were not
    /// before, with their shortfall MM − equity. Accounts whose health would revert are not listed.
    /// </summary>
    public List<ShockHit> Shock(ReadOnlySpan<(int Slot, int Bps)> shocks)
    {
        if (_ctx is null) throw new InvalidOperationException("market state not set");
        UInt256[] prices = (UInt256[])_prices.Clone();
        UInt128 touched = UInt128.Zero;
        foreach ((int slot, int bps) in shocks)
        {
            if (bps <= -10_000) throw new ArgumentOutOfRangeException(nameof(shocks), "bps must be > -10000");
            prices[slot] = UInt256.MulDiv(prices[slot], new UInt256((ulong)(10_000L + bps)), new UInt256(10_000UL));
            if (prices[slot].IsZero && !_prices[slot].IsZero) prices[slot] = UInt256.One; // an oracle never reports 0
            touched |= UInt128.One << slot;
        }
        var ctx = new RiskContext(_cfg, _funding, prices, _timestamp);
        var at = new AssetTick[_cfg.AssetCount];
        var mt = new MarketTick[_cfg.MarketCount];
        FillTicks(ctx, at, mt);
        var hits = new List<ShockHit>();
        var seen = new HashSet<int>();
        foreach ((int slot, _) in shocks)
        {
            ReadOnlySpan<int> members = ExposedTo(slot);
            foreach (int id in members)
            {
                if (!seen.Add(id) || _status[id] >= AccountStatus.Liquidatable) continue;
                Health h;
                AccountStatus st = _wide[id] || !TryFast(id, at, mt, out h, out _, out _) ? Exact(id, ctx, out h) : h.Status;
                if (st is >= AccountStatus.Liquidatable and < AccountStatus.Reverts) hits.Add(new ShockHit(id, h, h.MaintenanceShortfall));
            }
        }
        return hits;
    }

    /// <summary>Isolated versus cross margin need of an account at the current state (see <see cref="Margin.IsolatedVersusCross"/>).</summary>
    public (UInt256 Isolated, UInt256 Cross) IsolatedVersusCross(int id)
    {
        if (_ctx is null) throw new InvalidOperationException("market state not set");
        return Margin.IsolatedVersusCross(_ctx, GetAccount(id));
    }
}
