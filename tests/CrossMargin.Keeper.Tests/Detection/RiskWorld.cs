using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Crypto;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Keeper.Detection;
using CrossMargin.Keeper.Indexing;
using CrossMargin.Risk;

namespace CrossMargin.Keeper.Tests.Detection;

/// <summary>A small protocol (settlement + WETH collateral; ETH and BTC markets), an account book and a fake chain reader.</summary>
internal sealed class RiskWorld : IMarketDataReader
{
    public static readonly UInt256 Wad = RiskMath.Wad;
    public static readonly Hash32 EthOracle = Keccak256.ComputeUtf8("ETH/USD");
    public static readonly Hash32 BtcOracle = Keccak256.ComputeUtf8("BTC/USD");

    public RiskWorld()
    {
        Config = new RiskConfig(
            [new AssetParams(6, 0, RiskMath.WadU64, RiskMath.WadU64, 0, UInt256.MaxValue), new AssetParams(18, 0, Frac(0.8), Frac(0.9), Frac(0.05), UInt256.MaxValue)],
            [Market(0), Market(1)], 2);
        Prices = [Usd(3000), Usd(60_000)];
        Funding = new FundingState[2];
    }

    public RiskConfig Config { get; }
    public AccountBook Book { get; } = new();
    public UInt256[] Prices { get; set; }
    public FundingState[] Funding { get; set; }
    public List<ulong> PriceReads { get; } = [];
    public int FundingReads { get; private set; }
    public int ConfigReads { get; private set; }

    public static ulong Frac(double x) => (ulong)Math.Round(x * 1e18);
    public static UInt256 Usd(long dollars) => new UInt256((ulong)dollars) * Wad;
    public static Int256 SUsd(long dollars) => (Int256)dollars * (Int256)Wad;

    public static MarketParams Market(ushort slot) =>
        new(slot, Frac(0.10), Frac(0.05), Frac(0.0005), Frac(0.015), Frac(0.5), Frac(0.5), Frac(0.10), (UInt128)10 * (UInt128)RiskMath.WadU64);

    public static Address Addr(int i)
    {
        var b = new byte[20];
        b[0] = 0xAA;
        BitConverter.TryWriteBytes(b.AsSpan(16), i);
        return new Address(b);
    }

    /// <summary>Writes an account into the book: cash, WETH balance and positions (market, size in 1e-3 units, entry price).</summary>
    public void SetAccount(Address a, long cashUsd, long wethMilli, params (int Market, long SizeMilli, long EntryUsd)[] positions)
    {
        var coll = new UInt256[2];
        coll[1] = new UInt256((ulong)wethMilli) * new UInt256(1_000_000_000_000_000UL);
        var pos = new List<(int, PositionEntry)>();
        foreach (var (m, size, entry) in positions)
        {
            Int256 s = (Int256)size * (Int256)new UInt256(1_000_000_000_000_000UL);
            Int256 on = (Int256)size * (Int256)entry * (Int256)new UInt256(1_000_000_000_000_000UL);
            pos.Add((m, new PositionEntry(s, on, Int256.Zero)));
        }
        Book.Correct(a, SUsd(cashUsd), coll, pos.ToArray());
    }

    public AccountState Model(Address a)
    {
        Assert.True(Book.TryGetAccount(a, out var snap));
        return LiquidationDetector.ToModel(snap, Config);
    }

    public Task<ProtocolConfig> LoadConfigAsync(ulong? block, CancellationToken cancellationToken = default)
    {
        ConfigReads++;
        return Task.FromResult(new ProtocolConfig(Config, [EthOracle, BtcOracle]));
    }

    public Task<FundingState[]> ReadFundingAsync(int marketCount, ulong block, CancellationToken cancellationToken = default)
    {
        FundingReads++;
        return Task.FromResult((FundingState[])Funding.Clone());
    }

    /// <summary>Thrown (once) by the next price read: a bad RPC answer.</summary>
    public Exception? FailNextPriceRead { get; set; }

    public Task<UInt256[]> ReadPricesAsync(Hash32[] oracleIds, ulong block, CancellationToken cancellationToken = default)
    {
        if (FailNextPriceRead is { } e)
        {
            FailNextPriceRead = null;
            return Task.FromException<UInt256[]>(e);
        }
        PriceReads.Add(block);
        var map = new Dictionary<Hash32, UInt256> { [EthOracle] = Prices[0], [BtcOracle] = Prices[1] };
        return Task.FromResult(oracleIds.Select(id => map[id]).ToArray());
    }

    public static BlockProcessed Block(ulong n, ulong ts, IReadOnlyList<Address>? changed = null, bool funding = false, ulong? reorg = null) =>
        new(n, Hash32.Zero, ts, changed ?? [], funding, reorg);
}
