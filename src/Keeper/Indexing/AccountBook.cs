using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;

namespace CrossMargin.Keeper.Indexing;

/// <summary>A perp position as stored by the engine (protocol §4). <see cref="Size"/> 0 means no position.</summary>
public readonly record struct PositionEntry(Int256 Size, Int256 OpenNotional, Int256 FundingSnapshot)
{
    public bool IsOpen => !Size.IsZero;
}

/// <summary>Per-market funding state as last written to storage (protocol §5.2).</summary>
public readonly record struct MarketFunding(Int256 Index, Int256 RatePerSecond, ulong LastUpdateTime);

/// <summary>The LP vault's position in one market.</summary>
public readonly record struct VaultPosition(Int256 Size, Int256 OpenNotional);

/// <summary>
/// A copy of one account's state. <see cref="Collateral"/> is indexed by asset id (index 0 is always 0: the
/// settlement asset is <see cref="Cash"/>) and <see cref="Positions"/> by market id; both have the book's asset /
/// market count as length.
/// </summary>
public sealed class AccountSnapshot
{
    internal AccountSnapshot(Address account, Int256 cash, UInt256[] collateral, PositionEntry[] positions)
    {
        Account = account;
        Cash = cash;
        Collateral = collateral;
        Positions = positions;
        foreach (var (i, c) in collateral.Index()) if (!c.IsZero) CollateralMask |= 1UL << i;
        foreach (var (i, p) in positions.Index()) if (p.IsOpen) PositionMask |= 1UL << i;
    }

    public Address Account { get; }
    public Int256 Cash { get; }
    public IReadOnlyList<UInt256> Collateral { get; }
    public IReadOnlyList<PositionEntry> Positions { get; }

    /// <summary>Bit i set ⇔ collateral[i] &gt; 0.</summary>
    public ulong CollateralMask { get; }

    /// <summary>Bit i set ⇔ a position is open in market i.</summary>
    public ulong PositionMask { get; }

    /// <summary>
    /// Same cash, collateral and positions (lengths may differ only by trailing zeros). With
    /// <paramref name="ignoreClosedPositions"/>, the funding snapshot left in a closed position (size 0) is not compared:
    /// storage keeps it, accountState does not report it, and it has no effect.
    /// </summary>
    public bool SameState(AccountSnapshot other, bool ignoreClosedPositions = false)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (Cash != other.Cash) return false;
        for (int i = 0; i < Math.Max(Collateral.Count, other.Collateral.Count); i++)
            if (At(Collateral, i) != At(other.Collateral, i)) return false;
        for (int i = 0; i < Math.Max(Positions.Count, other.Positions.Count); i++)
        {
            PositionEntry x = At(Positions, i), y = At(other.Positions, i);
            if (ignoreClosedPositions && !x.IsOpen && !y.IsOpen) continue;
            if (x != y) return false;
        }
        return true;
    }

    private static T At<T>(IReadOnlyList<T> list, int i) where T : struct => i < list.Count ? list[i] : default;

    public override string ToString() =>
        $"{Account}: cash {Cash}, collateral [{string.Join(", ", Collateral)}], positions [{string.Join(", ", Positions.Index().Where(p => p.Item.IsOpen).Select(p => $"{p.Index}: {p.Item.Size}/{p.Item.OpenNotional}/{p.Item.FundingSnapshot}"))}]";
}

/// <summary>What one applied block (or history page) changed.</summary>
public sealed record BookChanges(ulong Block, IReadOnlyList<Address> ChangedAccounts, bool FundingChanged, int AppliedLogs, int SkippedLogs);

/// <summary>Counters of the book.</summary>
public readonly record struct BookStats(long AppliedLogs, long DuplicateLogs, long UndecodableLogs, long RolledBackBlocks, long Corrections);

/// <summary>
/// Event-sourced in-memory state of every engine account (cash, collateral per asset, positions per market), the
/// per-market funding state, the vault and the insurance fund, at a known block.
/// <para>
/// Logs are applied in (block, logIndex) order; a log at or before the last applied position is a duplicate and is
/// ignored, so applying the same log twice is harmless. Blocks applied with <see cref="ApplyBlock"/> keep an undo
/// record and their hash for the last <c>reorgDepth</c> blocks, so <see cref="RollbackTo"/> can return to any of
/// them. History applied with <see cref="ApplyHistory"/> (deep, final blocks) keeps none.
/// </para>
/// Thread-safe: one writer (the indexer) and any number of readers; reads return copies.
/// </summary>
public sealed class AccountBook
{
    private sealed class Entry
    {
        public Int256 Cash;
        public UInt256[] Collateral = [];
        public PositionEntry[] Positions = [];

