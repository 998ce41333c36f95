using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Risk;

/// <summary>One account that a price shock makes liquidatable.</summary>
public readonly record struct ShockHit(int AccountId, Health Health, UInt256 Shortfall);

/// <summary>
/// Incremental risk engine over many accounts (ids 0..capacity-1).
/// <para>Layout: struct-of-arrays in groups of 8 ids. Each field of an account (a 64-bit limb of the cash, of a
/// collateral balance, of a position's |size|, open notional or snapshot term) is one lane of a 64-byte row shared
/// by the 8 accounts of its group; a fixed number of collateral slots (<c>maxCollaterals</c>) and position slots
/// (<c>maxPositions</c>) per account, with byte rows for entry counts, asset and market ids and the sign of each
/// size. Results are kept the same way (equity, initial equity, maintenance and initial margin as limbs), with status
/// and margin ratio per id. An account that does not fit (more entries, or a value outside the fast-path bounds) is
/// kept as an <see cref="AccountState"/> and computed on the 256-bit path.</para>
/// <para>Exactness: the fast paths compute the same integers as <see cref="Margin.ComputeHealth"/> without a
/// division (<c>RiskKernel</c> on 64-bit limbs, <c>RiskVector</c> for 8 accounts at a time with AVX-512). They answer
/// only inside bounds that are checked, never assumed; anything else falls back, per account, to the scalar kernel and
/// then to the exact 256-bit path, which also reports a contract revert as <see cref="AccountStatus.Reverts"/>.</para>
/// <para>Per tick, everything that depends only on the price (price and |funding index| factors, the margin fractions'
/// factors) is prepared once per market/asset; an account is then a pass over its own slots. A price, funding or
/// timestamp change recomputes only the terms of the markets and assets it changed (the same term at the previous
/// tick is subtracted), for the accounts exposed to them. Nothing is allocated per sweep or per tick; the
/// <see cref="Context"/> is built on demand.</para>
/// </summary>
public sealed class RiskBook
{
    private enum ResultKind : byte
    {
        None = 0,
        Fast = 1,
        Exact = 2,
        Reverts = 3,
    }

    private readonly RiskConfig _cfg;
    private readonly int _c, _p;
    private readonly int _rows, _mrows; // data rows (limbs) and meta rows (bytes) per account
    private readonly int _posRow; // first position row

    /// <summary>Accounts per group: each row of a group holds one field of 8 consecutive ids (64 bytes).</summary>
    internal const int Lanes = 8;

    /// <summary>Rows per position slot: |size| (2), open notional (2), floor(size·snapshot/WAD) (2) and its remainder (1).</summary>
    internal const int PosRows = 7;
    private int _capacity;

    // account data
    private bool[] _present;
    private bool[] _wide;
    private AccountState?[] _wideState;
    // Per group of 8 ids, row-major, 8 lanes per row. Data rows: cash (2), collateral balances (2 each), positions
    // (PosRows each, see StoreFast). Meta rows: collateral count, position count, asset ids, market ids (bit 7 = short).
    private ulong[] _data;
    private byte[] _meta;
    private ulong[] _snap; // per account: funding snapshot (2 limbs) per position slot (only read to rebuild the state)
    private UInt128[] _exposure; // bit per price slot

    // results
    private ulong[] _sums; // per group: 8 rows (equity, initial equity, maintenance, initial margin; 2 limbs each), valid for ResultKind.Fast
    private ResultKind[] _kind;
    private Health[]? _exactHealth; // for ResultKind.Exact, allocated on first use
    private long[] _ratio;
    private AccountStatus[] _status;

    // reverse index: slot -> members
    private readonly int[][] _members;
    private readonly int[] _memberCount;
    private int[][] _memberPos;

    private readonly IndexedMinHeap _heap;
    private long _exactCount;

    // tick state
    private readonly UInt256[] _prices;
    private readonly FundingState[] _funding;
    private ulong _timestamp;
    private bool _stateSet;
    private RiskContext? _ctx; // built on demand from the state above
    private readonly AssetTick[] _at, _atPrev;
    private readonly MarketTick[] _mt, _mtPrev;
    private VectorTables? _vt; // the current ticks for the vector kernel; null when it cannot run (hardware or configuration)
    private VectorTables? _vtPrev; // the previous ticks (swapped with _vt when a tick changes)

