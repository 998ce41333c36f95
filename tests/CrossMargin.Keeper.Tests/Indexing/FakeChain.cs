using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Crypto;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Keeper.Indexing;
using E = CrossMargin.Contracts.CrossMarginEngine;

namespace CrossMargin.Keeper.Tests.Indexing;

/// <summary>Encodes engine events as logs (topics and data words), independently of the book's decoder.</summary>
internal static class EngineLogs
{
    public static Hash32 Word(Address a)
    {
        Span<byte> w = stackalloc byte[32];
        a.CopyTo(w[12..]);
        return new Hash32(w);
    }

    public static Hash32 Word(long v) => Word((Int256)v);

    public static Hash32 Word(Int256 v)
    {
        Span<byte> w = stackalloc byte[32];
        v.WriteBigEndian(w);
        return new Hash32(w);
    }

    public static byte[] Data(params Hash32[] words)
    {
        var d = new byte[32 * words.Length];
        for (int i = 0; i < words.Length; i++) words[i].CopyTo(d.AsSpan(32 * i));
        return d;
    }

    public static (Hash32[] Topics, byte[] Data) Cash(Address a, long cash) => ([E.CashUpdatedEvent.Topic0, Word(a)], Data(Word(cash)));

    public static (Hash32[] Topics, byte[] Data) Collateral(Address a, int asset, long bal) =>
        ([E.CollateralUpdatedEvent.Topic0, Word(a), Word(asset)], Data(Word(bal)));

    public static (Hash32[] Topics, byte[] Data) Position(Address a, int market, long size, long on, long snap) =>
        ([E.PositionUpdatedEvent.Topic0, Word(a), Word(market)], Data(Word(size), Word(on), Word(snap)));

    public static (Hash32[] Topics, byte[] Data) Funding(int market, long index, long rate, long time) =>
        ([E.FundingIndexUpdatedEvent.Topic0, Word(market)], Data(Word(index), Word(rate), Word(time)));

    public static (Hash32[] Topics, byte[] Data) MarketAdded(int market) => ([E.MarketAddedEvent.Topic0, Word(market)], Data(Word(7)));

    public static (Hash32[] Topics, byte[] Data) AssetAdded(int asset) =>
        ([E.AssetAddedEvent.Topic0, Word(asset)], Data(Word(Address.Zero), Word(18), Word(9)));

    public static (Hash32[] Topics, byte[] Data) VaultCash(long v) => ([E.VaultCashUpdatedEvent.Topic0], Data(Word(v)));

    public static (Hash32[] Topics, byte[] Data) Insurance(long v) => ([E.InsuranceFundUpdatedEvent.Topic0], Data(Word(v)));

    public static (Hash32[] Topics, byte[] Data) VaultPosition(int market, long size, long on) =>
        ([E.VaultPositionUpdatedEvent.Topic0, Word(market)], Data(Word(size), Word(on)));

    public static (Hash32[] Topics, byte[] Data) Traded(Address a, int market) =>
        ([E.TradedEvent.Topic0, Word(a), Word(market)], Data(Word(1), Word(2), Word(3), Word(4)));

    public static Address Account(int i)
    {
        Span<byte> b = stackalloc byte[20];
        b[0] = 0xAC;
        b[18] = (byte)(i >> 8);
        b[19] = (byte)i;
        return new Address(b);
    }

    /// <summary>A random block body: 0..maxEvents engine events over <paramref name="accounts"/> accounts.</summary>
    public static List<(Hash32[] Topics, byte[] Data)> RandomEvents(Random rng, int accounts, int maxEvents, int markets = 3, int assets = 3)
    {
        var list = new List<(Hash32[], byte[])>();
        int n = rng.Next(maxEvents + 1);
        for (int i = 0; i < n; i++)
        {
            var a = Account(rng.Next(accounts));
            long v = rng.NextInt64(-1_000_000_000_000, 1_000_000_000_000);
            list.Add(rng.Next(10) switch
            {
                0 or 1 => Cash(a, v),
                2 => Collateral(a, 1 + rng.Next(assets - 1), rng.Next(3) == 0 ? 0 : Math.Abs(v)),
                3 or 4 => rng.Next(4) == 0 ? Position(a, rng.Next(markets), 0, 0, v) : Position(a, rng.Next(markets), v, v / 3, rng.Next()),
                5 => Funding(rng.Next(markets), v, rng.Next(-1000, 1000), rng.Next()),
                6 => VaultCash(v),
                7 => Insurance(Math.Abs(v)),
                8 => VaultPosition(rng.Next(markets), v, v / 2),
                _ => Traded(a, rng.Next(markets)),
            });
        }
        return list;
    }
}