        public Entry Clone() => new() { Cash = Cash, Collateral = (UInt256[])Collateral.Clone(), Positions = (PositionEntry[])Positions.Clone() };
    }

    private sealed class Globals
    {
        public Int256 VaultCash;
        public UInt256 InsuranceFund;
        public bool Paused;
        public int AssetCount;
        public int MarketCount;
        public MarketFunding[] Funding = new MarketFunding[EngineEvents.MaxIds];
        public VaultPosition[] Vault = new VaultPosition[EngineEvents.MaxIds];

        public Globals Clone() => new()
        {
            VaultCash = VaultCash, InsuranceFund = InsuranceFund, Paused = Paused, AssetCount = AssetCount, MarketCount = MarketCount,
            Funding = (MarketFunding[])Funding.Clone(), Vault = (VaultPosition[])Vault.Clone(),
        };
    }

    private sealed class Undo(ulong number, Hash32 hash, Globals globals, (ulong, ulong)? lastLog)
    {
        public ulong Number { get; } = number;
        public Hash32 Hash { get; } = hash;
        public Globals Globals { get; } = globals;
        public (ulong Block, ulong Index)? LastLog { get; } = lastLog;
        public Dictionary<Address, Entry?> Accounts { get; } = [];
    }

    private readonly Lock _lock = new();
    private readonly int _reorgDepth;
    private readonly Dictionary<Address, Entry> _accounts = [];
    private Globals _globals = new();
    private readonly LinkedList<Undo> _undo = new();
    private ulong? _head;
    private Hash32? _anchorHash; // hash of the block at the rollback floor (oldest block we can return to)
    private ulong _anchor;
    private (ulong Block, ulong Index)? _lastLog;
    private long _applied, _duplicates, _undecodable, _rolledBack, _corrections;

