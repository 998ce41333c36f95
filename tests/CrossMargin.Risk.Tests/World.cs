using System.Globalization;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Risk.Tests;

/// <summary>
/// A tiny replay of the devnet fixture (devnet/test/Fixture.sol) on top of the mirror: accounts, vault cash,
/// insurance, funding and time. Each operation runs one simulated transaction and commits its effects.
/// </summary>
internal sealed class World
{
    public const int EthMkt = 0, BtcMkt = 1, SolMkt = 2;
    public const int WethId = 1, WbtcId = 2;

    public static readonly Address Alice = Addr(0xA1), Bob = Addr(0xB0), Carol = Addr(0xC0), Keeper = Addr(0x4E);

    public readonly Dictionary<Address, AccountState> Accounts = [];
    public FundingState[] Funding;
    public UInt256[] Prices;
    public ulong Now = 1_700_000_000;
    public Int256 VaultCash = W("1000000");
    public UInt256 Insurance = U("10000");

    public World(RiskConfig? config = null)
    {
        Config = config ?? DevnetConfig();
        Funding = new FundingState[Config.MarketCount];
        for (int i = 0; i < Funding.Length; i++) Funding[i] = new FundingState(Int256.Zero, Int256.Zero, Now);
        Prices = [U("2000"), U("50000"), U("100")];
    }

    public RiskConfig Config { get; private set; }

    public static Address Addr(byte b)
    {
        Span<byte> x = stackalloc byte[20];
        x[19] = b;
        x[0] = 0x11;
        return new Address(x);
    }

    /// <summary>Decimal string (may have a fraction) times 1e18, e.g. W("11.2125").</summary>
    public static Int256 W(string s) => (Int256)Wad(s);

    public static UInt256 U(string s) => (UInt256)Wad(s);

    private static System.Numerics.BigInteger Wad(string s)
    {
        bool neg = s.StartsWith('-');
        if (neg) s = s[1..];
        string[] parts = s.Split('.');
        string frac = parts.Length > 1 ? parts[1] : "";
        var v = System.Numerics.BigInteger.Parse(parts[0] + frac.PadRight(18, '0'), CultureInfo.InvariantCulture);
        return neg ? -v : v;
    }

    public static RiskConfig DevnetConfig(ulong ethMaxFraction = 500_000_000_000_000_000, ulong ethBuffer = 100_000_000_000_000_000)
    {
        AssetParams usdc = new(6, 0, RiskMath.WadU64, RiskMath.WadU64, 0, UInt256.MaxValue);
        AssetParams weth = new(18, 0, 800_000_000_000_000_000, 900_000_000_000_000_000, 50_000_000_000_000_000, U("10000"));
        AssetParams wbtc = new(8, 1, 800_000_000_000_000_000, 900_000_000_000_000_000, 50_000_000_000_000_000, U("1000"));
        MarketParams eth = Mkt(0, "0.1", "0.05", "0.0005", "0.015") with { MaxLiquidationFraction = ethMaxFraction, LiquidationBuffer = ethBuffer };
        MarketParams btc = Mkt(1, "0.1", "0.05", "0.0005", "0.015");
        MarketParams sol = Mkt(2, "0.2", "0.1", "0.001", "0.03");
        return new RiskConfig([usdc, weth, wbtc], [eth, btc, sol], 3);
    }

    public static MarketParams Mkt(ushort slot, string imf, string mmf, string fee, string penalty) =>
        new(slot, U(imf).u0, U(mmf).u0, U(fee).u0, U(penalty).u0, U("0.5").u0, U("0.5").u0, U("0.1").u0, (UInt128)(ulong)U("10").u0);

    public void SetConfig(RiskConfig c) => Config = c;

    public RiskContext Ctx() => new(Config, Funding, Prices, Now);

    public AccountState Acct(Address a)
    {
        if (!Accounts.TryGetValue(a, out AccountState? s)) Accounts[a] = s = new AccountState(Config);
        return s;
    }

    /// <summary>_fund: USDC (6 decimals) to cash, WETH wad to collateral.</summary>
    public void Fund(Address a, ulong usdc6, UInt256 wethWad)
    {
        AccountState s = Acct(a);
        if (usdc6 != 0) s.Cash = checked(s.Cash + RiskMath.ToInt256(RiskMath.ToWad(usdc6, 6)));
        if (!wethWad.IsZero) s.Collateral[WethId] = checked(s.Collateral[WethId] + wethWad);
    }

    public void SetEth(string price) => Prices[0] = U(price);

    public Health Health(Address a) => Margin.ComputeHealth(Ctx(), Acct(a));

    public LiquidationSimulator Begin(Address sender) => new(Ctx(), sender, a => Accounts.GetValueOrDefault(a), VaultCash, Insurance);

    public void Commit(LiquidationSimulator sim)
    {
        sim.Finish();
        foreach ((Address a, AccountState s) in sim.TouchedAccounts) Accounts[a] = s;
        Funding = sim.FundingAfter();
        VaultCash = sim.VaultCash;
        Insurance = sim.InsuranceFund;
    }

    public (UInt256 Fee, Int256 Realized) Trade(Address a, int market, Int256 size)
    {
        LiquidationSimulator sim = Begin(a);
        (UInt256 fee, Int256 realized, bool ok) = sim.Trade(a, market, size);
        Assert.True(ok, "the contract would reject this trade");
        Commit(sim);
        return (fee, realized);
    }

    public LiquidationOutcome Liquidate(Address a, int market, UInt256 maxSize, Address? keeper = null)
    {
        LiquidationSimulator sim = Begin(keeper ?? Keeper);
        LiquidationOutcome o = sim.Liquidate(a, market, maxSize);
        Commit(sim);
        return o;
    }

    public LiquidationOutcome[] Batch(params LiquidationRequest[] r)
    {
        LiquidationSimulator sim = Begin(Keeper);
        LiquidationOutcome[] o = sim.Batch(r);
        Commit(sim);
        return o;
    }

    /// <summary>setFundingRate: accrue with the old rate, then store the new one.</summary>
    public void SetFundingRate(int market, Int256 rate)
    {
        RiskContext c = Ctx();
        FundingState f = Funding[market];
        if (f.LastFundingTime != Now) f = f with { Index = c.Index(market), LastFundingTime = Now };
        Funding[market] = f with { RatePerSecond = rate };
    }
}