/// <summary>
/// A scripted chain behind <see cref="IEthClient"/>: canonical blocks with engine logs, reorgs, rollbacks, and
/// misbehaviour (range limits, result limits, shuffled/duplicated answers, transient failures). Thread-safe.
/// </summary>
internal sealed class FakeChain : IEthClient
{
    private readonly Lock _lock = new();
    private readonly List<(BlockHeader Header, LogEntry[] Logs)> _blocks = [];
    private readonly Dictionary<Hash32, (BlockHeader Header, LogEntry[] Logs)> _orphans = [];
    private int _fork;

    public FakeChain(Address engine, int genesisEvents = 0)
    {
        Engine = engine;
        Mine([]); // genesis (block 0)
        _ = genesisEvents;
    }

    public Address Engine { get; }
    public ulong MaxRange { get; set; } = ulong.MaxValue;
    public int MaxResults { get; set; } = int.MaxValue;
    public bool ShuffleAndDuplicate { get; set; }
    public Queue<Exception> FailGetLogs { get; } = new();
    public Queue<Exception> FailHeaders { get; } = new();
    public List<(ulong From, ulong To, bool Ok)> RangeRequests { get; } = [];
    public Action<LogFilter>? BeforeGetLogs { get; set; }
    public int Seed { get; set; } = 1;

    public ulong Head { get { lock (_lock) return (ulong)_blocks.Count - 1; } }

    public IReadOnlyList<LogEntry> AllLogs()
    {
        lock (_lock) return _blocks.SelectMany(b => b.Logs).ToList();
    }

    public BlockHeader HeaderAt(ulong n) { lock (_lock) return _blocks[(int)n].Header; }

    public BlockHeader Mine(IReadOnlyList<(Hash32[] Topics, byte[] Data)> events, bool withForeign = false)
    {
        lock (_lock)
        {
            ulong n = (ulong)_blocks.Count;
            var parent = n == 0 ? Hash32.Zero : _blocks[^1].Header.Hash;
            var hash = Keccak256.ComputeUtf8($"block {n} fork {_fork} seed {Seed}");
            var header = new BlockHeader(n, hash, parent, 1_000 + n * 12, null, 30_000_000, 0, Address.Zero, []);
            var logs = new List<LogEntry>();
            ulong li = 0;
            foreach (var (topics, data) in events)
            {
                var tx = Keccak256.ComputeUtf8($"tx {n} {li} {_fork}");
                if (withForeign)
                    logs.Add(new LogEntry(EngineLogs.Account(999), topics, data, n, hash, tx, 0, li++, false));
                logs.Add(new LogEntry(Engine, topics, data, n, hash, tx, 0, li++, false));
            }
            _blocks.Add((header, [.. logs]));
            return header;
        }
    }

    /// <summary>Replaces the last <paramref name="depth"/> blocks with <paramref name="replacement"/> new ones (another fork).</summary>
    public void Reorg(int depth, IEnumerable<IReadOnlyList<(Hash32[] Topics, byte[] Data)>> replacement)
    {
        lock (_lock)
        {
            Rollback(depth);
            _fork++;
            foreach (var body in replacement) Mine(body);
        }
    }

    /// <summary>Removes the last <paramref name="depth"/> blocks (anvil_rollback).</summary>
    public void Rollback(int depth)
    {
        lock (_lock)
        {
            for (int i = 0; i < depth; i++)
            {
                var b = _blocks[^1];
                _orphans[b.Header.Hash] = (b.Header, b.Logs.Select(l => l with { Removed = true }).ToArray());
                _blocks.RemoveAt(_blocks.Count - 1);
            }
            _fork++;
        }
    }

    public Task<ulong> BlockNumberAsync(CancellationToken cancellationToken = default) => Task.FromResult(Head);