    public AccountBook(int reorgDepth = 64)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(reorgDepth, 1);
        _reorgDepth = reorgDepth;
    }

    /// <summary>The last block whose logs are applied; null for an empty book.</summary>
    public ulong? Head { get { lock (_lock) return _head; } }

    /// <summary>True once history was applied or <see cref="Start"/> was called.</summary>
    public bool IsStarted { get { lock (_lock) return _head is not null || _startedBeforeGenesis; } }

    /// <summary>Hash of <see cref="Head"/> when known.</summary>
    public Hash32? HeadHash { get { lock (_lock) return HashAtCore(_head); } }

    /// <summary>Oldest block <see cref="RollbackTo"/> can return to.</summary>
    public ulong RollbackFloor { get { lock (_lock) return _anchor; } }

    /// <summary>Position of the last applied log.</summary>
    public (ulong Block, ulong LogIndex)? LastLog { get { lock (_lock) return _lastLog; } }

    public int AccountCount { get { lock (_lock) return _accounts.Count; } }

    public int AssetCount { get { lock (_lock) return _globals.AssetCount; } }

    public int MarketCount { get { lock (_lock) return _globals.MarketCount; } }

    public Int256 VaultCash { get { lock (_lock) return _globals.VaultCash; } }

    public UInt256 InsuranceFund { get { lock (_lock) return _globals.InsuranceFund; } }

    public bool Paused { get { lock (_lock) return _globals.Paused; } }

    public BookStats Stats { get { lock (_lock) return new(_applied, _duplicates, _undecodable, _rolledBack, _corrections); } }

    /// <summary>The hash of block <paramref name="number"/> when it is within the retained window.</summary>
    public Hash32? HashAt(ulong number) { lock (_lock) return HashAtCore(number); }

    private Hash32? HashAtCore(ulong? number)
    {
        if (number is not { } n) return null;
        if (n == _anchor) return _anchorHash;
        for (var node = _undo.Last; node is not null; node = node.Previous)
        {
            if (node.Value.Number == n) return node.Value.Hash;
            if (node.Value.Number < n) break;
        }
        return null;
    }

    /// <summary>Every known account (one that ever appeared in a cash, collateral or position event), sorted.</summary>
    public Address[] Accounts()
    {
        lock (_lock)
        {
            var list = _accounts.Keys.ToArray();
            Array.Sort(list);
            return list;
        }
    }

    public bool Contains(Address account) { lock (_lock) return _accounts.ContainsKey(account); }

    /// <summary>A copy of one account, arrays sized to the book's asset and market counts.</summary>
    public bool TryGetAccount(Address account, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out AccountSnapshot? snapshot)
    {
        lock (_lock)
        {
            if (!_accounts.TryGetValue(account, out var e)) { snapshot = null; return false; }
            snapshot = SnapshotCore(account, e);
            return true;
        }
    }

    /// <summary>Copies of several accounts (unknown ones are skipped).</summary>
    public List<AccountSnapshot> GetAccounts(IEnumerable<Address> accounts)
    {
        ArgumentNullException.ThrowIfNull(accounts);
        lock (_lock)
        {
            var list = new List<AccountSnapshot>();
            foreach (var a in accounts) if (_accounts.TryGetValue(a, out var e)) list.Add(SnapshotCore(a, e));
            return list;
        }
    }

    /// <summary>Copies of all accounts, sorted by address.</summary>
    public List<AccountSnapshot> GetAllAccounts() => GetAccounts(Accounts());

    private AccountSnapshot SnapshotCore(Address a, Entry e)
    {
        int na = Math.Max(_globals.AssetCount, e.Collateral.Length), nm = Math.Max(_globals.MarketCount, e.Positions.Length);
        var col = new UInt256[na];
        e.Collateral.CopyTo(col, 0);
        var pos = new PositionEntry[nm];
        e.Positions.CopyTo(pos, 0);
        return new AccountSnapshot(a, e.Cash, col, pos);
    }

    /// <summary>Funding state of every market (length = market count).</summary>
    public MarketFunding[] Funding() { lock (_lock) return _globals.Funding.AsSpan(0, _globals.MarketCount).ToArray(); }

    public MarketFunding FundingOf(int marketId) { lock (_lock) return _globals.Funding[marketId]; }

    /// <summary>The vault's positions (length = market count).</summary>
    public VaultPosition[] VaultPositions() { lock (_lock) return _globals.Vault.AsSpan(0, _globals.MarketCount).ToArray(); }

    /// <summary>
    /// Applies final history (deep blocks, no undo record) up to and including <paramref name="throughBlock"/>. The logs
    /// must be in (block, logIndex) order; duplicates and logs at or before <see cref="LastLog"/> are skipped.
    /// Allowed only while no undo record is held (before the first <see cref="ApplyBlock"/>).
    /// </summary>
    public BookChanges ApplyHistory(IReadOnlyList<LogEntry> logs, ulong throughBlock)
    {
        ArgumentNullException.ThrowIfNull(logs);
        lock (_lock)
        {
            if (_undo.Count > 0) throw new InvalidOperationException("History cannot be applied after blocks with undo records.");
            if (_head is { } h && throughBlock < h) throw new InvalidOperationException($"History through {throughBlock} is behind the head {h}.");
            var changed = new HashSet<Address>();
            var (applied, skipped, funding) = ApplyLogsCore(logs, null, throughBlock, changed, null);
            _head = throughBlock;
            _anchor = throughBlock;
            _anchorHash = null;
            return new BookChanges(throughBlock, [.. changed], funding, applied, skipped);
        }
    }

    /// <summary>Sets the hash of the head block after <see cref="ApplyHistory"/> (the parent link of the next block).</summary>
    public void SetHeadHash(Hash32 hash)
    {
        lock (_lock)
        {
            if (_head is null || _undo.Count > 0) throw new InvalidOperationException("The head hash can be set only after history and before blocks.");
            _anchorHash = hash;
        }
    }

    /// <summary>
    /// Starts an empty book just before <paramref name="firstBlock"/> (the engine's deployment block), optionally with the
    /// hash of that parent block.
    /// </summary>
    public void Start(ulong firstBlock, Hash32? parentHash)
    {
        lock (_lock)
        {
            if (_head is not null) throw new InvalidOperationException("The book already started.");
            _head = firstBlock == 0 ? null : firstBlock - 1;
            _anchor = firstBlock == 0 ? 0UL : firstBlock - 1;
            _anchorHash = parentHash;
            _startedBeforeGenesis = firstBlock == 0;
        }
    }

    private bool _startedBeforeGenesis;

    /// <summary>
    /// Applies the next block: <paramref name="number"/> must be <see cref="Head"/> + 1 and
    /// <paramref name="parentHash"/> the head's hash when known. Keeps an undo record. Logs of other blocks are rejected;
    /// logs are sorted by index and duplicates skipped.
    /// </summary>
    public BookChanges ApplyBlock(ulong number, Hash32 hash, Hash32 parentHash, IReadOnlyList<LogEntry> logs)
    {
        ArgumentNullException.ThrowIfNull(logs);
        lock (_lock)
        {
            ulong expected = _head is { } h ? h + 1 : (_startedBeforeGenesis ? 0UL : throw new InvalidOperationException("Start the book or apply history first."));
            if (number != expected) throw new InvalidOperationException($"Block {number} does not follow the head ({_head}).");
            if (HashAtCore(_head) is { } known && known != parentHash)
                throw new InvalidOperationException($"Block {number} has parent {parentHash}, the head is {known}.");
            foreach (var log in logs)
            {
                if (log.BlockNumber != number) throw new ArgumentException($"A log of block {log.BlockNumber} was given for block {number}.", nameof(logs));
                if (log.BlockHash is { } bh && bh != hash) throw new ArgumentException($"A log of block {bh} was given for block {hash}.", nameof(logs));
            }
            var sorted = logs.OrderBy(l => l.LogIndex ?? ulong.MaxValue).ToArray();
            var undo = new Undo(number, hash, _globals.Clone(), _lastLog);
            var changed = new HashSet<Address>();
            var (applied, skipped, funding) = ApplyLogsCore(sorted, number, number, changed, undo);
            _head = number;
            _startedBeforeGenesis = false;
            _undo.AddLast(undo);
            while (_undo.Count > _reorgDepth)
            {
                var first = _undo.First!.Value;
                _undo.RemoveFirst();
                _anchor = first.Number;
                _anchorHash = first.Hash;
            }
            return new BookChanges(number, [.. changed], funding, applied, skipped);
        }
    }

    /// <summary>
    /// Undoes every block after <paramref name="block"/> and returns the accounts whose state changed back.
    /// Throws <see cref="ReorgTooDeepException"/> below <see cref="RollbackFloor"/>.
    /// </summary>
    public IReadOnlyList<Address> RollbackTo(ulong block)
    {
        lock (_lock)
        {
            if (_head is not { } head || block >= head) return [];
            if (block < _anchor) throw new ReorgTooDeepException(_anchor, head);
            var touched = new HashSet<Address>();
            while (_undo.Last is { } node && node.Value.Number > block)
            {
                var u = node.Value;
                foreach (var (a, prior) in u.Accounts)
                {
                    touched.Add(a);
                    if (prior is null) _accounts.Remove(a);
                    else _accounts[a] = prior;
                }
                _globals = u.Globals;
                _lastLog = u.LastLog;
                _undo.RemoveLast();
                _rolledBack++;
            }
            _head = block;
            return [.. touched];
        }
    }

    /// <summary>Empties the book (before a full resync).</summary>
    public void Reset()
    {
        lock (_lock)
        {
            _accounts.Clear();
            _globals = new Globals();
            _undo.Clear();
            _head = null;
            _anchor = 0;
            _anchorHash = null;
            _lastLog = null;
            _startedBeforeGenesis = false;
        }
    }

    /// <summary>
    /// Replaces one account's state with values read from the chain at the head block (reconciliation). The change is
    /// not undoable: a rollback below the head keeps the corrected values for this account.
    /// </summary>
    public void Correct(Address account, Int256 cash, ReadOnlySpan<UInt256> collateral, ReadOnlySpan<(int MarketId, PositionEntry Position)> positions)
    {
        lock (_lock)
        {
            var e = GetOrAdd(account, null);
            e.Cash = cash;
            e.Collateral = new UInt256[Math.Max(collateral.Length, e.Collateral.Length)];
            collateral.CopyTo(e.Collateral);
            if (e.Collateral.Length > 0) e.Collateral[0] = default;
            e.Positions = new PositionEntry[e.Positions.Length];
            foreach (var (m, p) in positions)
            {
                if ((uint)m >= EngineEvents.MaxIds) throw new ArgumentOutOfRangeException(nameof(positions));
                if (m >= e.Positions.Length) Array.Resize(ref e.Positions, m + 1);
                e.Positions[m] = p;
            }
            _corrections++;
        }
    }

    /// <summary>Replaces one market's funding state with storage values (reconciliation); not undoable.</summary>
    public void CorrectFunding(int marketId, MarketFunding funding)
    {
        lock (_lock)
        {
            if ((uint)marketId >= EngineEvents.MaxIds) throw new ArgumentOutOfRangeException(nameof(marketId));
            _globals.Funding[marketId] = funding;
            if (marketId >= _globals.MarketCount) _globals.MarketCount = marketId + 1;
            _corrections++;
        }
    }

    private Entry GetOrAdd(Address a, Undo? undo)
    {
        if (_accounts.TryGetValue(a, out var e))
        {
            if (undo is not null && !undo.Accounts.ContainsKey(a)) undo.Accounts[a] = e.Clone();
            return e;
        }
        e = new Entry();
        _accounts[a] = e;
        if (undo is not null && !undo.Accounts.ContainsKey(a)) undo.Accounts[a] = null;
        return e;
    }

    private (int Applied, int Skipped, bool Funding) ApplyLogsCore(IReadOnlyList<LogEntry> logs, ulong? onlyBlock, ulong maxBlock,
        HashSet<Address> changed, Undo? undo)
    {
        int applied = 0, skipped = 0;
        bool funding = false;
        foreach (var log in logs)
        {
            if (log.BlockNumber is not { } b || log.LogIndex is not { } li) throw new ArgumentException("A log without block number or log index.", nameof(logs));
            if (b > maxBlock || (onlyBlock is { } ob && b != ob)) throw new ArgumentException($"A log of block {b} is outside the applied range.", nameof(logs));
            if (_lastLog is { } last && (b < last.Block || (b == last.Block && li <= last.Index)))
            {
                _duplicates++;
                skipped++;
                continue;
            }
            _lastLog = (b, li);
            if (!EngineEvents.TryDecode(log, out var ev))
            {
                _undecodable++;
                skipped++;
                continue;
            }
            Apply(ev, changed, undo, ref funding);
            _applied++;
            applied++;
        }
        return (applied, skipped, funding);
    }

    private void Apply(in BookEvent ev, HashSet<Address> changed, Undo? undo, ref bool funding)
    {
        var g = _globals;
        switch (ev.Kind)
        {
            case BookEventKind.CashUpdated:
                GetOrAdd(ev.Account, undo).Cash = ev.A;
                changed.Add(ev.Account);
                break;
            case BookEventKind.CollateralUpdated:
            {
                var e = GetOrAdd(ev.Account, undo);
                if (ev.Id >= e.Collateral.Length) Array.Resize(ref e.Collateral, Math.Max(ev.Id + 1, g.AssetCount));
                e.Collateral[ev.Id] = ev.U;
                if (ev.Id >= g.AssetCount) g.AssetCount = ev.Id + 1;
                changed.Add(ev.Account);
                break;
            }
            case BookEventKind.PositionUpdated:
            {
                var e = GetOrAdd(ev.Account, undo);
                if (ev.Id >= e.Positions.Length) Array.Resize(ref e.Positions, Math.Max(ev.Id + 1, g.MarketCount));
                e.Positions[ev.Id] = new PositionEntry(ev.A, ev.B, ev.C);
                if (ev.Id >= g.MarketCount) g.MarketCount = ev.Id + 1;
                changed.Add(ev.Account);
                break;
            }
            case BookEventKind.FundingIndexUpdated:
                g.Funding[ev.Id] = new MarketFunding(ev.A, ev.B, ev.Time);
                if (ev.Id >= g.MarketCount) g.MarketCount = ev.Id + 1;
                funding = true;
                break;
            case BookEventKind.MarketAdded:
                if (ev.Id >= g.MarketCount) g.MarketCount = ev.Id + 1;
                break;
            case BookEventKind.AssetAdded:
                if (ev.Id >= g.AssetCount) g.AssetCount = ev.Id + 1;
                break;
            case BookEventKind.VaultCashUpdated:
                g.VaultCash = ev.A;
                break;
            case BookEventKind.InsuranceFundUpdated:
                g.InsuranceFund = ev.U;
                break;
            case BookEventKind.VaultPositionUpdated:
                g.Vault[ev.Id] = new VaultPosition(ev.A, ev.B);
                if (ev.Id >= g.MarketCount) g.MarketCount = ev.Id + 1;
                break;
            case BookEventKind.PauseChanged:
                g.Paused = !ev.A.IsZero;
                break;
        }
    }
}