    // scratch for incremental updates: lanes to recompute per group, and the groups touched
    private int[] _groupLanes = [];
    private int[] _touched = [];
    private int _touchedCount;

    /// <summary>How many account evaluations took the 256-bit path since the book was created.</summary>
    public long ExactPathCount => Interlocked.Read(ref _exactCount);

    /// <summary>How many accounts the vector kernel handed back to the scalar kernel (a bound was exceeded).</summary>
    internal long VectorFallbackCount => Interlocked.Read(ref _laneFallbacks);

    private long _laneFallbacks;

    /// <summary>Creates a book.</summary>
    public RiskBook(RiskConfig config, int capacity, int maxCollaterals = 4, int maxPositions = 8)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        if (maxCollaterals is < 0 or > 64 || maxPositions is < 0 or > 64) throw new ArgumentOutOfRangeException(nameof(maxPositions));
        _cfg = config;
        _c = maxCollaterals;
        _p = maxPositions;
        _posRow = 2 + 2 * _c;
        _rows = _posRow + PosRows * _p;
        _mrows = 2 + _c + _p;
        _present = [];
        _wide = [];
        _wideState = [];
        _data = [];
        _snap = [];
        _meta = [];
        _exposure = [];
        _sums = [];
        _kind = [];
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
        _at = new AssetTick[config.AssetCount];
        _atPrev = new AssetTick[config.AssetCount];
        _mt = new MarketTick[config.MarketCount];
        _mtPrev = new MarketTick[config.MarketCount];
        if (RiskVector.IsSupported && VectorTables.Fits(config))
        {
            _vt = new VectorTables();
            _vtPrev = new VectorTables();
        }
        VectorEnabled = _vt is not null;
        Grow(Math.Max(capacity, 1));
    }

    /// <summary>
    /// A book with as many collateral and position slots as <paramref name="config"/> can fill (its non-settlement assets
    /// and its markets), at most 4 and 8: no memory goes to slots no account can use, and an account beyond the caps
    /// takes the exact path as always.
    /// </summary>
    public static RiskBook ForConfig(RiskConfig config, int capacity)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new RiskBook(config, capacity, Math.Clamp(config.AssetCount - 1, 0, 4), Math.Clamp(config.MarketCount, 0, 8));
    }

    /// <summary>Collateral slots per account on the fast path.</summary>
    public int CollateralSlots => _c;

    /// <summary>Position slots per account on the fast path.</summary>
    public int PositionSlots => _p;

    /// <summary>The configuration.</summary>
    public RiskConfig Config => _cfg;

    /// <summary>
    /// Whether full evaluations use the AVX-512 kernel (8 accounts at a time); true by default where the hardware and
    /// the configuration (at most 16 markets and 16 assets) allow it. Both kernels give identical results.
    /// </summary>
    internal bool VectorEnabled
    {
        get;
        set => field = value && _vt is not null;
    }

    /// <summary>
    /// The current context (prices, funding, timestamp), or null before <see cref="SetMarketState"/>. Built on first
    /// access after a change and immutable: a caller may keep it while the book moves on.
    /// </summary>
    public RiskContext? Context => _stateSet ? EnsureContext() : null;

    /// <summary>The timestamp the funding indices are accrued to (see <see cref="RiskContext.Timestamp"/>).</summary>
    public ulong Timestamp => _timestamp;

    /// <summary>Number of account ids the arrays hold.</summary>
    public int Capacity => _capacity;

    /// <summary>The heap ordered by <see cref="Health.MarginRatio"/> (most at risk first).</summary>
    public IndexedMinHeap ByRatio => _heap;

    private void Grow(int capacity)
    {
        if (capacity <= _capacity) return;
        // by half, not double: at 100,000 accounts one new account would otherwise reserve room for 100,000 more
        int n = (Math.Max(capacity, _capacity + (_capacity / 2)) + Lanes - 1) & ~(Lanes - 1);
        Array.Resize(ref _present, n);
        Array.Resize(ref _wide, n);
        Array.Resize(ref _wideState, n);
        Array.Resize(ref _data, n * _rows);
        Array.Resize(ref _snap, n * 2 * _p);
        Array.Resize(ref _meta, n * _mrows);
        Array.Resize(ref _exposure, n);
        Array.Resize(ref _sums, n * 8);
        Array.Resize(ref _kind, n);
        Array.Resize(ref _groupLanes, n / Lanes);
        Array.Resize(ref _touched, n / Lanes);
        if (_exactHealth is not null) Array.Resize(ref _exactHealth, n);
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
        _stateSet = true;
        _ctx = null;
        FillTicks(_prices, _funding, _timestamp, _at, _mt);
        _vt?.Fill(_at, _mt);
        if (parallel) SweepParallel();
        else Sweep();
    }

    /// <summary>One oracle price changed: recomputes only the accounts exposed to that slot. Returns how many.</summary>
    public int UpdatePrice(int slot, UInt256 price)
    {
        RequireState();
        if ((uint)slot >= (uint)_prices.Length) throw new ArgumentOutOfRangeException(nameof(slot));
        _prices[slot] = price;
        return Retick(slot, -1);
    }

    /// <summary>A market's stored funding state changed (accrual or new rate): recomputes that market's exposed accounts. Returns how many.</summary>
    public int UpdateFunding(int marketId, FundingState funding)
    {
        RequireState();
        if ((uint)marketId >= (uint)_funding.Length) throw new ArgumentOutOfRangeException(nameof(marketId));
        _funding[marketId] = funding;
        return Retick(_cfg.Markets[marketId].PriceSlot, marketId);
    }

    /// <summary>
    /// Moves the timestamp the funding indices are accrued to (the next block's) without changing prices or stored
    /// funding states. Only markets whose index changes (a non-zero rate) are recomputed, for the accounts exposed
    /// to them. Returns how many accounts were recomputed.
    /// </summary>
    public int SetTimestamp(ulong timestamp)
    {
        RequireState();
        if (timestamp == _timestamp) return 0;
        _timestamp = timestamp;
        _ctx = null;
        Array.Copy(_mt, _mtPrev, _mt.Length);
        ulong changedMarkets = 0;
        UInt128 slots = UInt128.Zero;
        for (int m = 0; m < _mt.Length; m++)
        {
            MarketParams k = _cfg.Markets[m];
            _mt[m] = MarketTick.Of(k, _funding[m], _prices[k.PriceSlot], timestamp);
            if (!_mt[m].SameAs(in _mtPrev[m]))
            {
                changedMarkets |= 1UL << m;
                slots |= UInt128.One << k.PriceSlot;
            }
        }
        if (changedMarkets == 0) return 0;
        SwapTables();
        Array.Copy(_at, _atPrev, _at.Length);
        int count = 0;
        for (int id = 0; id < _capacity; id++)
        {
            if (!_present[id] || (_exposure[id] & slots) == UInt128.Zero) continue;
            Mark(id);
            count++;
        }
        RecomputeMarked(0, changedMarkets);
        return count;
    }

    private void RequireState()
    {
        if (!_stateSet) throw new InvalidOperationException("market state not set");
    }

    /// <summary>Recomputes the ticks of one slot (or only one market on it) and the exposed accounts' changed terms.</summary>
    private int Retick(int slot, int onlyMarket)
    {
        _ctx = null;
        Array.Copy(_at, _atPrev, _at.Length);
        Array.Copy(_mt, _mtPrev, _mt.Length);
        ulong changedAssets = 0, changedMarkets = 0;
        if (onlyMarket < 0)
        {
            for (int i = 1; i < _at.Length; i++)
            {
                AssetParams a = _cfg.Assets[i];
                if (a.PriceSlot != slot) continue;
                _at[i] = AssetTick.Of(a, _prices[slot]);
                if (!_at[i].SameAs(in _atPrev[i])) changedAssets |= 1UL << i;
            }
        }
        for (int m = 0; m < _mt.Length; m++)
        {
            MarketParams k = _cfg.Markets[m];
            if (k.PriceSlot != slot || (onlyMarket >= 0 && m != onlyMarket)) continue;
            _mt[m] = MarketTick.Of(k, _funding[m], _prices[slot], _timestamp);
            if (!_mt[m].SameAs(in _mtPrev[m])) changedMarkets |= 1UL << m;
        }
        int n = _memberCount[slot];
        if ((changedAssets | changedMarkets) == 0) return n;
        SwapTables();
        int[] members = _members[slot];
        for (int i = 0; i < n; i++) Mark(members[i]);
        RecomputeMarked(changedAssets, changedMarkets);
        return n;
    }

    /// <summary>The current vector tables become the previous ones, and the current ones are refilled from the ticks.</summary>
    private void SwapTables()
    {
        if (_vt is null) return;
        (_vt, _vtPrev) = (_vtPrev, _vt);
        _vt!.Fill(_at, _mt);
    }

    private void Mark(int id)
    {
        int g = id / Lanes;
        if (_groupLanes[g] == 0) _touched[_touchedCount++] = g;
        _groupLanes[g] |= 1 << (id & (Lanes - 1));
    }

    /// <summary>
    /// Recomputes the marked accounts after a tick changed the given assets and markets: per group, the vector kernel
    /// updates the changed terms of the accounts on the fast path; the rest go through <see cref="RecomputeChanged"/>.
    /// </summary>
    private void RecomputeMarked(ulong changedAssets, ulong changedMarkets)
    {
        VectorTables? now = VectorEnabled ? _vt : null;
        for (int t = 0; t < _touchedCount; t++)
        {
            int g = _touched[t];
            int lanes = _groupLanes[g];
            _groupLanes[g] = 0;
            int baseId = g * Lanes;
            int valid = 0, ok = 0;
            if (now is not null)
            {
                for (int l = 0; l < Lanes; l++)
                {
                    int id = baseId + l;
                    if ((lanes >> l & 1) != 0 && _kind[id] == ResultKind.Fast && !_wide[id]) valid |= 1 << l;
                }
                if (valid != 0)
                {
                    ok = RiskVector.DeltaGroup(ref _data[g * _rows * Lanes], ref _meta[g * _mrows * Lanes], ref _sums[g * 8 * Lanes], _c, valid,
                        changedAssets, changedMarkets, _vtPrev!, now);
                    if (ok != valid) Interlocked.Add(ref _laneFallbacks, BitOperations.PopCount((uint)(valid & ~ok)));
                }
            }
            for (int l = 0; l < Lanes; l++)
            {
                if ((lanes >> l & 1) == 0) continue;
                int id = baseId + l;
                if ((ok >> l & 1) != 0) ClassifyFast(id);
                else if ((valid >> l & 1) != 0) Compute(id, _at, _mt); // its rows were left partly updated
                else RecomputeChanged(id, changedAssets, changedMarkets);
                _heap.Set(id, _ratio[id]);
            }
        }
        _touchedCount = 0;
    }

    private void FillTicks(ReadOnlySpan<UInt256> prices, ReadOnlySpan<FundingState> funding, ulong timestamp, AssetTick[] at, MarketTick[] mt)
    {
        for (int i = 1; i < _cfg.AssetCount; i++)
        {
            AssetParams a = _cfg.Assets[i];
            at[i] = AssetTick.Of(a, prices[a.PriceSlot]);
        }
        for (int m = 0; m < _cfg.MarketCount; m++)
        {
            MarketParams k = _cfg.Markets[m];
            mt[m] = MarketTick.Of(k, funding[m], prices[k.PriceSlot], timestamp);
        }
    }

    private RiskContext EnsureContext()
    {
        RiskContext? ctx = Volatile.Read(ref _ctx);
        if (ctx is not null) return ctx;
        ctx = new RiskContext(_cfg, _funding, _prices, _timestamp);
        return Interlocked.CompareExchange(ref _ctx, ctx, null) ?? ctx;
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
        _kind[id] = ResultKind.None;
        if (_stateSet)
        {
            Compute(id, _at, _mt);
            _heap.Set(id, _ratio[id]);
        }
    }

    /// <summary>Removes an account.</summary>
    public void RemoveAccount(int id)
    {
        if (id >= _capacity || !_present[id]) return;
        _present[id] = false;
        _wideState[id] = null;
        _kind[id] = ResultKind.None;
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
        ref ulong d = ref DataRef(id);
        ref byte meta = ref MetaRef(id);
        var s = new AccountState(_cfg) { Cash = Signed(Row(ref d, 0), Row(ref d, 1)) };
        for (int j = 0; j < Row(ref meta, 0); j++) s.Collateral[Row(ref meta, 2 + j)] = new UInt256(Row(ref d, 2 + 2 * j), Row(ref d, 3 + 2 * j), 0, 0);
        ReadOnlySpan<ulong> snap = _snap.AsSpan(id * 2 * _p, 2 * _p);
        for (int j = 0; j < Row(ref meta, 1); j++)
        {
            byte mb = Row(ref meta, 2 + _c + j);
            int r = _posRow + PosRows * j;
            Int256 abs = new(Row(ref d, r), Row(ref d, r + 1), 0, 0);
            s.Positions[mb & 0x7F] = new Position((mb & 0x80) != 0 ? -abs : abs, Signed(Row(ref d, r + 2), Row(ref d, r + 3)), Signed(snap[2 * j], snap[2 * j + 1]));
        }
        return s;
    }

    /// <summary>The first data row of an account (rows are <see cref="Lanes"/> apart).</summary>
    private ref ulong DataRef(int id) => ref _data[(id >> 3) * _rows * Lanes + (id & (Lanes - 1))];

    /// <summary>The first meta row of an account.</summary>
    private ref byte MetaRef(int id) => ref _meta[(id >> 3) * _mrows * Lanes + (id & (Lanes - 1))];

    /// <summary>The first result row of an account.</summary>
    private ref ulong SumRef(int id) => ref _sums[(id >> 3) * 8 * Lanes + (id & (Lanes - 1))];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref T Row<T>(ref T first, int row) => ref Unsafe.Add(ref first, row * Lanes);

    private static Int256 Signed(ulong lo, ulong hi)
    {
        ulong ext = (ulong)((long)hi >> 63);
        return new Int256(lo, hi, ext, ext);
    }

    /// <summary>The last computed health of an account.</summary>
    public Health HealthOf(int id) => _kind[id] switch
    {
        ResultKind.Fast => SumsOf(id).ToHealth(),
        ResultKind.Exact => _exactHealth![id],
        _ => default,
    };

    private HealthSums SumsOf(int id)
    {
        ref ulong r = ref SumRef(id);
        return new HealthSums
        {
            E0 = Row(ref r, 0), E1 = Row(ref r, 1), J0 = Row(ref r, 2), J1 = Row(ref r, 3),
            M0 = Row(ref r, 4), M1 = Row(ref r, 5), N0 = Row(ref r, 6), N1 = Row(ref r, 7),
        };
    }

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
        if (!RiskKernel.FitsSigned(s.Cash, RiskKernel.CashBits)) return false;
        ref ulong d = ref DataRef(id);
        ref byte meta = ref MetaRef(id);
        Span<ulong> snap = _snap.AsSpan(id * 2 * _p, 2 * _p);
        int nc = 0, np = 0;
        for (int i = 1; i < s.Collateral.Length; i++)
        {
            UInt256 b = s.Collateral[i];
            if (b.IsZero) continue;
            if (nc == _c || (b.u2 | b.u3) != 0) return false;
            Row(ref meta, 2 + nc) = (byte)i;
            Row(ref d, 2 + 2 * nc) = b.u0;
            Row(ref d, 3 + 2 * nc) = b.u1;
            nc++;
        }
        for (int m = 0; m < s.Positions.Length; m++)
        {
            Position p = s.Positions[m];
            if (p.Size.IsZero) continue;
            if (np == _p || !FitsInt128(p.Size) || !RiskKernel.FitsSigned(p.OpenNotional, RiskKernel.CashBits)
                || !FitsInt128(p.FundingSnapshot) || !RiskKernel.SnapshotTerm(p.Size, p.FundingSnapshot, out Int128 sq, out ulong sr)) return false;
            UInt256 abs = p.Size.UnsignedAbs;
            int r = _posRow + PosRows * np;
            Row(ref meta, 2 + _c + np) = (byte)(m | (p.Size.IsNegative ? 0x80 : 0));
            Row(ref d, r) = abs.u0;
            Row(ref d, r + 1) = abs.u1;
            Row(ref d, r + 2) = p.OpenNotional.u0;
            Row(ref d, r + 3) = p.OpenNotional.u1;
            Row(ref d, r + 4) = (ulong)sq;
            Row(ref d, r + 5) = (ulong)(sq >> 64);
            Row(ref d, r + 6) = sr;
            snap[2 * np] = p.FundingSnapshot.u0;
            snap[2 * np + 1] = p.FundingSnapshot.u1;
            np++;
        }
        Row(ref d, 0) = s.Cash.u0;
        Row(ref d, 1) = s.Cash.u1;
        Row(ref meta, 0) = (byte)nc;
        Row(ref meta, 1) = (byte)np;
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
        RequireState();
        ComputeRange(0, _capacity);
        _heap.Rebuild(_ratio.AsSpan(0, _capacity), _present.AsSpan(0, _capacity));
    }

    /// <summary>Recomputes every account with Parallel.For over contiguous partitions, then rebuilds the order.</summary>
    public void SweepParallel(int partitions = 0)
    {
        RequireState();
        int parts = partitions > 0 ? partitions : Environment.ProcessorCount * 4;
        int n = _capacity;
        int chunk = ((n + parts - 1) / parts + Lanes - 1) & ~(Lanes - 1);
        Parallel.For(0, parts, k =>
        {
            int from = k * chunk;
            int to = Math.Min(n, from + chunk);
            if (from < to) ComputeRange(from, to);
        });
        _heap.Rebuild(_ratio.AsSpan(0, _capacity), _present.AsSpan(0, _capacity));
    }

    /// <summary>Evaluates the present accounts of ids [from, to) (from a multiple of <see cref="Lanes"/>), a group at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ComputeRange(int from, int to)
    {
        AssetTick[] at = _at;
        MarketTick[] mt = _mt;
        VectorTables? vt = VectorEnabled ? _vt : null;
        for (int baseId = from; baseId < to; baseId += Lanes)
        {
            int present = LaneBits(_present, baseId);
            if (present == 0) continue;
            int ok = 0;
            if (vt is not null)
            {
                int valid = present & ~LaneBits(_wide, baseId);
                if (valid != 0)
                {
                    int g = baseId / Lanes;
                    if (baseId + 2 * Lanes < to) Prefetch(g + 2);
                    ok = RiskVector.ComputeGroup(ref _data[g * _rows * Lanes], ref _meta[g * _mrows * Lanes], ref _sums[g * 8 * Lanes], _c, valid, vt);
                    if (ok != valid) Interlocked.Add(ref _laneFallbacks, BitOperations.PopCount((uint)(valid & ~ok)));
                }
            }
            for (int l = 0; l < Lanes; l++)
            {
                if ((present >> l & 1) == 0) continue;
                int id = baseId + l;
                if ((ok >> l & 1) != 0) ClassifyFast(id);
                else Compute(id, at, mt);
            }
        }
    }

    /// <summary>Asks for the data rows of a group ahead of its evaluation (one request per 64-byte row).</summary>
    private unsafe void Prefetch(int g)
    {
        if (!Sse.IsSupported) return;
        fixed (ulong* p = &_data[g * _rows * Lanes])
        {
            for (int r = 0; r < _rows; r++) Sse.Prefetch0(p + r * Lanes);
        }
    }

    /// <summary>Bit l set when flags[baseId + l] (bools are stored as 0/1 bytes).</summary>
    private static int LaneBits(bool[] flags, int baseId)
    {
        _ = flags[baseId + Lanes - 1]; // capacity is a multiple of Lanes: the 8 bytes are inside the array
        ulong bytes = Unsafe.ReadUnaligned<ulong>(ref Unsafe.As<bool, byte>(ref flags[baseId]));
        if (Bmi2.X64.IsSupported) return (int)Bmi2.X64.ParallelBitExtract(bytes, 0x0101010101010101UL);
        int bits = 0;
        for (int l = 0; l < Lanes; l++) bits |= (int)((bytes >> (8 * l)) & 1) << l;
        return bits;
    }

    private void ClassifyFast(int id)
    {
        HealthSums s = SumsOf(id);
        _status[id] = RiskKernel.Classify(in s, out long ratio);
        _ratio[id] = ratio;
        _kind[id] = ResultKind.Fast;
    }

    /// <summary>Full evaluation of one account at the given ticks: the fast path, else the exact path.</summary>
    private void Compute(int id, AssetTick[] at, MarketTick[] mt)
    {
        if (!_wide[id] && ComputeFast(id, at, mt, out HealthSums s))
        {
            StoreFastResult(id, in s);
            return;
        }
        ComputeExact(id);
    }

    private void StoreFastResult(int id, in HealthSums s)
    {
        ref ulong r = ref SumRef(id);
        Row(ref r, 0) = s.E0;
        Row(ref r, 1) = s.E1;
        Row(ref r, 2) = s.J0;
        Row(ref r, 3) = s.J1;
        Row(ref r, 4) = s.M0;
        Row(ref r, 5) = s.M1;
        Row(ref r, 6) = s.N0;
        Row(ref r, 7) = s.N1;
        _status[id] = RiskKernel.Classify(in s, out long ratio);
        _ratio[id] = ratio;
        _kind[id] = ResultKind.Fast;
    }

    private void ComputeExact(int id)
    {
        Interlocked.Increment(ref _exactCount);
        AccountStatus st = Exact(id, EnsureContext(), out Health h);
        if (st == AccountStatus.Reverts)
        {
            _kind[id] = ResultKind.Reverts;
            _ratio[id] = long.MinValue;
        }
        else
        {
            Health[] store = _exactHealth ?? EnsureExactStore();
            store[id] = h;
            _kind[id] = ResultKind.Exact;
            _ratio[id] = h.MarginRatio;
        }
        _status[id] = st;
    }

    private Health[] EnsureExactStore()
    {
        Interlocked.CompareExchange(ref _exactHealth, new Health[_capacity], null);
        return _exactHealth!;
    }

    /// <summary>
    /// Recomputes the terms of the changed assets and markets only (new term minus the same term at the previous
    /// tick). Accounts not on the fast path, or whose terms leave it, are recomputed in full.
    /// </summary>
    private void RecomputeChanged(int id, ulong changedAssets, ulong changedMarkets)
    {
        if (_kind[id] != ResultKind.Fast || _wide[id] || !DeltaFast(id, changedAssets, changedMarkets, out HealthSums s))
        {
            Compute(id, _at, _mt);
            return;
        }
        StoreFastResult(id, in s);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool DeltaFast(int id, ulong changedAssets, ulong changedMarkets, out HealthSums s)
    {
        s = SumsOf(id);
        ref ulong d = ref DataRef(id);
        ref byte meta = ref MetaRef(id);
        if (changedAssets != 0)
        {
            int nc = meta;
            for (int j = 0; j < nc; j++)
            {
                int asset = Row(ref meta, 2 + j);
                if ((changedAssets >> asset & 1) == 0) continue;
                HealthSums old = default, now = default;
                ulong b0 = Row(ref d, 2 + 2 * j), b1 = Row(ref d, 3 + 2 * j);
                if (!RiskKernel.Collateral(in _atPrev[asset], b0, b1, ref old) || !RiskKernel.Collateral(in _at[asset], b0, b1, ref now)) return false;
                s.Sub(in old);
                s.Add(in now);
            }
        }
        if (changedMarkets != 0)
        {
            int np = Row(ref meta, 1);
            ref byte pm = ref Row(ref meta, 2 + _c);
            for (int j = 0; j < np; j++)
            {
                byte mb = Row(ref pm, j);
                int market = mb & 0x7F;
                if ((changedMarkets >> market & 1) == 0) continue;
                ulong neg = (ulong)-(long)(mb >> 7);
                ref ulong q = ref Row(ref d, _posRow + PosRows * j);
                HealthSums old = default, now = default;
                if (!PositionTerm(in _mtPrev[market], ref q, neg, ref old) || !PositionTerm(in _mt[market], ref q, neg, ref now)) return false;
                s.Sub(in old);
                s.Add(in now);
            }
        }
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool PositionTerm(in MarketTick m, ref ulong q, ulong neg, ref HealthSums s) =>
        RiskKernel.Position(in m, q, Row(ref q, 1), neg, Row(ref q, 2), Row(ref q, 3), Row(ref q, 4), Row(ref q, 5), Row(ref q, 6), ref s);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool ComputeFast(int id, AssetTick[] at, MarketTick[] mt, out HealthSums s)
    {
        ref ulong d = ref DataRef(id);
        ref byte meta = ref MetaRef(id);
        s = default;
        s.E0 = s.J0 = d;
        s.E1 = s.J1 = Row(ref d, 1);
        int nc = meta;
        for (int j = 0; j < nc; j++)
        {
            int asset = Row(ref meta, 2 + j);
            if (!RiskKernel.Collateral(in at[asset], Row(ref d, 2 + 2 * j), Row(ref d, 3 + 2 * j), ref s)) return false;
        }
        int np = Row(ref meta, 1);
        ref byte pm = ref Row(ref meta, 2 + _c);
        ref ulong q = ref Row(ref d, _posRow);
        for (int j = 0; j < np; j++)
        {
            byte mb = Row(ref pm, j);
            ulong neg = (ulong)-(long)(mb >> 7);
            if (!PositionTerm(in mt[mb & 0x7F], ref q, neg, ref s)) return false;
            q = ref Row(ref q, PosRows);
        }
        return true;
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
        RequireState();
        UInt256[] prices = (UInt256[])_prices.Clone();
        foreach ((int slot, int bps) in shocks)
        {
            if (bps <= -10_000) throw new ArgumentOutOfRangeException(nameof(shocks), "bps must be > -10000");
            prices[slot] = UInt256.MulDiv(prices[slot], new UInt256((ulong)(10_000L + bps)), new UInt256(10_000UL));
            if (prices[slot].IsZero && !_prices[slot].IsZero) prices[slot] = UInt256.One; // an oracle never reports 0
        }
        var ctx = new RiskContext(_cfg, _funding, prices, _timestamp);
        var at = new AssetTick[_cfg.AssetCount];
        var mt = new MarketTick[_cfg.MarketCount];
        FillTicks(prices, _funding, _timestamp, at, mt);
        var hits = new List<ShockHit>();
        var seen = new HashSet<int>();
        foreach ((int slot, _) in shocks)
        {
            ReadOnlySpan<int> members = ExposedTo(slot);
            foreach (int id in members)
            {
                if (!seen.Add(id) || _status[id] >= AccountStatus.Liquidatable) continue;
                Health h;
                AccountStatus st;
                if (!_wide[id] && ComputeFast(id, at, mt, out HealthSums s))
                {
                    h = s.ToHealth();
                    st = RiskKernel.Classify(in s, out _);
                }
                else
                {
                    st = Exact(id, ctx, out h);
                }
                if (st is >= AccountStatus.Liquidatable and < AccountStatus.Reverts) hits.Add(new ShockHit(id, h, h.MaintenanceShortfall));
            }
        }
        return hits;
    }

    /// <summary>Isolated versus cross margin need of an account at the current state (see <see cref="Margin.IsolatedVersusCross"/>).</summary>
    public (UInt256 Isolated, UInt256 Cross) IsolatedVersusCross(int id)
    {
        RequireState();
        return Margin.IsolatedVersusCross(EnsureContext(), GetAccount(id));
    }
}