    public Task<BlockHeader?> GetBlockByNumberAsync(BlockTag block, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            if (FailHeaders.TryDequeue(out var ex)) return Task.FromException<BlockHeader?>(ex);
            // the indexer reads by number only; the head follower polls "latest"
            Assert.True(block.Kind is BlockTagKind.Number or BlockTagKind.Latest);
            ulong n = block.Kind == BlockTagKind.Latest ? (ulong)_blocks.Count - 1 : block.BlockNumber;
            return Task.FromResult(n < (ulong)_blocks.Count ? _blocks[(int)n].Header : null);
        }
    }

    public Task<LogEntry[]> GetLogsAsync(LogFilter filter, CancellationToken cancellationToken = default)
    {
        BeforeGetLogs?.Invoke(filter);
        lock (_lock)
        {
            if (FailGetLogs.TryDequeue(out var ex)) return Task.FromException<LogEntry[]>(ex);
            IEnumerable<LogEntry> logs;
            if (filter.BlockHash is { } bh)
            {
                var found = _blocks.FirstOrDefault(b => b.Header.Hash == bh);
                if (found.Header is null && !_orphans.TryGetValue(bh, out found))
                    return Task.FromException<LogEntry[]>(new RpcException(-32000, "unknown block", null, null));
                logs = found.Logs;
            }
            else
            {
                Assert.Equal(BlockTagKind.Number, filter.FromBlock!.Value.Kind);
                Assert.Equal(BlockTagKind.Number, filter.ToBlock!.Value.Kind);
                ulong from = filter.FromBlock.Value.BlockNumber, to = filter.ToBlock.Value.BlockNumber;
                if (to - from + 1 > MaxRange)
                {
                    RangeRequests.Add((from, to, false));
                    return Task.FromException<LogEntry[]>(new RpcException(-32602, $"block range too large: max {MaxRange}", null, null));
                }
                var list = _blocks.Where(b => b.Header.Number >= from && b.Header.Number <= to).SelectMany(b => b.Logs).ToList();
                list = list.Where(l => Matches(filter, l)).ToList();
                if (list.Count > MaxResults)
                {
                    RangeRequests.Add((from, to, false));
                    return Task.FromException<LogEntry[]>(new RpcException(-32005, "query returned more than 10000 results", null, null));
                }
                RangeRequests.Add((from, to, true));
                if (ShuffleAndDuplicate)
                {
                    var rng = new Random((int)from);
                    list.AddRange(list.Where(_ => rng.Next(3) == 0).ToList());
                    list = list.OrderBy(_ => rng.Next()).ToList();
                }
                return Task.FromResult(list.ToArray());
            }
            return Task.FromResult(logs.Where(l => Matches(filter, l)).ToArray());
        }
    }

    private static bool Matches(LogFilter f, LogEntry l)
    {
        if (f.Addresses is { } addrs && !addrs.Contains(l.Address)) return false;
        if (f.Topics is { } topics)
            for (int i = 0; i < topics.Count; i++)
                if (topics[i] is { } any && (i >= l.Topics.Count || !any.Contains(l.Topics[i]))) return false;
        return true;
    }

    public Task<ulong> ChainIdAsync(CancellationToken cancellationToken = default) => Task.FromResult(31337UL);
    public Task<UInt256> GetBalanceAsync(Address account, BlockTag block = default, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    public Task<ulong> GetTransactionCountAsync(Address account, BlockTag block = default, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    public Task<byte[]> GetCodeAsync(Address account, BlockTag block = default, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    public Task<byte[]> CallAsync(CallRequest call, BlockTag block = default, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    public Task<ulong> EstimateGasAsync(CallRequest call, BlockTag? block = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    public Task<FeeHistory> FeeHistoryAsync(ulong blockCount, BlockTag newest, IReadOnlyList<double>? rewardPercentiles = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    public Task<UInt256> MaxPriorityFeePerGasAsync(CancellationToken cancellationToken = default) => throw new NotSupportedException();
    public Task<Hash32> SendRawTransactionAsync(ReadOnlyMemory<byte> signedTransaction, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    public Task<TransactionReceipt?> GetTransactionReceiptAsync(Hash32 transactionHash, CancellationToken cancellationToken = default) => throw new NotSupportedException();
}

/// <summary>Book comparisons for the tests.</summary>
internal static class BookAssert
{
    /// <summary>A fresh book built from every canonical log of <paramref name="chain"/>.</summary>
    public static AccountBook Replay(FakeChain chain)
    {
        var book = new AccountBook();
        book.ApplyHistory(chain.AllLogs(), chain.Head);
        return book;
    }

    public static void Equal(AccountBook expected, AccountBook actual, string context, bool ignoreClosedPositions = false)
    {
        var e = expected.GetAllAccounts();
        var a = actual.GetAllAccounts();
        Assert.True(e.Select(x => x.Account).SequenceEqual(a.Select(x => x.Account)),
            $"{context}: account sets differ ({e.Count} vs {a.Count})");
        for (int i = 0; i < e.Count; i++)
            Assert.True(e[i].SameState(a[i], ignoreClosedPositions), $"{context}: {e[i]} != {a[i]}");
        Assert.Equal(expected.Funding(), actual.Funding());
        Assert.Equal(expected.VaultPositions(), actual.VaultPositions());
        Assert.Equal(expected.VaultCash, actual.VaultCash);
        Assert.Equal(expected.InsuranceFund, actual.InsuranceFund);
        Assert.Equal(expected.MarketCount, actual.MarketCount);
    }
}
